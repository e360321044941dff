internal import JarvisAccess

/// RFC 6749 §5.2 errors, answered as `{"error": ..., "error_description": ...}`.
public enum OAuthError: Error, Sendable, Equatable {
    case invalidRequest(String)
    case invalidClient(String)
    case invalidGrant(String)
    case unauthorizedClient(String)
    case unsupportedGrantType
    case invalidScope(String)

    public var code: String {
        switch self {
        case .invalidRequest: return "invalid_request"
        case .invalidClient: return "invalid_client"
        case .invalidGrant: return "invalid_grant"
        case .unauthorizedClient: return "unauthorized_client"
        case .unsupportedGrantType: return "unsupported_grant_type"
        case .invalidScope: return "invalid_scope"
        }
    }

    public var description: String {
        switch self {
        case .invalidRequest(let d), .invalidClient(let d), .invalidGrant(let d), .unauthorizedClient(let d), .invalidScope(let d): return d
        case .unsupportedGrantType: return "only grant_type=client_credentials is supported"
        }
    }
}

/// OAuth2 client credentials (RFC 6749 §4.4): a service account's API key is its client id
/// (the key id) and secret; the answer is a short-lived access token, optionally narrowed by `scope`.
public struct ClientCredentials: Sendable {
    let authenticator: Authenticator
    let issuer: TokenIssuer

    public init(authenticator: Authenticator, issuer: TokenIssuer) {
        self.authenticator = authenticator
        self.issuer = issuer
    }

    public struct Grant: Sendable {
        public let accessToken: String
        public let expiresIn: Int
        public let scope: String?
    }

    /// - Parameters:
    ///   - clientID: the key id (`jvs_<key id>` is accepted too).
    ///   - clientSecret: the key's secret, or the whole `jvs_...` key.
    public func token(clientID: String, clientSecret: String, scope: String?) async throws -> Grant {
        let id = clientID.hasPrefix(APIKeyToken.prefix) ? String(clientID.dropFirst(APIKeyToken.prefix.count)) : clientID
        let text = clientSecret.hasPrefix(APIKeyToken.prefix) ? clientSecret : APIKeyToken.prefix + id + "_" + clientSecret
        guard let key = APIKeyToken(parsing: text), key.keyID == id else {
            throw OAuthError.invalidClient("client authentication failed")
        }
        let caller: Caller
        do {
            caller = try await authenticator.authenticate(apiKey: key).0
        } catch let error as AuthenticationError {
            throw OAuthError.invalidClient(error == .tenantSuspended ? "the client's tenant is suspended" : "client authentication failed")
        }
        guard caller.kind == .serviceAccount else {
            throw OAuthError.unauthorizedClient("only service accounts may use client credentials")
        }
        var narrowed: String?
        if let scope, !scope.isEmpty {
            var permissions: [Permission] = []
            for word in scope.split(separator: " ") {
                guard let permission = Permission(validating: String(word)) else { throw OAuthError.invalidScope("'\(word.prefix(64))' is not a permission") }
                guard caller.allows(permission) else { throw OAuthError.invalidScope("the client does not hold \(permission)") }
                permissions.append(permission)
            }
            narrowed = Array(Set(permissions.map(\.name))).sorted().joined(separator: " ")
        }
        let access = try await issuer.issue(
            subject: caller.principalID, tenantID: caller.tenantID, kind: .serviceAccount, roles: caller.roles, scope: narrowed)
        return Grant(accessToken: access.token, expiresIn: access.expiresIn, scope: narrowed)
    }
}
