internal import Hummingbird
internal import NIOCore

/// For benchmarks only (`JARVIS_BENCH_BASELINE=1`): answers `/_bench/baseline` with "ok" before
/// any router or middleware runs, so figures can be stated as ratios to a bare Hummingbird endpoint
/// in the same process; everything else goes to the real responder. A POST's body is read first,
/// as any handler of a POST must, so `POST /v1/check` has a like-for-like baseline too.
struct BaselineResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == JarvisRequestContext {
    typealias Context = JarvisRequestContext
    let inner: Inner
    static var path: String { "/_bench/baseline" }
    private static var body: ByteBuffer { ByteBuffer(string: "ok") }

    func respond(to request: Request, context: Context) async throws -> Response {
        if request.uri.path == Self.path {
            if request.method == .post { _ = try await request.body.collect(upTo: 1 << 20) }
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: Self.body))
        }
        return try await inner.respond(to: request, context: context)
    }
}
