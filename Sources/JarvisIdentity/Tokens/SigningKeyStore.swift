public import Foundation
public import JarvisStore
public import JarvisAudit
internal import JarvisAccess
internal import JarvisCrypto

/// Signing keys in PostgreSQL (platform pool), private material sealed under the master key.
public struct SigningKeyStore: Sendable {
    let platform: Database
    let masterKey: [UInt8]

    public init(platform: Database, masterKey: [UInt8]) {
        self.platform = platform
        self.masterKey = masterKey
    }

    /// Keys that may still verify (active, and verifying ones inside their window).
    public func loadUsable() async throws -> [SigningKey] {
        let rows = try await platform.query(
            """
            SELECT kid, algorithm, public_key, sealed_secret, status, created_at, verify_until FROM signing_keys
            WHERE status = 'active' OR (status = 'verifying' AND verify_until > now())
            ORDER BY created_at DESC
            """, idempotent: true)
        return try rows.all.map { row in
            let kid = try row.string("kid")
            guard let algorithm = JWTAlgorithm(rawValue: try row.string("algorithm")),
                let status = SigningKey.Status(rawValue: try row.string("status"))
            else { throw StoreError.decoding("signing key \(kid) has an unknown algorithm or status") }
            let secret = try AESGCM.open(try row.bytes("sealed_secret"), key: masterKey, associatedData: Array(kid.utf8))
            let publicKey = try row.text("public_key") == nil ? nil : try row.bytes("public_key")
            return SigningKey(
                kid: kid, algorithm: algorithm, secret: secret, publicKey: publicKey, status: status,
                createdAt: try row.date("created_at"), verifyUntil: try row.optionalDate("verify_until"))
        }
    }

    /// Makes `key` the active key; the previous active key keeps verifying for `verifyWindow`
    /// (the longest a token it signed can live), and keys whose window closed are retired.
    @discardableResult
    public func activate(_ key: SigningKey, origin: String, verifyWindow: TimeInterval, actor: AuditActor) async throws -> SigningKey {
        let sealed = try AESGCM.seal(key.secret, key: masterKey, associatedData: Array(key.kid.utf8))
        return try await platform.withTransaction { tx in
            // One rotation at a time across instances.
            try await tx.query("SELECT pg_advisory_xact_lock($1)", [0x6B65_7973])
            try await tx.query("UPDATE signing_keys SET status = 'retired' WHERE status = 'verifying' AND verify_until <= now()")
            try await tx.query(
                """
                UPDATE signing_keys SET status = 'verifying', rotated_at = now(),
                       verify_until = now() + make_interval(secs => $1)
                WHERE status = 'active'
                """, [Int(verifyWindow.rounded(.up))])
            try await tx.query(
                """
                INSERT INTO signing_keys (kid, algorithm, public_key, sealed_secret, status, origin)
                VALUES ($1, $2, $3, $4, 'active', $5)
                """,
                [key.kid, key.algorithm.rawValue, key.publicKey.map(ByteaValue.init), ByteaValue(sealed), origin])
            try await AuditLog.record(
                tx, tenantID: PlatformTenant.id, actor: actor, action: "signing_key.rotate", targetType: "signing_key",
                targetID: key.kid, details: ["algorithm": .string(key.algorithm.rawValue), "origin": .string(origin)])
            return key
        }
    }

    /// Generates and activates a new key when none is active (first start).
    public func ensureActive(algorithm: JWTAlgorithm, verifyWindow: TimeInterval) async throws {
        let active = try await platform.query("SELECT 1 FROM signing_keys WHERE status = 'active'", idempotent: true)
        guard active.isEmpty else { return }
        do {
            try await activate(try SigningKey.generate(algorithm), origin: "generated", verifyWindow: verifyWindow, actor: .system)
        } catch StoreError.uniqueViolation {
            // Another instance activated one at the same moment: that one is as good.
        }
    }

    /// Every key with its state, newest first, for the platform API (no secrets).
    public func list() async throws -> [(kid: String, algorithm: String, status: String, origin: String, createdAt: Date, verifyUntil: Date?)] {
        let rows = try await platform.query(
            """
            SELECT kid, algorithm, CASE WHEN status = 'verifying' AND verify_until <= now() THEN 'retired' ELSE status END AS status,
                   origin, created_at, verify_until FROM signing_keys ORDER BY created_at DESC LIMIT 100
            """, idempotent: true)
        return try rows.all.map {
            (try $0.string("kid"), try $0.string("algorithm"), try $0.string("status"), try $0.string("origin"),
             try $0.date("created_at"), try $0.optionalDate("verify_until"))
        }
    }
}
