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

    /// The response, with the request id in body and header. The body is written by hand: it is
    /// small and fixed, and gateways see many refusals on `/v1/authz`.
    func response(requestID: String, path: String) -> Response {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(160 + detail.utf8.count + path.utf8.count)
        bytes += #"{"type":"#.utf8
        JSONOutput.appendString("urn:jarvis:problem:" + code, to: &bytes)
        bytes += #","title":"#.utf8
        JSONOutput.appendString(status.reasonPhrase, to: &bytes)
        bytes += #","status":"#.utf8
        bytes += String(status.code).utf8
        bytes += #","detail":"#.utf8
        JSONOutput.appendString(detail, to: &bytes)
        bytes += #","instance":"#.utf8
        JSONOutput.appendString(path, to: &bytes)
        bytes += #","request_id":"#.utf8
        JSONOutput.appendString(requestID, to: &bytes)
        bytes += #","code":"#.utf8
        JSONOutput.appendString(code, to: &bytes)
        bytes.append(125)
        var fields = headers
        fields[.contentType] = "application/problem+json"
        fields[.requestID] = requestID
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}
