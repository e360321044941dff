public import struct Foundation.UUID
public import struct Foundation.Date
public import JarvisStore
public import JarvisAudit

/// A principal holding a role in its tenant.
public struct RoleBinding: Sendable, Equatable {
    public let id: UUID
    public let tenantID: UUID
    public let principalID: UUID
    public let role: String
    public let createdBy: UUID?
    public let createdAt: Date
}

/// Role bindings, read and written inside a tenant transaction.
public enum RoleBindings {
    /// Binds `role` to a principal, refusing escalation: the caller must already hold every
    /// permission the role grants, and only super admins grant `super_admin` (to platform principals).
    public static func create(
        _ tx: Transaction, tenantID: UUID, principalID: UUID, role: String, caller: Caller, actor: AuditActor
    ) async throws -> RoleBinding {
        try checkGrantable(role: role, tenantID: tenantID, caller: caller, graph: try await RoleStore.graph(tx, tenantID: tenantID))
        let id = UUIDv7.make()
        let rows: Rows
        do {
            rows = try await tx.query(
                """
                INSERT INTO role_bindings (tenant_id, id, principal_id, role, created_by)
                VALUES ($1, $2, $3, $4, $5)
                RETURNING id, tenant_id, principal_id, role, created_by, created_at
                """, [tenantID, id, principalID, role, caller.principalID])
        } catch StoreError.uniqueViolation {
            throw AccessError.alreadyBound(role: role)
        } catch StoreError.foreignKeyViolation {
            throw AccessError.notFound("principal \(principalID)")
        }
        guard let row = rows.first else { throw StoreError.decoding("insert returned no row") }
        let binding = try decode(row)
        tx.noteChange(tenantID)
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "role_binding.create", targetType: "role_binding",
            targetID: id.uuidString.lowercased(),
            details: ["principal_id": .string(principalID.uuidString.lowercased()), "role": .string(role)])
        return binding
    }

    /// Removes a binding; the caller must be able to grant the role it removes.
    public static func delete(_ tx: Transaction, tenantID: UUID, id: UUID, caller: Caller, actor: AuditActor) async throws {
        guard let existing = try await get(tx, tenantID: tenantID, id: id) else {
            throw AccessError.notFound("role binding \(id)")
        }
        try checkGrantable(role: existing.role, tenantID: tenantID, caller: caller, graph: try await RoleStore.graph(tx, tenantID: tenantID))
        try await tx.query("DELETE FROM role_bindings WHERE tenant_id = $1 AND id = $2", [tenantID, id])
        tx.noteChange(tenantID)
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "role_binding.delete", targetType: "role_binding",
            targetID: id.uuidString.lowercased(),
            details: ["principal_id": .string(existing.principalID.uuidString.lowercased()), "role": .string(existing.role)])
    }

    public static func get(_ tx: Transaction, tenantID: UUID, id: UUID) async throws -> RoleBinding? {
        let rows = try await tx.query(
            "SELECT id, tenant_id, principal_id, role, created_by, created_at FROM role_bindings WHERE tenant_id = $1 AND id = $2",
            [tenantID, id])
        return try rows.first.map(decode)
    }

    /// Lists bindings in id order after the cursor, optionally for one principal; reads `limit + 1`.
    public static func list(
        _ tx: Transaction, tenantID: UUID, principalID: UUID?, after: UUID?, limit: Int
    ) async throws -> [RoleBinding] {
        let rows = try await tx.query(
            """
            SELECT id, tenant_id, principal_id, role, created_by, created_at FROM role_bindings
            WHERE tenant_id = $1 AND ($2::uuid IS NULL OR principal_id = $2) AND ($3::uuid IS NULL OR id > $3)
            ORDER BY id LIMIT $4
            """, [tenantID, principalID, after, limit + 1])
        return try rows.all.map(decode)
    }

    static func checkGrantable(role: String, tenantID: UUID, caller: Caller, graph: RoleGraph) throws(AccessError) {
        guard graph.nodes[role] != nil else { throw .unknownRole(role) }
        if role == BuiltinRole.superAdmin.name {
            guard caller.isUnscopedSuperAdmin, tenantID == PlatformTenant.id else { throw .superAdminReserved }
            return
        }
        guard caller.isUnscopedSuperAdmin || caller.covers(graph.effectivePermissions(of: role)) else {
            throw .escalation(role: role)
        }
    }

    static func decode(_ row: Row) throws -> RoleBinding {
        RoleBinding(
            id: try row.uuid("id"), tenantID: try row.uuid("tenant_id"), principalID: try row.uuid("principal_id"),
            role: try row.string("role"), createdBy: try row.optionalUUID("created_by"), createdAt: try row.date("created_at"))
    }
}
