public import struct Foundation.UUID
internal import JarvisStore

/// The authenticated principal behind a request, whatever credential it used. A class: the
/// credential cache hands out one reference per hit instead of copying (and retaining) fields.
public final class Caller: Sendable {
    public enum Kind: String, Sendable, Codable {
        case user
        case serviceAccount = "service_account"
    }

    /// Shared by every cached caller of the tenant.
    public let tenant: CallerTenant
    public let principalID: UUID
    public let kind: Kind
    /// Roles and effective permissions, shared by every caller with the same ones.
    public let grants: Grants
    /// The API key's id, when the credential was an API key.
    public let apiKeyID: UUID?
    /// A token narrowed to these permissions (OAuth2 `scope`): the caller may use only what both
    /// its roles and the scope allow.
    public let scope: PermissionSet?

    /// - Parameter graph: the tenant's roles; the built-ins alone unless the principal holds custom roles.
    public init(
        tenantID: UUID, tenantSlug: String, principalID: UUID, kind: Kind, roles: [String], apiKeyID: UUID?,
        scope: PermissionSet? = nil, graph: RoleGraph = RoleGraph.builtin
    ) {
        tenant = CallerTenant.of(id: tenantID, slug: tenantSlug)
        self.principalID = principalID
        self.kind = kind
        self.apiKeyID = apiKeyID
        self.scope = scope
        grants = Grants.of(roles: roles, permissions: graph.effectivePermissions(of: roles))
    }

    public var tenantID: UUID { tenant.id }
    public var tenantSlug: String { tenant.slug }
    public var tenantIDText: String { tenant.idText }
    public var principalIDText: String { principalID.lowercasedString }
    public var roles: [String] { grants.roles }
    public var permissions: PermissionSet { grants.permissions }

    /// Super admins are platform principals bound to `super_admin`.
    public var isSuperAdmin: Bool {
        tenantID == PlatformTenant.id && roles.contains(BuiltinRole.superAdmin.name)
    }

    /// True when the roles, and the scope if any, allow `permission`.
    public func allows(_ permission: Permission) -> Bool {
        guard let probe = PermissionIDs.shared.probe(permission.name) else { return false }
        return grants.bits.allows(probe) && (scope?.allows(permission) ?? true)
    }

    /// The hot path's test: `probe` is `PermissionIDs.shared.probe(name)`, taken after this caller
    /// was loaded (loading interns the names its roles grant; an earlier probe may miss them).
    @inline(__always)
    public func allows(_ probe: PermissionProbe, name: String) -> Bool {
        guard grants.bits.allows(probe) else { return false }
        guard let scope else { return true }
        return Permission(validating: name).map(scope.allows) ?? false
    }

    /// True when every permission of `other` is allowed: may this caller grant a role carrying `other`?
    public func covers(_ other: PermissionSet) -> Bool {
        other.granted.allSatisfy(allows)
    }

    /// What the caller may do, as names: the roles' permissions, narrowed by the scope.
    public var effectivePermissionNames: [String] {
        guard let scope else { return permissions.names }
        let names = permissions.granted.filter { scope.allows($0) }.map(\.name)
            + scope.granted.filter { permissions.allows($0) }.map(\.name)
        return Array(Set(names)).sorted()
    }

    /// Permissions a platform principal holds for every tenant (platform finance reads and exports
    /// every tenant's figures; `billing:admin` prices and closes them).
    public static let platformWide: Set<String> = ["usage:read", "billing:read", "billing:export", "billing:admin"]

    /// True when this caller may use `permission` on `tenantID`'s resources: its own tenant with the
    /// permission, any tenant as a super admin (within its scope), or any tenant for a platform
    /// principal holding one of the `platformWide` permissions.
    public func may(_ permission: Permission, in tenantID: UUID) -> Bool {
        reachesEveryTenant(with: permission) || (tenantID == self.tenantID && allows(permission))
    }

    /// True when `permission` holds for this caller in every tenant: a super admin's (within its
    /// scope), or a platform principal's `platformWide` one.
    public func reachesEveryTenant(with permission: Permission) -> Bool {
        if isSuperAdmin { return scope?.allows(permission) ?? true }
        return tenantID == PlatformTenant.id && Self.platformWide.contains(permission.name) && allows(permission)
    }

    /// - Throws: `AccessError.forbidden` naming the missing permission.
    public func require(_ permission: Permission, in tenantID: UUID) throws(AccessError) {
        guard may(permission, in: tenantID) else { throw .forbidden(permission) }
    }
}

/// The reserved tenant that holds platform principals (created by the first migration).
public enum PlatformTenant {
    public static let id = UUID(uuidString: "00000000-0000-7000-8000-000000000001")!
    public static let slug = "platform"
}
