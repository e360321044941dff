public import Foundation
public import JarvisStore

/// Roles, tenant permissions and role bindings of one tenant: every change in its own transaction
/// under the tenant's row-level security, audited there, checked against escalation, and announced
/// to the caches at commit.
public struct Roles: Sendable {
    let app: Database

    public init(app: Database) { self.app = app }

    public func list(in scope: TenantScope) async throws -> [RoleStore.Role] {
        try await app.withTenant(scope.tenantID) { tx in try await RoleStore.list(tx, tenantID: scope.tenantID) }
    }

    public func get(_ name: String, in scope: TenantScope) async throws -> RoleStore.Role {
        let role = try await app.withTenant(scope.tenantID) { tx in try await RoleStore.get(tx, tenantID: scope.tenantID, name: name) }
        guard let role else { throw AccessError.notFound("role '\(name.prefix(64))'") }
        return role
    }

    public func create(_ definition: RoleStore.Definition, in scope: TenantScope) async throws -> RoleStore.Role {
        try await app.withTenant(scope.tenantID) { tx in
            try await RoleStore.create(tx, tenantID: scope.tenantID, definition, caller: scope.caller, actor: scope.actor)
        }
    }

    public func update(
        _ name: String, description: String?, permissions: [String]?, inherits: [String]?, in scope: TenantScope
    ) async throws -> RoleStore.Role {
        try await app.withTenant(scope.tenantID) { tx in
            try await RoleStore.update(
                tx, tenantID: scope.tenantID, name: name, description: description, permissions: permissions, inherits: inherits,
                caller: scope.caller, actor: scope.actor)
        }
    }

    public func delete(_ name: String, force: Bool, in scope: TenantScope) async throws {
        try await app.withTenant(scope.tenantID) { tx in
            try await RoleStore.delete(tx, tenantID: scope.tenantID, name: name, force: force, caller: scope.caller, actor: scope.actor)
        }
    }

    public struct PermissionInfo: Sendable {
        public let name: String
        public let description: String
        public let builtin: Bool
    }

    public func permissions(in scope: TenantScope) async throws -> [PermissionInfo] {
        try await app.withTenant(scope.tenantID) { tx in
            try await RoleStore.permissions(tx, tenantID: scope.tenantID).map { PermissionInfo(name: $0.name, description: $0.description, builtin: $0.builtin) }
        }
    }

    public func registerPermission(_ name: String, description: String, in scope: TenantScope) async throws -> PermissionInfo {
        try await app.withTenant(scope.tenantID) { tx in
            try await RoleStore.registerPermission(
                tx, tenantID: scope.tenantID, name: name, description: description, caller: scope.caller, actor: scope.actor)
        }
        return PermissionInfo(name: name, description: description, builtin: false)
    }

    public func bind(_ principalID: UUID, to role: String, in scope: TenantScope) async throws -> RoleBinding {
        try await app.withTenant(scope.tenantID) { tx in
            try await RoleBindings.create(tx, tenantID: scope.tenantID, principalID: principalID, role: role, caller: scope.caller, actor: scope.actor)
        }
    }

    /// Bindings in id order after `after`, optionally of one principal; reads `limit + 1`.
    public func bindings(of principalID: UUID?, after: UUID?, limit: Int, in scope: TenantScope) async throws -> [RoleBinding] {
        try await app.withTenant(scope.tenantID) { tx in
            try await RoleBindings.list(tx, tenantID: scope.tenantID, principalID: principalID, after: after, limit: limit)
        }
    }

    public func unbind(_ id: UUID, in scope: TenantScope) async throws {
        try await app.withTenant(scope.tenantID) { tx in
            try await RoleBindings.delete(tx, tenantID: scope.tenantID, id: id, caller: scope.caller, actor: scope.actor)
        }
    }

    /// A principal's roles and effective permissions, and which role paths grant `permission`.
    public struct Effective: Sendable {
        public let roles: [String]
        public let permissions: [String]
        /// When asked about one permission: whether it is allowed, and each grant path (from a bound
        /// role through the roles it inherits to the one granting it).
        public let asked: (permission: String, allowed: Bool, grantedBy: [[String]])?
    }

    /// The effective permissions of a principal inside `tx` (its existence is its owner's to check).
    package static func effective(_ tx: Transaction, tenantID: UUID, principalID: UUID, asking permission: Permission?) async throws -> Effective {
        let roles = try await tx.query(
            "SELECT role FROM role_bindings WHERE tenant_id = $1 AND principal_id = $2 ORDER BY role", [tenantID, principalID]
        ).all.map { try $0.string("role") }
        let graph = try await RoleStore.graph(tx, tenantID: tenantID)
        let effective = graph.effectivePermissions(of: roles)
        return Effective(
            roles: roles, permissions: effective.names,
            asked: permission.map { ($0.name, effective.allows($0), graph.explain($0, roles: roles)) })
    }

    /// The roles bound to a principal (for tokens it is issued), inside `tx`.
    package static func roles(_ tx: Transaction, tenantID: UUID, principalID: UUID) async throws -> [String] {
        try await tx.query("SELECT role FROM role_bindings WHERE tenant_id = $1 AND principal_id = $2", [tenantID, principalID])
            .all.map { try $0.string("role") }
    }
}
