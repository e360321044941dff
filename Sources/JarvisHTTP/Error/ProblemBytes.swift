internal import HTTPTypes
internal import JarvisJSON
internal import JarvisStore

/// A problem+json body written as bytes: small and fixed, and refusals are frequent on the hot path
/// (gateways) and below Hummingbird (malformed or stalled requests), where no encoder runs.
enum ProblemBytes {
    static func body(status: HTTPResponse.Status, code: String, detail: String, path: String?, requestID: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(160 + detail.utf8.count + (path?.utf8.count ?? 0))
        bytes += #"{"type":"#.utf8
        JSONWriter.appendString("urn:jarvis:problem:" + code, to: &bytes)
        bytes += #","title":"#.utf8
        JSONWriter.appendString(status.reasonPhrase, to: &bytes)
        bytes += #","status":"#.utf8
        bytes += String(status.code).utf8
        bytes += #","detail":"#.utf8
        JSONWriter.appendString(detail, to: &bytes)
        if let path {
            bytes += #","instance":"#.utf8
            JSONWriter.appendString(path, to: &bytes)
        }
        bytes += #","request_id":"#.utf8
        JSONWriter.appendString(requestID, to: &bytes)
        bytes += #","code":"#.utf8
        JSONWriter.appendString(code, to: &bytes)
        bytes.append(125)
        return bytes
    }

    /// An id for an answer given before any request reached the router (a malformed or stalled one).
    static func connectionRequestID() -> String { UUIDv7.make().lowercasedString }

    /// A whole HTTP/1.1 response that closes the connection, for the raw end of the pipeline.
    static func rawResponse(status: HTTPResponse.Status, code: String, detail: String) -> [UInt8] {
        let requestID = connectionRequestID()
        let body = body(status: status, code: code, detail: detail, path: nil, requestID: requestID)
        var out = Array("HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n".utf8)
        out += "Content-Type: application/problem+json\r\nConnection: close\r\n".utf8
        out += "X-Request-Id: \(requestID)\r\nContent-Length: \(body.count)\r\n\r\n".utf8
        return out + body
    }
}
