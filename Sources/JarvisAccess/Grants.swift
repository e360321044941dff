public import struct Foundation.UUID
internal import JarvisStore

/// What a set of roles grants: the roles, their effective permissions, and the same as a bitset
/// for the hot path. Shared by every caller holding the same roles with the same result.
public final class Grants: Sendable {
    public let roles: [String]
    public let permissions: PermissionSet
    public let bits: PermissionBits

    private init(roles: [String], permissions: PermissionSet) {
        self.roles = roles
        self.permissions = permissions
        bits = PermissionBits(permissions)
    }

    struct Key: Hashable, Sendable {
        let roles: [String]
        let permissions: Set<Permission>
    }

    private static let table = InternTable<Key, Grants>()

    /// The shared object for `roles` resolving to `permissions`.
    public static func of(roles: [String], permissions: PermissionSet) -> Grants {
        table.intern(Key(roles: roles, permissions: permissions.granted)) { Grants(roles: roles, permissions: permissions) }
    }
}

/// A tenant's identity as callers carry it, shared by all its cached callers.
public final class CallerTenant: Sendable {
    public let id: UUID
    public let slug: String
    /// The id as lowercase text, formatted once: the hot path writes it into every answer.
    public let idText: String

    private init(id: UUID, slug: String) {
        self.id = id
        self.slug = slug
        idText = id.lowercasedString
    }

    struct Key: Hashable, Sendable {
        let id: UUID
        let slug: String
    }

    private static let table = InternTable<Key, CallerTenant>()

    public static func of(id: UUID, slug: String) -> CallerTenant {
        table.intern(Key(id: id, slug: slug)) { CallerTenant(id: id, slug: slug) }
    }
}
