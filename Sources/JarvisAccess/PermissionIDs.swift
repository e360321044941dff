internal import Synchronization

/// Permission names interned as small integers, so a caller's effective permissions are a bitset
/// and a decision is a few bit tests. One table per process, shared by every tenant.
///
/// Names enter only from stored roles and registered permissions (`intern`), never from a
/// request: `probe` looks up without interning, so hostile input cannot grow the table.
public final class PermissionIDs: Sendable {
    public static let shared = PermissionIDs()

    /// The id of `*`.
    public static let everything: Int32 = 0

    struct Table {
        var ids: [String: Int32] = ["*": PermissionIDs.everything]
        /// The id of `resource:*` for every interned id (`*` maps to itself).
        var wildcardOf: [Int32] = [PermissionIDs.everything]
        /// Probes of valid names that were never interned, as the hot path asked for them. Bounded,
        /// and emptied whenever a name is interned (an answer here may change then).
        var unknown: [String: PermissionProbe] = [:]
    }

    static let unknownLimit = 4096

    // Locking rule: ids and wildcardOf change together.
    private let table = Mutex(Table())

    init() {
        for role in BuiltinRole.allCases {
            for permission in role.ownPermissions { _ = id(for: permission) }
        }
    }

    /// The id of `permission`, assigned on first sight (its resource's wildcard too).
    public func id(for permission: Permission) -> Int32 {
        table.withLock { t in Self.intern(permission.name, resource: permission.resource, in: &t) }
    }

    private static func intern(_ name: String, resource: Substring?, in t: inout Table) -> Int32 {
        if let id = t.ids[name] { return id }
        t.unknown.removeAll()
        let wildcardName = resource.map { $0 + ":*" } ?? "*"
        let id = Int32(t.wildcardOf.count)
        t.ids[name] = id
        if wildcardName == name {
            t.wildcardOf.append(id)
        } else {
            t.wildcardOf.append(-1)
            t.wildcardOf[Int(id)] = intern(wildcardName, resource: resource, in: &t)
        }
        return id
    }

    /// What to test for a requested permission name. - Returns: nil when `name` is not a valid permission.
    public func probe(_ name: String) -> PermissionProbe? {
        let known = table.withLock { t -> PermissionProbe? in
            if let id = t.ids[name] { return PermissionProbe(exact: id, wildcard: t.wildcardOf[Int(id)]) }
            return t.unknown[name]
        }
        if let known { return known }
        // Never granted by name: only its resource's wildcard (or `*`) can allow it.
        guard let permission = Permission(validating: name), let resource = permission.resource else { return nil }
        let wildcardName = String(resource) + ":*"
        return table.withLock { t in
            let probe = PermissionProbe(exact: -1, wildcard: t.ids[wildcardName] ?? -1)
            if t.unknown.count >= Self.unknownLimit { t.unknown.removeAll(keepingCapacity: true) }
            t.unknown[name] = probe
            return probe
        }
    }

    public var count: Int { table.withLock { $0.wildcardOf.count } }
}

/// The ids that allow a requested permission: its own, its resource's wildcard, and `*`
/// (-1 where the name was never interned, so nothing can hold it).
public struct PermissionProbe: Sendable, Equatable {
    public let exact: Int32
    public let wildcard: Int32
}
