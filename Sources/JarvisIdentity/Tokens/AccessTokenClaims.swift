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

    /// Whether the token was issued before `mark` (a principal's "tokens issued before this are
    /// void"). Our tokens carry a UUIDv7 id, which says when to the millisecond; a token minted
    /// elsewhere (with a registered key) has only `iat`, in whole seconds, and counts as issued
    /// before the mark only when its second is over before the mark's began.
    public func issued(before mark: Date) -> Bool {
        let markMillis = (mark.timeIntervalSince1970 * 1000).rounded(.down)
        if let id = UUID(uuidString: tokenID), let issued = UUIDv7.timestamp(of: id) {
            return (issued.timeIntervalSince1970 * 1000).rounded(.down) <= markMillis
        }
        return issuedAt.timeIntervalSince1970.rounded(.down) < (markMillis / 1000).rounded(.down)
    }
}
