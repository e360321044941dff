public import Foundation
public import JarvisStore
internal import JarvisCrypto

/// The Ed25519 keys that sign audit checkpoints: their own, never the token signing key. One is
/// active; rotating retires it (its public half stays published, so old checkpoints still verify).
/// Private halves are stored sealed under the master key.
public struct AuditKeys: Sendable {
    let platform: Database
    let masterKey: [UInt8]
    /// Where rotations are audited (the platform tenant).
    let auditTenantID: UUID

    public init(platform: Database, masterKey: [UInt8], auditTenantID: UUID) {
        self.platform = platform
        self.masterKey = masterKey
        self.auditTenantID = auditTenantID
    }

    public struct PublicKey: Sendable {
        public let kid: String
        public let publicKey: [UInt8]
        public let status: String
        public let createdAt: Date
        public let retiredAt: Date?
    }

    struct SigningKey {
        let kid: String
        let privateKey: [UInt8]
    }

    /// Makes a key when there is no active one (first start).
    public func ensureActive() async throws {
        if try await platform.query("SELECT 1 FROM audit_keys WHERE status = 'active'", [], idempotent: true).first != nil { return }
        _ = try await rotate()
    }

    /// A new active key; the previous one is retired. - Returns: the new key's id.
    @discardableResult
    public func rotate() async throws -> String {
        let (privateKey, publicKey) = try Ed25519.generate()
        let kid = "audit-" + Base62.random(length: 16)
        let sealed = try AESGCM.seal(privateKey, key: masterKey, associatedData: Array(kid.utf8))
        try await platform.withTransaction { tx in
            // Rotations take turns, so exactly one key stays active.
            try await tx.query("SELECT pg_advisory_xact_lock(hashtext('audit_keys'))")
            try await tx.query("UPDATE audit_keys SET status = 'retired', retired_at = now() WHERE status = 'active'")
            try await tx.query(
                "INSERT INTO audit_keys (kid, public_key, sealed_private_key, status) VALUES ($1, $2, $3, 'active')",
                [kid, ByteaValue(publicKey), ByteaValue(sealed)])
            try await AuditLog.record(
                tx, tenantID: auditTenantID, actor: .system,
                action: "audit_key.rotate", targetType: "audit_key", targetID: kid, details: [:])
        }
        return kid
    }

    /// Every key, newest first: what verifiers need.
    public func published() async throws -> [PublicKey] {
        try await Self.published(platform)
    }

    static func published(_ database: Database) async throws -> [PublicKey] {
        try await database.query(
            "SELECT kid, public_key, status, created_at, retired_at FROM audit_keys ORDER BY created_at DESC", [], idempotent: true
        ).all.map { row in
            PublicKey(
                kid: try row.string("kid"), publicKey: try row.bytes("public_key"), status: try row.string("status"),
                createdAt: try row.date("created_at"), retiredAt: try row.optionalDate("retired_at"))
        }
    }

    func active() async throws -> SigningKey? {
        guard let row = try await platform.query(
            "SELECT kid, sealed_private_key FROM audit_keys WHERE status = 'active'", [], idempotent: true
        ).first else { return nil }
        let kid = try row.string("kid")
        return SigningKey(kid: kid, privateKey: try AESGCM.open(try row.bytes("sealed_private_key"), key: masterKey, associatedData: Array(kid.utf8)))
    }
}
