public import struct Foundation.UUID

/// The authenticated principal behind a request, whatever credential it used.
public struct Caller: Sendable {
    public enum Kind: String, Sendable, Codable {
        case user
        case serviceAccount = "service_account"
    }

    public let tenantID: UUID
    public let tenantSlug: String
    public let principalID: UUID
    /// The ids as lowercase text, formatted once: the hot path writes them into every answer.
    public let tenantIDText: String
    public let principalIDText: String
    public let kind: Kind
    public let roles: [String]
    public let permissions: PermissionSet
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
        self.tenantID = tenantID
        self.tenantSlug = tenantSlug
        self.principalID = principalID
        tenantIDText = tenantID.uuidString.lowercased()
        principalIDText = principalID.uuidString.lowercased()
        self.kind = kind
        self.roles = roles
        self.apiKeyID = apiKeyID
        self.scope = scope
        permissions = graph.effectivePermissions(of: roles)
    }

    /// Super admins are platform principals bound to `super_admin`.
    public var isSuperAdmin: Bool {
        tenantID == PlatformTenant.id && roles.contains(BuiltinRole.superAdmin.name)
    }

    /// True when the roles, and the scope if any, allow `permission`.
    public func allows(_ permission: Permission) -> Bool {
        permissions.allows(permission) && (scope?.allows(permission) ?? true)
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

    /// True when this caller may use `permission` on `tenantID`'s resources:
    /// its own tenant with the permission, or any tenant as a super admin (within its scope).
    public func may(_ permission: Permission, in tenantID: UUID) -> Bool {
        if isSuperAdmin { return scope?.allows(permission) ?? true }
        return tenantID == self.tenantID && allows(permission)
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
