public import Foundation
public import JarvisStore
public import JarvisAccess

/// Users and service accounts of one tenant, each call in its own transaction under the tenant's
/// row-level security; changes audited there. Any change to a principal needs a caller at least as
/// strong as it, and disabling one ends its sessions in the same commit.
public struct Principals: Sendable {
    let app: Database
    let sessions: (any SessionEnding)?

    public init(app: Database, sessions: (any SessionEnding)? = nil) {
        self.app = app
        self.sessions = sessions
    }

    public func create(_ input: PrincipalStore.Create, in scope: TenantScope) async throws -> Principal {
        try await app.withTenant(scope.tenantID) { tx in
            try await PrincipalStore.create(tx, tenantID: scope.tenantID, input, actor: scope.actor)
        }
    }

    public func get(_ id: UUID, kind: Caller.Kind, in scope: TenantScope) async throws -> Principal {
        let principal = try await app.withTenant(scope.tenantID) { tx in
            try await PrincipalStore.get(tx, tenantID: scope.tenantID, id: id, kind: kind)
        }
        guard let principal else { throw TenancyError.notFound("\(kind.auditResource) \(id.lowercasedString)") }
        return principal
    }

    /// Principals of one kind in id order after `after`; reads `limit + 1`.
    public func list(_ kind: Caller.Kind, status: Principal.Status?, after: UUID?, limit: Int, in scope: TenantScope) async throws -> [Principal] {
        try await app.withTenant(scope.tenantID) { tx in
            try await PrincipalStore.list(tx, tenantID: scope.tenantID, kind: kind, after: after, limit: limit, status: status)
        }
    }

    public func update(_ id: UUID, kind: Caller.Kind, _ change: PrincipalStore.Update, in scope: TenantScope) async throws -> Principal {
        try await app.withTenant(scope.tenantID) { tx in
            let principal = try await PrincipalStore.update(tx, tenantID: scope.tenantID, id: id, kind: kind, change, caller: scope.caller, actor: scope.actor)
            if change.status == .disabled { try await sessions?.endSessions(tx, tenantID: scope.tenantID, principalID: id) }
            return principal
        }
    }

    /// A principal's roles and effective permissions, explaining `permission` when given.
    public func permissions(of id: UUID, asking permission: Permission?, in scope: TenantScope) async throws -> Roles.Effective {
        try await app.withTenant(scope.tenantID) { tx in
            guard try await PrincipalStore.exists(tx, tenantID: scope.tenantID, id: id) else {
                throw TenancyError.notFound("principal \(id.lowercasedString)")
            }
            return try await Roles.effective(tx, tenantID: scope.tenantID, principalID: id, asking: permission)
        }
    }
}
