public import struct Foundation.UUID
public import JarvisStore

/// The rule "never act on a principal stronger than yourself": an action that hands over a
/// principal's power (a new key, a password it will log in with) or locks it out (disabling it,
/// revoking its key, ending its sessions, changing the email it logs in with, limiting it with a
/// quota) needs a caller holding every permission the principal holds. Otherwise whoever holds
/// `admin:user` could reset a tenant admin's password and log in as them.
public enum PrincipalGuard {
    /// - Throws: `AccessError.strongerPrincipal` when the principal holds a permission the caller
    ///   lacks. A principal the tenant does not have passes: the action itself reports it missing.
    public static func requireCovered(_ tx: Transaction, tenantID: UUID, principalID: UUID, by caller: Caller) async throws {
        if caller.isUnscopedSuperAdmin { return }
        let roles = try await tx.query(
            "SELECT role FROM role_bindings WHERE tenant_id = $1 AND principal_id = $2", [tenantID, principalID]
        ).all.map { try $0.string("role") }
        if roles.isEmpty { return }
        let graph = RoleGraph.builtinSuffices(for: roles) ? RoleGraph.builtin : try await RoleStore.graph(tx, tenantID: tenantID)
        guard caller.covers(graph.effectivePermissions(of: roles)) else { throw AccessError.strongerPrincipal }
    }
}
