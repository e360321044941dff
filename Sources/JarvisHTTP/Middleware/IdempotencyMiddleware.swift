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
            // The request's writes and its stored answer commit together: a kill between them
            // cannot leave a write whose retry would run it again.
            let shared = keys.requestTransaction()
            let response: Response
            do {
                response = try await RequestTransaction.$current.withValue(shared) { try await next(replayable, context) }
            } catch {
                // Errors thrown here become problem responses outside; only 5xx-like ones may be retried.
                let (problem, _) = Problem.from(error)
                if problem.status.code >= 500 {
                    await forget(shared, caller: caller, key: key)
                } else {
                    let answer = problem.response(requestID: context.requestID, path: request.uri.path)
                    try await keep(answer, in: shared, caller: caller, key: key)
                }
                throw error
            }
            guard response.status.code < 500 else {
                await forget(shared, caller: caller, key: key)
                return response
            }
            return try await keep(response, in: shared, caller: caller, key: key)
        }
    }

    /// Undoes the request's work and frees the key, so the client can retry for real.
    private func forget(_ shared: RequestTransaction, caller: Caller, key: String) async {
        await shared.rollback()
        try? await keys.release(tenantID: caller.tenantID, principalID: caller.principalID, key: key)
    }

    /// Stores the answer with the request's work and gives back an equivalent response (its body
    /// has been read). If that commit fails, nothing of the request stays and the key is freed.
    @discardableResult
    private func keep(_ response: Response, in shared: RequestTransaction, caller: Caller, key: String) async throws -> Response {
        let collector = Collector()
        var response = response
        do {
            try await response.body.write(collector.writer)
        } catch {
            await forget(shared, caller: caller, key: key)
            throw error
        }
        let bytes = collector.bytes
        let (status, contentType, location) = (response.status.code, response.headers[.contentType], response.headers[.location])
        do {
            let committed = try await shared.commit { tx in
                try await IdempotencyKeys.complete(
                    in: tx, tenantID: caller.tenantID, principalID: caller.principalID, key: key, status: status,
                    contentType: contentType, location: location, body: bytes)
            }
            if !committed {
                try await keys.complete(
                    tenantID: caller.tenantID, principalID: caller.principalID, key: key, status: status, contentType: contentType,
                    location: location, body: bytes)
            }
        } catch {
            try? await keys.release(tenantID: caller.tenantID, principalID: caller.principalID, key: key)
            throw error
        }
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
