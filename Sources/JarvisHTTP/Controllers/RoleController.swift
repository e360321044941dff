internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisStore

/// `/v1/tenants/{tenant}/roles` (read) and `/role-bindings` (grant, list, revoke).
struct RoleController {
    let services: AppServices

    func addRoleRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(use: listRoles)
    }

    func addBindingRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: createBinding)
        group.get(use: listBindings)
        group.delete(":id", use: deleteBinding)
    }

    @Sendable func listRoles(_ request: Request, context: JarvisRequestContext) async throws -> Page<RoleBody> {
        _ = try await services.scope(context, permission: "tenant:read")
        return Page(rows: BuiltinRole.allCases, limit: BuiltinRole.allCases.count, id: { _ in UUID() }, map: RoleBody.init)
    }

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
}
