internal import Hummingbird
public import HTTPTypes
internal import Foundation

/// An RFC 9457 problem: what every error response carries, as `application/problem+json`.
public struct Problem: Error, Sendable {
    public var status: HTTPResponse.Status
    /// A stable, short code; the `type` URI is built from it.
    public var code: String
    public var detail: String
    /// Extra headers (`WWW-Authenticate`, `Retry-After`).
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers
    }

    public static func invalid(_ detail: String) -> Problem { Problem(.badRequest, "invalid-input", detail) }
    public static func notFound(_ detail: String) -> Problem { Problem(.notFound, "not-found", detail) }

    /// The response, with the request id in body and header.
    func response(requestID: String, path: String) -> Response {
        let bytes = ProblemBytes.body(status: status, code: code, detail: detail, path: path, requestID: requestID)
        var fields = headers
        fields[.contentType] = "application/problem+json"
        fields[.requestID] = requestID
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}
