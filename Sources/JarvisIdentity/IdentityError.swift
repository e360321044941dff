/// Why an identity operation (API keys, bootstrap) was refused.
public enum IdentityError: Error, Sendable, Equatable {
    case notFound(String)
    case invalid(field: String, reason: String)
    /// The principal cannot hold a new key (disabled).
    case principalInactive
    /// The caller may not mint a key for a principal more powerful than itself.
    case escalation
    case alreadyRevoked
    /// Too many password hashes in flight: retry shortly.
    case overloaded
    /// Wrong tenant, email or password (one answer for all three).
    case invalidCredentials
    /// Too many failed logins for this account or address; retry after the given seconds.
    case loginLocked(retryAfter: Int)
    /// The refresh token is unknown, expired, revoked or already used.
    case invalidRefreshToken
    /// The operation needs a user (not a service account), such as changing one's own password.
    case notAUser
}

/// Why a credential was refused. The HTTP layer answers 401 for all but `tenantSuspended` (403).
public enum AuthenticationError: Error, Sendable, Equatable {
    /// No `Authorization` header or not a Bearer credential.
    case missing
    /// Unknown key, wrong secret, malformed token, deleted tenant.
    case invalidCredential
    case expired
    case revoked
    case principalDisabled
    case tenantSuspended
}
