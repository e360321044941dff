/// A set of granted permissions, wildcards included.
public struct PermissionSet: Sendable, Equatable {
    public private(set) var granted: Set<Permission>

    public init(_ granted: some Sequence<Permission>) { self.granted = Set(granted) }

    /// True when `permission` is granted exactly, by its resource's wildcard, or by `*`.
    public func allows(_ permission: Permission) -> Bool {
        if granted.contains(permission) || granted.contains("*") { return true }
        guard let resource = permission.resource else { return false }
        return granted.contains(Permission(stringLiteral: "\(resource):*"))
    }

    /// True when every permission of `other` (wildcards as wildcards) is allowed here:
    /// the test for "may this principal grant that role?".
    public func covers(_ other: PermissionSet) -> Bool {
        other.granted.allSatisfy(allows)
    }

    public mutating func formUnion(_ other: PermissionSet) { granted.formUnion(other.granted) }

    /// Sorted names, for stable output.
    public var names: [String] { granted.map(\.name).sorted() }
}
