internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisStore

/// `/v1/tenants/{tenant}/roles` (built-in and custom roles), `/permissions`, `/role-bindings`,
/// and `/principals/{id}/permissions` (effective permissions, explained).
struct RoleController {
    let services: AppServices

    func addRoleRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(use: listRoles)
        group.post(use: createRole)
        group.get(":name", use: getRole)
        group.patch(":name", use: updateRole)
        group.delete(":name", use: deleteRole)
    }

    func addPermissionRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(use: listPermissions)
        group.post(use: registerPermission)
    }

    func addBindingRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: createBinding)
        group.get(use: listBindings)
        group.delete(":id", use: deleteBinding)
    }

    func addPrincipalRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(":id/permissions", use: principalPermissions)
    }

    // MARK: Roles

    @Sendable func listRoles(_ request: Request, context: JarvisRequestContext) async throws -> Page<RoleBody> {
        let scope = try await services.scope(context, permission: "tenant:read")
        let roles = try await services.app.withTenant(scope.tenantID) { tx in try await RoleStore.list(tx, tenantID: scope.tenantID) }
        return Page(all: roles, map: RoleBody.init)
    }

    @Sendable func getRole(_ request: Request, context: JarvisRequestContext) async throws -> RoleBody {
        let scope = try await services.scope(context, permission: "tenant:read")
        let name = try context.parameters.require("name")
        let role = try await services.app.withTenant(scope.tenantID) { tx in try await RoleStore.get(tx, tenantID: scope.tenantID, name: name) }
        guard let role else { throw Problem.notFound("no role '\(name.prefix(64))'") }
        return RoleBody(role)
    }

    static let roleFields: Set<String> = ["name", "description", "permissions", "inherits"]

    @Sendable func createRole(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<RoleBody> {
        let scope = try await services.scope(context, permission: "admin:role")
        let body = try await JSONBody.read(request, context: context, allowed: Self.roleFields)
        let definition = RoleStore.Definition(
            name: try body.requiredString("name", maxLength: 63), description: try body.string("description", maxLength: 1000) ?? "",
            permissions: try body.stringArray("permissions") ?? [], inherits: try body.stringArray("inherits") ?? [])
        let role = try await services.app.withTenant(scope.tenantID) { tx in
            try await RoleStore.create(tx, tenantID: scope.tenantID, definition, caller: scope.caller, actor: scope.actor)
        }
        return EditedResponse(
            status: .created, headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/roles/\(role.name)"],
            response: RoleBody(role))
    }

    @Sendable func updateRole(_ request: Request, context: JarvisRequestContext) async throws -> RoleBody {
        let scope = try await services.scope(context, permission: "admin:role")
        let name = try context.parameters.require("name")
        let body = try await JSONBody.read(request, context: context, allowed: ["description", "permissions", "inherits"])
        let description = try body.string("description", maxLength: 1000)
        let permissions = try body.stringArray("permissions")
        let inherits = try body.stringArray("inherits")
        let role = try await services.app.withTenant(scope.tenantID) { tx in
            try await RoleStore.update(
                tx, tenantID: scope.tenantID, name: name, description: description, permissions: permissions, inherits: inherits,
                caller: scope.caller, actor: scope.actor)
        }
        return RoleBody(role)
    }

    @Sendable func deleteRole(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try await services.scope(context, permission: "admin:role")
        let name = try context.parameters.require("name")
        let force: Bool
        switch request.uri.queryParameters["force"] {
        case nil, "false": force = false
        case "true": force = true
        default: throw Problem.invalid("force: must be true or false")
        }
        try await services.app.withTenant(scope.tenantID) { tx in
            try await RoleStore.delete(tx, tenantID: scope.tenantID, name: name, force: force, caller: scope.caller, actor: scope.actor)
        }
        return Response(status: .noContent)
    }

    // MARK: Permissions

    struct PermissionBody: ResponseEncodable, Sendable {
        let name: String
        let description: String
        let builtin: Bool
    }

    @Sendable func listPermissions(_ request: Request, context: JarvisRequestContext) async throws -> Page<PermissionBody> {
        let scope = try await services.scope(context, permission: "tenant:read")
        let all = try await services.app.withTenant(scope.tenantID) { tx in try await RoleStore.permissions(tx, tenantID: scope.tenantID) }
        return Page(all: all, map: { PermissionBody(name: $0.name, description: $0.description, builtin: $0.builtin) })
    }

    @Sendable func registerPermission(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<PermissionBody> {
        let scope = try await services.scope(context, permission: "admin:role")
        let body = try await JSONBody.read(request, context: context, allowed: ["name", "description"])
        let name = try body.requiredString("name", maxLength: 128)
        let description = try body.string("description", maxLength: 1000) ?? ""
        try await services.app.withTenant(scope.tenantID) { tx in
            try await RoleStore.registerPermission(tx, tenantID: scope.tenantID, name: name, description: description, caller: scope.caller, actor: scope.actor)
        }
        return EditedResponse(status: .created, response: PermissionBody(name: name, description: description, builtin: false))
    }

    // MARK: Bindings

    @Sendable func createBinding(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<RoleBindingBody> {
        let scope = try await services.scope(context, permission: "admin:role")
        let body = try await JSONBody.read(request, context: context, allowed: ["principal_id", "role"])
        let principalID = try body.uuid("principal_id", required: true)!
        let role = try body.requiredString("role", maxLength: 63)
        let binding = try await services.app.withTenant(scope.tenantID) { tx in
            try await RoleBindings.create(
                tx, tenantID: scope.tenantID, principalID: principalID, role: role, caller: scope.caller, actor: scope.actor)
        }
        return EditedResponse(
            status: .created,
            headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/role-bindings/\(binding.id.lowercasedString)"],
            response: RoleBindingBody(binding))
    }

    @Sendable func listBindings(_ request: Request, context: JarvisRequestContext) async throws -> Page<RoleBindingBody> {
        let scope = try await services.scope(context, permission: "admin:role")
        let page = try PageRequest(request)
        let principalID = try request.uuidQuery("principal_id")
        let rows = try await services.app.withTenant(scope.tenantID) { tx in
            try await RoleBindings.list(tx, tenantID: scope.tenantID, principalID: principalID, after: page.after, limit: page.limit)
        }
        return Page(rows: rows, limit: page.limit, id: \.id, map: RoleBindingBody.init)
    }

    @Sendable func deleteBinding(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try await services.scope(context, permission: "admin:role")
        let id = try context.uuidParameter("id")
        try await services.app.withTenant(scope.tenantID) { tx in
            try await RoleBindings.delete(tx, tenantID: scope.tenantID, id: id, caller: scope.caller, actor: scope.actor)
        }
        return Response(status: .noContent)
    }

    // MARK: Effective permissions

    struct Explanation: Encodable, Sendable {
        let permission: String
        let allowed: Bool
        /// Each path runs from a bound role through the roles it inherits to the one granting the permission.
        let grantedBy: [[String]]
    }

    struct EffectiveBody: ResponseEncodable, Sendable {
        let principalId: String
        let roles: [String]
        let permissions: [String]
        let explanation: Explanation?
    }

    @Sendable func principalPermissions(_ request: Request, context: JarvisRequestContext) async throws -> EffectiveBody {
        let scope = try await services.scope(context, permission: "admin:role")
        let id = try context.uuidParameter("id")
        var asked: Permission?
        if let text = request.uri.queryParameters["permission"] {
            guard let permission = Permission(validating: String(text)) else { throw Problem.invalid("permission: must be resource:action") }
            asked = permission
        }
        let (roles, graph) = try await services.app.withTenant(scope.tenantID) { tx in
            let exists = try await tx.query("SELECT 1 FROM principals WHERE tenant_id = $1 AND id = $2", [scope.tenantID, id])
            guard !exists.isEmpty else { throw Problem.notFound("no principal \(id.lowercasedString)") }
            let roles = try await tx.query(
                "SELECT role FROM role_bindings WHERE tenant_id = $1 AND principal_id = $2 ORDER BY role", [scope.tenantID, id]
            ).all.map { try $0.string("role") }
            return (roles, try await RoleStore.graph(tx, tenantID: scope.tenantID))
        }
        let effective = graph.effectivePermissions(of: roles)
        let explanation = asked.map { permission in
            Explanation(permission: permission.name, allowed: effective.allows(permission), grantedBy: graph.explain(permission, roles: roles))
        }
        return EffectiveBody(principalId: id.lowercasedString, roles: roles, permissions: effective.names, explanation: explanation)
    }
}
