internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisIdentity
internal import JarvisStore
internal import JarvisTenancy

/// `/v1/tenants`: the platform API (super admins), plus reading one's own tenant.
struct TenantController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":tenant", use: get)
        group.patch(":tenant", use: update)
        group.delete(":tenant", use: delete)
    }

    private func requireSuperAdmin(_ context: JarvisRequestContext) throws -> Caller {
        let caller = try context.requireCaller()
        guard caller.isSuperAdmin else { throw AccessError.forbidden("platform:tenants") }
        return caller
    }

    @Sendable func create(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<TenantBody> {
        _ = try requireSuperAdmin(context)
        let body = try await JSONBody.read(request, context: context, allowed: ["slug", "name", "plan"])
        let input = TenantStore.Create(
            slug: try body.requiredString("slug", maxLength: 63),
            name: try body.requiredString("name", maxLength: 200),
            plan: try body.string("plan", maxLength: 32) ?? "free")
        let tenant = try await services.tenants.create(input, actor: context.auditActor)
        return EditedResponse(
            status: .created, headers: [.location: "/v1/tenants/\(tenant.id.lowercasedString)"], response: TenantBody(tenant))
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<TenantBody> {
        _ = try requireSuperAdmin(context)
        let page = try PageRequest(request)
        var status: Tenant.Status?
        if let text = request.uri.queryParameters["status"] {
            guard let value = Tenant.Status(rawValue: String(text)) else { throw Problem.invalid("status: must be active or suspended") }
            status = value
        }
        let rows = try await services.tenants.list(after: page.after, limit: page.limit, status: status)
        return Page(rows: rows, limit: page.limit, id: \.id, map: TenantBody.init)
    }

    /// Super admins read any tenant; members read their own (`tenant:read`).
    @Sendable func get(_ request: Request, context: JarvisRequestContext) async throws -> TenantBody {
        let scope = try await services.scope(context, permission: "tenant:read")
        guard let tenant = try await services.tenants.get(scope.tenantID.lowercasedString) else {
            throw Problem.notFound("no such tenant")
        }
        return TenantBody(tenant)
    }

    @Sendable func update(_ request: Request, context: JarvisRequestContext) async throws -> TenantBody {
        _ = try requireSuperAdmin(context)
        let reference = try context.parameters.require("tenant")
        guard let tenant = try await services.tenants.get(reference) else { throw Problem.notFound("no tenant '\(reference.prefix(64))'") }
        let body = try await JSONBody.read(request, context: context, allowed: ["name", "plan", "status"])
        let change = TenantStore.Update(
            name: try body.string("name", maxLength: 200), plan: try body.string("plan", maxLength: 32),
            status: try body.choice("status", as: Tenant.Status.self))
        return TenantBody(try await services.tenants.update(tenant.id, change, actor: context.auditActor))
    }

    @Sendable func delete(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        _ = try requireSuperAdmin(context)
        let reference = try context.parameters.require("tenant")
        guard let tenant = try await services.tenants.get(reference) else { throw Problem.notFound("no tenant '\(reference.prefix(64))'") }
        try await services.tenants.delete(tenant.id, actor: context.auditActor) { tx in
            try await RefreshTokenStore.revokeTenant(tx, tenantID: tenant.id)
        }
        return Response(status: .noContent)
    }
}
