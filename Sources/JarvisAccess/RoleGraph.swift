/// A tenant's roles as a graph: built-ins plus custom roles, each with its own permissions and the
/// roles it inherits. Custom roles may inherit built-ins and other custom roles; cycles are refused.
public struct RoleGraph: Sendable {
    public struct Node: Sendable, Equatable {
        public var name: String
        public var permissions: [Permission]
        public var inherits: [String]
        public var builtin: Bool

        public init(name: String, permissions: [Permission], inherits: [String], builtin: Bool) {
            self.name = name
            self.permissions = permissions
            self.inherits = inherits
            self.builtin = builtin
        }
    }

    public private(set) var nodes: [String: Node]

    /// The built-in roles only.
    public static let builtin = RoleGraph()

    /// True when the built-in graph gives the same answer as the tenant's for `roles`: none is
    /// custom, and none is `tenant_admin` (which also holds the tenant's own permissions).
    public static func builtinSuffices(for roles: [String]) -> Bool {
        roles.allSatisfy { $0 != BuiltinRole.tenantAdmin.name && BuiltinRole(rawValue: $0) != nil }
    }

    /// The built-ins with `custom` roles added.
    /// - Parameter tenantPermissions: permissions the tenant registered; `tenant_admin`, the top of
    ///   the tenant, holds them all, so tenant admins can build roles with them.
    public init(custom: [Node] = [], tenantPermissions: [Permission] = []) {
        var nodes: [String: Node] = [:]
        for role in BuiltinRole.allCases {
            let own = role == .tenantAdmin ? role.ownPermissions + tenantPermissions : role.ownPermissions
            nodes[role.name] = Node(name: role.name, permissions: own, inherits: role.inherits.map(\.name), builtin: true)
        }
        for node in custom { nodes[node.name] = node }
        self.nodes = nodes
    }

    /// Checks that every inherited role exists and that no role reaches itself.
    /// - Throws: `AccessError.unknownRole` or `.cycle` naming the loop.
    public func validate() throws(AccessError) {
        for node in nodes.values {
            for parent in node.inherits where nodes[parent] == nil { throw .unknownRole(parent) }
        }
        var state: [String: Bool] = [:]  // false: on the current path, true: done
        var path: [String] = []
        func visit(_ name: String) throws(AccessError) {
            if state[name] == true { return }
            if state[name] == false {
                let start = path.firstIndex(of: name) ?? 0
                throw .cycle(Array(path[start...]) + [name])
            }
            state[name] = false
            path.append(name)
            for parent in nodes[name]?.inherits ?? [] { try visit(parent) }
            path.removeLast()
            state[name] = true
        }
        for name in nodes.keys.sorted() { try visit(name) }
    }

    /// Own and inherited permissions of `role` (empty for an unknown role).
    public func effectivePermissions(of role: String) -> PermissionSet {
        var seen: Set<String> = []
        var set = PermissionSet([])
        var stack = [role]
        while let name = stack.popLast() {
            guard seen.insert(name).inserted, let node = nodes[name] else { continue }
            set.formUnion(PermissionSet(node.permissions))
            stack.append(contentsOf: node.inherits)
        }
        return set
    }

    /// The union over `roles`.
    public func effectivePermissions(of roles: [String]) -> PermissionSet {
        var set = PermissionSet([])
        for role in roles { set.formUnion(effectivePermissions(of: role)) }
        return set
    }

    /// Which of `roles` grant `permission`, with the inheritance path to the role that holds it
    /// directly (`["team_lead", "developer"]`: team_lead inherits developer, which grants it).
    public func explain(_ permission: Permission, roles: [String]) -> [[String]] {
        var paths: [[String]] = []
        func walk(_ name: String, _ path: [String], _ seen: Set<String>) {
            guard let node = nodes[name], !seen.contains(name) else { return }
            let here = path + [name]
            if PermissionSet(node.permissions).allows(permission) { paths.append(here) }
            for parent in node.inherits { walk(parent, here, seen.union([name])) }
        }
        for role in roles.sorted() { walk(role, [], []) }
        return paths
    }
}
