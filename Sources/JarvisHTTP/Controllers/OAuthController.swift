internal import Hummingbird
internal import HTTPTypes
internal import Foundation
internal import JarvisCrypto
internal import JarvisIdentity

/// `POST /v1/oauth/token`: the client-credentials grant, form-encoded, with OAuth2's own error
/// bodies (RFC 6749 §5.2) rather than problem+json, as OAuth clients expect.
struct OAuthController {
    let identity: IdentityServices

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post("token", use: token)
    }

    struct TokenBody: Encodable {
        let accessToken: String
        let tokenType: String
        let expiresIn: Int
        let scope: String?
    }

    struct ErrorBody: Encodable {
        let error: String
        let errorDescription: String
    }

    @Sendable func token(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        do {
            let form = try await Self.form(request, context: context)
            guard let grant = form["grant_type"] else { throw OAuthError.invalidRequest("grant_type is required") }
            guard grant == "client_credentials" else { throw OAuthError.unsupportedGrantType }
            var clientID = form["client_id"]
            var clientSecret = form["client_secret"]
            if let basic = request.headers[.authorization], basic.lowercased().hasPrefix("basic ") {
                guard clientID == nil, clientSecret == nil else {
                    throw OAuthError.invalidRequest("use one client authentication method, not two")
                }
                guard let decoded = Data(base64Encoded: String(basic.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
                    let pair = String(data: decoded, encoding: .utf8), let colon = pair.firstIndex(of: ":")
                else { throw OAuthError.invalidClient("malformed Basic credentials") }
                clientID = Self.percentDecode(String(pair[..<colon]))
                clientSecret = Self.percentDecode(String(pair[pair.index(after: colon)...]))
            }
            guard let clientID, let clientSecret, !clientID.isEmpty, !clientSecret.isEmpty else {
                throw OAuthError.invalidClient("client_id and client_secret are required")
            }
            let result = try await identity.clientCredentials.token(clientID: clientID, clientSecret: clientSecret, scope: form["scope"])
            return try Self.json(.ok, TokenBody(accessToken: result.accessToken, tokenType: "Bearer", expiresIn: result.expiresIn, scope: result.scope))
        } catch let error as OAuthError {
            var response = try Self.json(error.code == "invalid_client" ? .unauthorized : .badRequest,
                                         ErrorBody(error: error.code, errorDescription: error.description))
            if error.code == "invalid_client" { response.headers[.wwwAuthenticate] = "Basic realm=\"jarvis\"" }
            return response
        }
    }

    static func json(_ status: HTTPResponse.Status, _ body: some Encodable) throws -> Response {
        Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store", HTTPField.Name("Pragma")!: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(bytes: try JSONCoding.encoder.encode(body))))
    }

    /// `application/x-www-form-urlencoded` fields; a repeated field is a malformed request (RFC 6749 §3.2).
    static func form(_ request: Request, context: JarvisRequestContext) async throws -> [String: String] {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else {
            throw OAuthError.invalidRequest("the body must be application/x-www-form-urlencoded")
        }
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        let text = String(buffer: buffer)
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = percentDecode(String(parts[0])) else { throw OAuthError.invalidRequest("malformed form encoding") }
            let value = parts.count > 1 ? percentDecode(String(parts[1])) : ""
            guard let value else { throw OAuthError.invalidRequest("malformed form encoding") }
            guard fields[name] == nil else { throw OAuthError.invalidRequest("\(name.prefix(32)) is repeated") }
            fields[name] = value
        }
        return fields
    }

    static func percentDecode(_ text: String) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
