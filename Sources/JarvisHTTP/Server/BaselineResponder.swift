internal import Hummingbird
internal import NIOCore

/// For benchmarks only (`JARVIS_BENCH_BASELINE=1`): answers `GET /_bench/baseline` with "ok" before
/// any router or middleware runs, so figures can be stated as ratios to a bare Hummingbird endpoint
/// in the same process; everything else goes to the real responder.
struct BaselineResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == JarvisRequestContext {
    typealias Context = JarvisRequestContext
    let inner: Inner
    static var path: String { "/_bench/baseline" }
    private static var body: ByteBuffer { ByteBuffer(string: "ok") }

    func respond(to request: Request, context: Context) async throws -> Response {
        if request.uri.path == Self.path {
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: Self.body))
        }
        return try await inner.respond(to: request, context: context)
    }
}
