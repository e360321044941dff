internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisStore
internal import JarvisTenancy

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

    struct RoleBody: ResponseEncodable, Sendable {
        let name: String
        let description: String
        let builtin: Bool
        let inherits: [String]
        /// Granted directly.
        let ownPermissions: [String]
        /// Own and inherited.
        let permissions: [String]

        init(_ role: RoleStore.Role) {
            name = role.name
            description = role.description
            builtin = role.builtin
            inherits = role.inherits
            ownPermissions = role.permissions
            permissions = role.effective
        }
    }

    struct CreateRole: RequestBody {
        let name: String
        let description: String?
        let permissions: [String]?
        let inherits: [String]?
        enum CodingKeys: String, CodingKey, CaseIterable { case name, description, permissions, inherits }
    }

    struct UpdateRole: RequestBody {
        let description: String?
        let permissions: [String]?
        let inherits: [String]?
        enum CodingKeys: String, CodingKey, CaseIterable { case description, permissions, inherits }
    }

    @Sendable func listRoles(_ request: Request, context: JarvisRequestContext) async throws -> Page<RoleBody> {
        let scope = try await services.scope(context, permission: "tenant:read")
        return Page(all: try await services.roles.list(in: scope), map: RoleBody.init)
    }

    @Sendable func getRole(_ request: Request, context: JarvisRequestContext) async throws -> RoleBody {
        let scope = try await services.scope(context, permission: "tenant:read")
        return RoleBody(try await services.roles.get(try context.parameters.require("name"), in: scope))
    }

    @Sendable func createRole(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<RoleBody> {
        let scope = try await services.scope(context, permission: "admin:role")
        let body = try await RequestDecoder.decode(CreateRole.self, from: request, context: context)
        try Limits.list(body.permissions, "permissions")
        try Limits.list(body.inherits, "inherits")
        let role = try await services.roles.create(
            .init(name: body.name, description: body.description ?? "", permissions: body.permissions ?? [], inherits: body.inherits ?? []), in: scope)
        return EditedResponse(
            status: .created, headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/roles/\(role.name)"], response: RoleBody(role))
    }

    @Sendable func updateRole(_ request: Request, context: JarvisRequestContext) async throws -> RoleBody {
        let scope = try await services.scope(context, permission: "admin:role")
        let name = try context.parameters.require("name")
        let body = try await RequestDecoder.decode(UpdateRole.self, from: request, context: context)
        try Limits.list(body.permissions, "permissions")
        try Limits.list(body.inherits, "inherits")
        return RoleBody(try await services.roles.update(
            name, description: body.description, permissions: body.permissions, inherits: body.inherits, in: scope))
    }

    @Sendable func deleteRole(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try await services.scope(context, permission: "admin:role")
        let force: Bool
        switch request.query("force") {
        case nil, "false": force = false
        case "true": force = true
        default: throw Problem.invalid("force: must be true or false")
        }
        try await services.roles.delete(try context.parameters.require("name"), force: force, in: scope)
        return Response(status: .noContent)
    }

    // MARK: Permissions

    struct PermissionBody: ResponseEncodable, Sendable {
        let name: String
        let description: String
        let builtin: Bool

        init(_ p: Roles.PermissionInfo) {
            name = p.name
            description = p.description
            builtin = p.builtin
        }
    }

    struct RegisterPermission: RequestBody {
        let name: String
        let description: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case name, description }
    }

    @Sendable func listPermissions(_ request: Request, context: JarvisRequestContext) async throws -> Page<PermissionBody> {
        let scope = try await services.scope(context, permission: "tenant:read")
        return Page(all: try await services.roles.permissions(in: scope), map: PermissionBody.init)
    }

    @Sendable func registerPermission(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<PermissionBody> {
        let scope = try await services.scope(context, permission: "admin:role")
        let body = try await RequestDecoder.decode(RegisterPermission.self, from: request, context: context)
        try Limits.text(body.name, "name", max: 128)
        try Limits.text(body.description, "description", max: 1000)
        let registered = try await services.roles.registerPermission(body.name, description: body.description ?? "", in: scope)
        return EditedResponse(status: .created, response: PermissionBody(registered))
    }

    // MARK: Bindings

    struct BindingBody: ResponseEncodable, Sendable {
        let id: String
        let tenantId: String
        let principalId: String
        let role: String
        let createdBy: String?
        let createdAt: Date

        init(_ b: RoleBinding) {
            id = b.id.lowercasedString
            tenantId = b.tenantID.lowercasedString
            principalId = b.principalID.lowercasedString
            role = b.role
            createdBy = b.createdBy?.lowercasedString
            createdAt = b.createdAt
        }
    }

    struct CreateBinding: RequestBody {
        let principalId: UUID
        let role: String
        enum CodingKeys: String, CodingKey, CaseIterable { case principalId = "principal_id", role }
    }

    @Sendable func createBinding(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<BindingBody> {
        let scope = try await services.scope(context, permission: "admin:role")
        let body = try await RequestDecoder.decode(CreateBinding.self, from: request, context: context)
        try Limits.text(body.role, "role", max: 63)
        let binding = try await services.roles.bind(body.principalId, to: body.role, in: scope)
        return EditedResponse(
            status: .created, headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/role-bindings/\(binding.id.lowercasedString)"],
            response: BindingBody(binding))
    }

    @Sendable func listBindings(_ request: Request, context: JarvisRequestContext) async throws -> Page<BindingBody> {
        let scope = try await services.scope(context, permission: "admin:role")
        let page = try PageRequest(request)
        let rows = try await services.roles.bindings(of: try request.uuidQuery("principal_id"), after: page.after, limit: page.limit, in: scope)
        return Page(rows: rows, limit: page.limit, id: \.id, map: BindingBody.init)
    }

    @Sendable func deleteBinding(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try await services.scope(context, permission: "admin:role")
        try await services.roles.unbind(try context.uuidParameter("id"), in: scope)
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
        if let text = request.query("permission") {
            guard let permission = Permission(validating: text) else { throw Problem.invalid("permission: must be resource:action") }
            asked = permission
        }
        let effective = try await services.principals.permissions(of: id, asking: asked, in: scope)
        return EffectiveBody(
            principalId: id.lowercasedString, roles: effective.roles, permissions: effective.permissions,
            explanation: effective.asked.map { Explanation(permission: $0.permission, allowed: $0.allowed, grantedBy: $0.grantedBy) })
    }
}
