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

    private struct Body: Encodable {
        let type: String
        let title: String
        let status: Int
        let detail: String
        let instance: String
        let requestId: String
        let code: String
    }

    /// The response, with the request id in body and header.
    func response(requestID: String, path: String) -> Response {
        let body = Body(
            type: "urn:jarvis:problem:\(code)", title: status.reasonPhrase, status: status.code, detail: detail,
            instance: path, requestId: requestID, code: code)
        let bytes = (try? JSONCoding.encoder.encode(body)) ?? Data("{}".utf8)
        var fields = headers
        fields[.contentType] = "application/problem+json"
        fields[.requestID] = requestID
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}
