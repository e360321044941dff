internal import Hummingbird
internal import HTTPTypes
internal import Foundation
internal import JarvisAccess
internal import JarvisCrypto
internal import NIOCore
internal import JarvisStore

/// `Idempotency-Key` on POST, PUT, PATCH and DELETE: the first request with a key runs; a retry
/// with the same key and the same request gets the first answer again (with `Idempotent-Replayed:
/// true`), a different request with the key gets 422, and one that overlaps a running first gets 409.
/// Answers of 5xx are not kept, so those can be retried for real.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = JarvisRequestContext
    let keys: IdempotencyKeys

    static let header = HTTPField.Name("Idempotency-Key")!
    static let replayed = HTTPField.Name("Idempotent-Replayed")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard [.post, .put, .patch, .delete].contains(request.method), let key = request.headers[Self.header] else {
            return try await next(request, context)
        }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw Problem.invalid("Idempotency-Key: must be 1-255 visible ASCII characters")
        }
        let caller = try context.requireCaller()
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        var fingerprint = Array("\(request.method) \(request.uri.path)?\(request.uri.query ?? "")\n".utf8)
        fingerprint += body.readableBytesView
        let hash = SHA256.hash(fingerprint)

        switch try await keys.begin(tenantID: caller.tenantID, principalID: caller.principalID, key: key, requestHash: hash) {
        case .mismatch:
            throw Problem(.unprocessableContent, "idempotency-key-mismatch", "this Idempotency-Key was used for a different request")
        case .inProgress:
            throw Problem(.conflict, "idempotency-key-in-progress", "a request with this Idempotency-Key is still running", headers: [.retryAfter: "1"])
        case .replay(let status, let contentType, let location, let bytes):
            var headers: HTTPFields = [Self.replayed: "true"]
            if let contentType { headers[.contentType] = contentType }
            if let location { headers[.location] = location }
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        case .proceed:
            var replayable = request
            replayable.body = .init(buffer: body)
            let response: Response
            do {
                response = try await next(replayable, context)
            } catch {
                // Errors thrown here become problem responses outside; only 5xx-like ones may be retried.
                let (problem, _) = Problem.from(error)
                if problem.status.code >= 500 {
                    try? await keys.release(tenantID: caller.tenantID, principalID: caller.principalID, key: key)
                } else {
                    let answer = problem.response(requestID: context.requestID, path: request.uri.path)
                    try await keep(answer, caller: caller, key: key)
                }
                throw error
            }
            guard response.status.code < 500 else {
                try? await keys.release(tenantID: caller.tenantID, principalID: caller.principalID, key: key)
                return response
            }
            return try await keep(response, caller: caller, key: key)
        }
    }

    /// Stores the answer and gives back an equivalent response (its body has been read).
    @discardableResult
    private func keep(_ response: Response, caller: Caller, key: String) async throws -> Response {
        let collector = Collector()
        var response = response
        try await response.body.write(collector.writer)
        let bytes = collector.bytes
        try await keys.complete(
            tenantID: caller.tenantID, principalID: caller.principalID, key: key, status: response.status.code,
            contentType: response.headers[.contentType], location: response.headers[.location], body: bytes)
        response.body = .init(byteBuffer: ByteBuffer(bytes: bytes))
        return response
    }
}

/// Gathers a response body in memory. Only for the small JSON answers of mutating requests.
final class Collector: @unchecked Sendable {
    // Unchecked: written by one writer during one `ResponseBody.write`, read after it returns.
    private(set) var bytes: [UInt8] = []

    struct Writer: ResponseBodyWriter {
        let collector: Collector
        mutating func write(_ buffer: ByteBuffer) async throws { collector.bytes += buffer.readableBytesView }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }

    var writer: Writer { Writer(collector: self) }
}
