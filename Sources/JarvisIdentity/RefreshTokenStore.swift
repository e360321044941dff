public import Foundation
public import JarvisStore
internal import JarvisCrypto

/// Refresh tokens: `jvr_<token id>_<secret>`, stored as HMAC(pepper, secret), used once each.
/// Using a spent token again revokes its whole family: whoever holds the newer one must log in again.
public struct RefreshTokenStore: Sendable {
    let pepper: [UInt8]
    let ttl: TimeInterval
    static let prefix = "jvr_"

    public init(pepper: [UInt8], ttl: TimeInterval) {
        self.pepper = pepper
        self.ttl = ttl
    }

    /// How long a family's rows outlive its newest token's expiry.
    static let keptAfterExpiry = 30 * 86_400

    /// Forgets families whose newest token expired more than `keptAfterExpiry` ago: every login and
    /// refresh adds a row, and nothing else ever removes one.
    public static func expiry(platform: Database) -> ExpirySweep {
        ExpirySweep(
            table: "refresh_tokens", timeColumn: "expires_at", keep: .seconds(keptAfterExpiry),
            also: """
                NOT EXISTS (SELECT 1 FROM refresh_tokens n WHERE n.tenant_id = refresh_tokens.tenant_id
                            AND n.family_id = refresh_tokens.family_id AND n.expires_at >= now() - make_interval(secs => $2))
                """, platform: platform)
    }

    /// Issues a token in `familyID` (a new family when nil) inside the caller's transaction.
    public func issue(_ tx: Transaction, tenantID: UUID, principalID: UUID, familyID: UUID?) async throws -> String {
        let token = APIKeyToken.generate()
        try await tx.query(
            """
            INSERT INTO refresh_tokens (tenant_id, id, token_id, family_id, principal_id, secret_hash, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
            """,
            [tenantID, UUIDv7.make(), token.keyID, familyID ?? UUIDv7.make(), principalID,
             ByteaValue(token.secretHash(pepper: pepper)), Int(ttl)])
        return Self.prefix + token.keyID + "_" + token.secret
    }

    /// What a redeemed token belonged to.
    public struct Redeemed: Sendable {
        public let tenantID: UUID
        public let principalID: UUID
        public let familyID: UUID
    }

    /// Spends `text` inside `tx` (platform pool: the tenant is not known yet).
    /// - Returns: the token's owner, or `.reused` when the token was already spent (the caller must
    ///   commit the family's revocation this function made, then refuse).
    public enum Outcome: Sendable {
        case redeemed(Redeemed)
        case reused(Redeemed)
    }

    public func redeem(_ tx: Transaction, _ text: String) async throws -> Outcome {
        guard text.hasPrefix(Self.prefix), let token = APIKeyToken(parsing: "jvs_" + text.dropFirst(Self.prefix.count)) else {
            throw IdentityError.invalidRefreshToken
        }
        let rows = try await tx.query(
            """
            SELECT tenant_id, principal_id, family_id, secret_hash, used_at IS NOT NULL AS used,
                   revoked_at IS NOT NULL AS revoked, expires_at <= now() AS expired
            FROM refresh_tokens WHERE token_id = $1 FOR UPDATE
            """, [token.keyID])
        let presented = token.secretHash(pepper: pepper)
        guard let row = rows.first, ConstantTime.equals(presented, try row.bytes("secret_hash")) else {
            throw IdentityError.invalidRefreshToken
        }
        let owner = Redeemed(
            tenantID: try row.uuid("tenant_id"), principalID: try row.uuid("principal_id"), familyID: try row.uuid("family_id"))
        if try row.bool("used") {
            try await revokeFamily(tx, tenantID: owner.tenantID, familyID: owner.familyID, principalID: owner.principalID)
            return .reused(owner)
        }
        guard try !row.bool("revoked"), try !row.bool("expired") else { throw IdentityError.invalidRefreshToken }
        try await tx.query("UPDATE refresh_tokens SET used_at = now() WHERE token_id = $1", [token.keyID])
        return .redeemed(owner)
    }

    /// Revokes the family `text` belongs to (logout); unknown tokens are ignored.
    public func revokeFamily(_ tx: Transaction, of text: String) async throws -> Redeemed? {
        guard text.hasPrefix(Self.prefix), let token = APIKeyToken(parsing: "jvs_" + text.dropFirst(Self.prefix.count)) else { return nil }
        let rows = try await tx.query(
            "SELECT tenant_id, principal_id, family_id, secret_hash FROM refresh_tokens WHERE token_id = $1", [token.keyID])
        guard let row = rows.first, ConstantTime.equals(token.secretHash(pepper: pepper), try row.bytes("secret_hash")) else { return nil }
        let owner = Redeemed(
            tenantID: try row.uuid("tenant_id"), principalID: try row.uuid("principal_id"), familyID: try row.uuid("family_id"))
        try await revokeFamily(tx, tenantID: owner.tenantID, familyID: owner.familyID, principalID: owner.principalID)
        return owner
    }

    /// Revokes a family and voids the principal's access tokens issued so far (their family cannot be
    /// told from the token, so all go; other sessions refresh and carry on).
    func revokeFamily(_ tx: Transaction, tenantID: UUID, familyID: UUID, principalID: UUID) async throws {
        try await tx.query(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE tenant_id = $1 AND family_id = $2 AND revoked_at IS NULL",
            [tenantID, familyID])
        try await Self.voidAccessTokens(tx, tenantID: tenantID, principalID: principalID)
    }

    /// Ends every session of a principal (disabled, password set or changed): refresh tokens revoked,
    /// access tokens void.
    public static func revokeAll(_ tx: Transaction, tenantID: UUID, principalID: UUID) async throws {
        try await tx.query(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE tenant_id = $1 AND principal_id = $2 AND revoked_at IS NULL",
            [tenantID, principalID])
        try await voidAccessTokens(tx, tenantID: tenantID, principalID: principalID)
    }

    /// Access tokens issued until now stop working: the principal's mark moves to now (this
    /// instance's clock, as the tokens' issue times are), and the change reaches every instance's
    /// cache through the principals trigger, this one's at commit.
    static func voidAccessTokens(_ tx: Transaction, tenantID: UUID, principalID: UUID) async throws {
        try await tx.query(
            "UPDATE principals SET tokens_valid_after = GREATEST(tokens_valid_after, $3::timestamptz) WHERE tenant_id = $1 AND id = $2",
            [tenantID, principalID, Date()])
        tx.noteChange(tenantID)
    }

    /// Revokes every live refresh token of a tenant (deleted).
    public static func revokeTenant(_ tx: Transaction, tenantID: UUID) async throws {
        try await tx.query("UPDATE refresh_tokens SET revoked_at = now() WHERE tenant_id = $1 AND revoked_at IS NULL", [tenantID])
    }
}
