public import struct Foundation.UUID
public import struct Foundation.Date
public import JarvisStore
public import JarvisAudit
public import JarvisAccess
internal import JarvisTenancy

/// API keys inside a tenant transaction; every change audited in it.
public struct APIKeyStore: Sendable {
    let pepper: [UInt8]

    public init(pepper: [UInt8]) { self.pepper = pepper }

    static let columns = "id, tenant_id, key_id, principal_id, name, cost_center, created_by, created_at, expires_at, revoked_at, last_used_at"

    /// Creates a key for a principal of the tenant.
    /// - Returns: the record and the key text, which is never available again.
    public func create(
        _ tx: Transaction, tenantID: UUID, principalID: UUID, name: String, expiresAt: Date?, costCenter: String? = nil, caller: Caller,
        actor: AuditActor
    ) async throws -> (APIKey, String) {
        let trimmed = name
        guard (1...200).contains(trimmed.unicodeScalars.count), !trimmed.allSatisfy(\.isWhitespace),
            !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { throw IdentityError.invalid(field: "name", reason: "must be 1-200 printable characters") }
        if let expiresAt, expiresAt <= Date() {
            throw IdentityError.invalid(field: "expires_at", reason: "must be in the future")
        }
        if let costCenter, !CostCenter.isValid(costCenter) { throw IdentityError.invalid(field: "cost_center", reason: CostCenter.rule) }
        let status = try await tx.query(
            "SELECT status FROM principals WHERE tenant_id = $1 AND id = $2", [tenantID, principalID]).first?.string("status")
        guard let status else { throw IdentityError.notFound("principal \(principalID)") }
        guard status == "active" else { throw IdentityError.principalInactive }
        // A key acts with its principal's roles: minting one must not hand the caller more than it holds.
        try await PrincipalGuard.requireCovered(tx, tenantID: tenantID, principalID: principalID, by: caller)

        let token = APIKeyToken.generateKey(pepper: pepper)
        let id = UUIDv7.make()
        let rows = try await tx.query(
            """
            INSERT INTO api_keys (tenant_id, id, key_id, principal_id, name, secret_hash, created_by, expires_at, cost_center, tagged)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true) RETURNING \(Self.columns)
            """,
            [tenantID, id, token.keyID, principalID, name, ByteaValue(token.secretHash(pepper: pepper)), caller.principalID, expiresAt, costCenter])
        let key = try Self.decode(rows)
        // A cost center's hard-stop budget must see the new key's use as that cost center's at once.
        if costCenter != nil { tx.noteChange(tenantID) }
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "api_key.create", targetType: "api_key", targetID: id.lowercasedString,
            details: [
                "key_id": .string(token.keyID), "principal_id": .string(principalID.lowercasedString), "name": .string(name),
                "expires_at": .optional(expiresAt.map(Timestamp.format)), "cost_center": .optional(costCenter),
            ])
        return (key, token.text)
    }

    /// The principal a key of the tenant belongs to (for other modules' checks in their transactions).
    package static func owner(_ tx: Transaction, tenantID: UUID, id: UUID) async throws -> UUID? {
        try await tx.query("SELECT principal_id FROM api_keys WHERE tenant_id = $1 AND id = $2", [tenantID, id]).first?.uuid("principal_id")
    }

    public static func get(_ tx: Transaction, tenantID: UUID, id: UUID) async throws -> APIKey? {
        let rows = try await tx.query("SELECT \(columns) FROM api_keys WHERE tenant_id = $1 AND id = $2", [tenantID, id])
        return rows.isEmpty ? nil : try decode(rows)
    }

    /// Keys in id order after `after`, optionally of one principal; reads `limit + 1`.
    public static func list(
        _ tx: Transaction, tenantID: UUID, principalID: UUID?, after: UUID?, limit: Int
    ) async throws -> [APIKey] {
        let rows = try await tx.query(
            """
            SELECT \(columns) FROM api_keys
            WHERE tenant_id = $1 AND ($2::uuid IS NULL OR principal_id = $2) AND ($3::uuid IS NULL OR id > $3)
            ORDER BY id LIMIT $4
            """, [tenantID, principalID, after, limit + 1])
        return try rows.all.map(decode)
    }

    /// Revokes a key; it stops authenticating with the commit. Revoking locks its principal out, so
    /// the caller must be at least as strong as that principal.
    public static func revoke(_ tx: Transaction, tenantID: UUID, id: UUID, caller: Caller, actor: AuditActor) async throws -> APIKey {
        let rows = try await tx.query(
            "UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING \(columns)",
            [tenantID, id])
        guard !rows.isEmpty else {
            if try await get(tx, tenantID: tenantID, id: id) != nil { throw IdentityError.alreadyRevoked }
            throw IdentityError.notFound("api key \(id)")
        }
        let key = try decode(rows)
        try await PrincipalGuard.requireCovered(tx, tenantID: tenantID, principalID: key.principalID, by: caller)
        tx.noteChange(tenantID)
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "api_key.revoke", targetType: "api_key", targetID: id.lowercasedString,
            details: ["key_id": .string(key.keyID), "principal_id": .string(key.principalID.lowercasedString)])
        return key
    }

    /// A key record's id in its tenant.
    package struct Owned: Hashable, Sendable {
        package let tenantID: UUID
        package let keyID: UUID
        package init(tenantID: UUID, keyID: UUID) {
            self.tenantID = tenantID
            self.keyID = keyID
        }
    }

    /// The principal of each key that exists (for usage events that name the key they were made with).
    package static func owners(of keys: Set<Owned>, platform: Database) async throws -> [Owned: UUID] {
        let list = Array(keys)
        let rows = try await platform.query(
            """
            SELECT k.tenant_id, k.id, k.principal_id FROM api_keys k
            JOIN unnest($1::uuid[], $2::uuid[]) AS m(tenant_id, id) ON k.tenant_id = m.tenant_id AND k.id = m.id
            """,
            [TextArray(list.map(\.tenantID.lowercasedString)), TextArray(list.map(\.keyID.lowercasedString))], idempotent: true)
        var owners: [Owned: UUID] = [:]
        for row in rows.all { owners[Owned(tenantID: try row.uuid("tenant_id"), keyID: try row.uuid("id"))] = try row.uuid("principal_id") }
        return owners
    }

    static func decode(_ rows: Rows) throws -> APIKey {
        guard let row = rows.first else { throw StoreError.decoding("no api key row") }
        return try decode(row)
    }

    static func decode(_ row: Row) throws -> APIKey {
        APIKey(
            id: try row.uuid("id"), tenantID: try row.uuid("tenant_id"), keyID: try row.string("key_id"),
            principalID: try row.uuid("principal_id"), name: try row.string("name"), costCenter: try row.optionalString("cost_center"),
            createdBy: try row.optionalUUID("created_by"), createdAt: try row.date("created_at"),
            expiresAt: try row.optionalDate("expires_at"), revokedAt: try row.optionalDate("revoked_at"),
            lastUsedAt: try row.optionalDate("last_used_at"))
    }
}
