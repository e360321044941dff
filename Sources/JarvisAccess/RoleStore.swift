public import Foundation
public import JarvisStore
public import JarvisAudit

/// Custom roles and tenant permissions, inside a tenant transaction, each change audited and
/// checked against escalation: nobody defines, changes or removes a role carrying permissions
/// they do not hold themselves.
public enum RoleStore {
    /// A role as the API shows it.
    public struct Role: Sendable, Equatable {
        public let name: String
        public let description: String
        public let builtin: Bool
        public let permissions: [String]
        public let inherits: [String]
        /// Own and inherited permissions.
        public let effective: [String]
    }

    /// The tenant's role graph: the built-ins and its custom roles.
    public static func graph(_ tx: Transaction, tenantID: UUID) async throws -> RoleGraph {
        RoleGraph(custom: try await customNodes(tx, tenantID: tenantID).map(\.node), tenantPermissions: try await tenantPermissions(tx, tenantID: tenantID))
    }

    static func tenantPermissions(_ tx: Transaction, tenantID: UUID) async throws -> [Permission] {
        try await tx.query("SELECT name FROM custom_permissions WHERE tenant_id = $1", [tenantID], prepared: true)
            .all.compactMap { Permission(validating: try $0.string("name")) }
    }

    static func customNodes(_ tx: Transaction, tenantID: UUID) async throws -> [(node: RoleGraph.Node, description: String)] {
        let rows = try await tx.query(
            "SELECT name, description, permissions, inherits FROM roles WHERE tenant_id = $1 ORDER BY name", [tenantID], prepared: true)
        return try rows.all.map { row in
            (RoleGraph.Node(
                name: try row.string("name"),
                permissions: try row.stringArray("permissions").compactMap(Permission.init(validating:)),
                inherits: try row.stringArray("inherits"), builtin: false), try row.string("description"))
        }
    }

    /// Every role of the tenant, built-ins first.
    public static func list(_ tx: Transaction, tenantID: UUID) async throws -> [Role] {
        let custom = try await customNodes(tx, tenantID: tenantID)
        let graph = RoleGraph(custom: custom.map(\.node), tenantPermissions: try await tenantPermissions(tx, tenantID: tenantID))
        let builtins = BuiltinRole.allCases.map { role in
            Role(name: role.name, description: role.summary, builtin: true, permissions: role.ownPermissions.map(\.name).sorted(),
                 inherits: role.inherits.map(\.name), effective: graph.effectivePermissions(of: role.name).names)
        }
        return builtins + custom.map { node, description in
            Role(name: node.name, description: description, builtin: false, permissions: node.permissions.map(\.name).sorted(),
                 inherits: node.inherits, effective: graph.effectivePermissions(of: node.name).names)
        }
    }

    public static func get(_ tx: Transaction, tenantID: UUID, name: String) async throws -> Role? {
        try await list(tx, tenantID: tenantID).first { $0.name == name }
    }

    public struct Definition: Sendable {
        public var name: String
        public var description: String
        public var permissions: [String]
        public var inherits: [String]
        public init(name: String, description: String, permissions: [String], inherits: [String]) {
            self.name = name
            self.description = description
            self.permissions = permissions
            self.inherits = inherits
        }
    }

    public static func create(_ tx: Transaction, tenantID: UUID, _ definition: Definition, caller: Caller, actor: AuditActor) async throws -> Role {
        try validateName(definition.name)
        if BuiltinRole(rawValue: definition.name) != nil { throw AccessError.builtinRole(definition.name) }
        let node = try await checkedNode(tx, tenantID: tenantID, definition, caller: caller)
        try await tx.query(
            "INSERT INTO roles (tenant_id, name, description, permissions, inherits, created_by) VALUES ($1, $2, $3, $4, $5, $6)",
            [tenantID, node.name, definition.description, TextArray(node.permissions.map(\.name)), TextArray(node.inherits), caller.principalID],
            onConflict: AccessError.duplicate("role '\(definition.name)'"))
        tx.noteChange(tenantID)
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "role.create", targetType: "role", targetID: node.name,
            details: ["permissions": .strings(node.permissions.map(\.name)), "inherits": .strings(node.inherits)])
        guard let role = try await get(tx, tenantID: tenantID, name: node.name) else { throw AccessError.notFound("role \(node.name)") }
        return role
    }

    public static func update(
        _ tx: Transaction, tenantID: UUID, name: String, description: String?, permissions: [String]?, inherits: [String]?,
        caller: Caller, actor: AuditActor
    ) async throws -> Role {
        if BuiltinRole(rawValue: name) != nil { throw AccessError.builtinRole(name) }
        guard let current = try await lockedNode(tx, tenantID: tenantID, name: name) else { throw AccessError.notFound("role \(name)") }
        let definition = Definition(
            name: name, description: description ?? current.description,
            permissions: permissions ?? current.node.permissions.map(\.name), inherits: inherits ?? current.node.inherits)
        let node = try await checkedNode(tx, tenantID: tenantID, definition, caller: caller)
        try await tx.query(
            "UPDATE roles SET description = $3, permissions = $4, inherits = $5, updated_at = now() WHERE tenant_id = $1 AND name = $2",
            [tenantID, name, definition.description, TextArray(node.permissions.map(\.name)), TextArray(node.inherits)])
        tx.noteChange(tenantID)
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "role.update", targetType: "role", targetID: name,
            details: ["permissions": .strings(node.permissions.map(\.name)), "inherits": .strings(node.inherits)])
        guard let role = try await get(tx, tenantID: tenantID, name: name) else { throw AccessError.notFound("role \(name)") }
        return role
    }

    /// Deletes a custom role. Bound roles need `force`, which removes the bindings too; roles that
    /// other roles inherit are refused (change those first).
    public static func delete(_ tx: Transaction, tenantID: UUID, name: String, force: Bool, caller: Caller, actor: AuditActor) async throws {
        if BuiltinRole(rawValue: name) != nil { throw AccessError.builtinRole(name) }
        guard try await lockedNode(tx, tenantID: tenantID, name: name) != nil else { throw AccessError.notFound("role \(name)") }
        let graph = try await graph(tx, tenantID: tenantID)
        guard caller.isUnscopedSuperAdmin || caller.covers(graph.effectivePermissions(of: name)) else { throw AccessError.escalation(role: name) }
        if let heir = graph.nodes.values.first(where: { $0.inherits.contains(name) }) {
            throw AccessError.roleInUse("role '\(heir.name)' inherits it", bindings: 0)
        }
        let bound = try await tx.query(
            "SELECT count(*) AS n FROM role_bindings WHERE tenant_id = $1 AND role = $2", [tenantID, name]).first?.int("n") ?? 0
        if bound > 0 && !force { throw AccessError.roleInUse("it is bound to \(bound) principal(s)", bindings: bound) }
        try await tx.query("DELETE FROM role_bindings WHERE tenant_id = $1 AND role = $2", [tenantID, name])
        try await tx.query("DELETE FROM roles WHERE tenant_id = $1 AND name = $2", [tenantID, name])
        tx.noteChange(tenantID)
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "role.delete", targetType: "role", targetID: name,
            details: ["bindings_removed": .int(bound), "forced": .bool(force)])
    }

    /// Permission names the tenant may use in roles: the platform's and its own.
    public static func permissions(_ tx: Transaction, tenantID: UUID) async throws -> [(name: String, description: String, builtin: Bool)] {
        let custom = try await tx.query(
            "SELECT name, description FROM custom_permissions WHERE tenant_id = $1 ORDER BY name", [tenantID])
        return PermissionCatalog.all.map { ($0.name, "", true) }
            + (try custom.all.map { (try $0.string("name"), try $0.string("description"), false) })
    }

    public static func registerPermission(
        _ tx: Transaction, tenantID: UUID, name: String, description: String, caller: Caller, actor: AuditActor
    ) async throws {
        guard let permission = Permission(validating: name), !permission.isWildcard else {
            throw AccessError.invalid(field: "name", reason: "must be resource:action (lowercase letters, digits, '_', '-')")
        }
        guard !PermissionCatalog.all.contains(permission) else { throw AccessError.duplicate("permission '\(name)'") }
        try await tx.query(
            "INSERT INTO custom_permissions (tenant_id, name, description, created_by) VALUES ($1, $2, $3, $4)",
            [tenantID, name, description, caller.principalID], onConflict: AccessError.duplicate("permission '\(name)'"))
        tx.noteChange(tenantID)
        try await AuditLog.record(tx, tenantID: tenantID, actor: actor, action: "permission.create", targetType: "permission", targetID: name)
    }

    // MARK: - Checks

    static func validateName(_ name: String) throws(AccessError) {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count), let first = bytes.first, first >= 97, first <= 122,
            bytes.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 })
        else { throw .invalid(field: "name", reason: "must be 1-63 lowercase letters, digits or '_', starting with a letter") }
    }

    /// The node `definition` describes, checked: known permissions, existing parents, no cycle, and
    /// nothing the caller does not hold.
    static func checkedNode(_ tx: Transaction, tenantID: UUID, _ definition: Definition, caller: Caller) async throws -> RoleGraph.Node {
        guard definition.description.unicodeScalars.count <= 1000 else { throw AccessError.invalid(field: "description", reason: "must be at most 1000 characters") }
        guard definition.permissions.count <= 256, definition.inherits.count <= 64 else {
            throw AccessError.invalid(field: "permissions", reason: "at most 256 permissions and 64 inherited roles")
        }
        let known = Set(try await permissions(tx, tenantID: tenantID).map(\.name))
        let resources = Set(known.compactMap { $0.split(separator: ":").first.map(String.init) })
        var permissions: [Permission] = []
        for name in Set(definition.permissions).sorted() {
            guard let permission = Permission(validating: name) else { throw AccessError.unknownPermission(name) }
            let isKnown = known.contains(name) || (permission.isWildcard && (name == "*" || resources.contains(String(permission.resource ?? ""))))
            guard isKnown else { throw AccessError.unknownPermission(name) }
            permissions.append(permission)
        }
        let node = RoleGraph.Node(name: definition.name, permissions: permissions, inherits: Array(Set(definition.inherits)).sorted(), builtin: false)
        var custom = try await customNodes(tx, tenantID: tenantID).map(\.node).filter { $0.name != node.name }
        custom.append(node)
        let graph = RoleGraph(custom: custom, tenantPermissions: try await tenantPermissions(tx, tenantID: tenantID))
        try graph.validate()
        if node.inherits.contains(BuiltinRole.superAdmin.name) { throw AccessError.superAdminReserved }
        guard caller.isUnscopedSuperAdmin || caller.covers(graph.effectivePermissions(of: node.name)) else {
            throw AccessError.escalation(role: node.name)
        }
        return node
    }

    /// The stored role, locked for the rest of the transaction so concurrent edits take turns.
    static func lockedNode(_ tx: Transaction, tenantID: UUID, name: String) async throws -> (node: RoleGraph.Node, description: String)? {
        let rows = try await tx.query(
            "SELECT name, description, permissions, inherits FROM roles WHERE tenant_id = $1 AND name = $2 FOR UPDATE", [tenantID, name])
        guard let row = rows.first else { return nil }
        return (RoleGraph.Node(
            name: try row.string("name"), permissions: try row.stringArray("permissions").compactMap(Permission.init(validating:)),
            inherits: try row.stringArray("inherits"), builtin: false), try row.string("description"))
    }
}

extension Caller {
    /// A super admin acting with its full powers (no narrowed scope).
    public var isUnscopedSuperAdmin: Bool { isSuperAdmin && scope == nil }
}
