public import struct Foundation.UUID
public import struct Foundation.Date
internal import JarvisStore

/// The claims of an access token. `roles` and `scope` are for services that verify offline;
/// this server re-reads bindings at request time.
public struct AccessTokenClaims: Sendable, Equatable {
    public var issuer: String
    public var audience: String
    public var subject: UUID
    public var tenantID: UUID
    public var kind: String
    public var roles: [String]
    /// Space-separated permissions the token is narrowed to (client credentials); nil for all.
    public var scope: String?
    public var issuedAt: Date
    public var notBefore: Date
    public var expiresAt: Date
    public var tokenID: String

    public init(
        issuer: String, audience: String, subject: UUID, tenantID: UUID, kind: String, roles: [String], scope: String?,
        issuedAt: Date, notBefore: Date, expiresAt: Date, tokenID: String
    ) {
        self.issuer = issuer
        self.audience = audience
        self.subject = subject
        self.tenantID = tenantID
        self.kind = kind
        self.roles = roles
        self.scope = scope
        self.issuedAt = issuedAt
        self.notBefore = notBefore
        self.expiresAt = expiresAt
        self.tokenID = tokenID
    }

    /// When the token was issued, to the millisecond: from its id (a UUIDv7) when it is one, else
    /// from `iat` (whole seconds). Compared with a principal's "tokens issued before this are void".
    public var issuedInstant: Date {
        UUID(uuidString: tokenID).flatMap(UUIDv7.timestamp(of:)) ?? issuedAt
    }
}
