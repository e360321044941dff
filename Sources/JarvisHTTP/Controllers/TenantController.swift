internal import Hummingbird
internal import Foundation
internal import JarvisAccess
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

    struct Create: RequestBody {
        let slug: String
        let name: String
        let plan: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case slug, name, plan }
    }

    struct Update: RequestBody {
        let name: String?
        let plan: String?
        let status: Tenant.Status?
        enum CodingKeys: String, CodingKey, CaseIterable { case name, plan, status }
    }

    struct Body: ResponseEncodable, Sendable {
        let id: String
        let slug: String
        let name: String
        let plan: String
        let status: String
        let createdAt: Date
        let updatedAt: Date

        init(_ t: Tenant) {
            id = t.id.lowercasedString
            slug = t.slug
            name = t.name
            plan = t.plan
            status = t.status.rawValue
            createdAt = t.createdAt
            updatedAt = t.updatedAt
        }
    }

    @Sendable func create(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<Body> {
        _ = try services.requireSuperAdmin(context, permission: "platform:tenants")
        let input = try await RequestDecoder.decode(Create.self, from: request, context: context)
        let tenant = try await services.tenants.create(.init(slug: input.slug, name: input.name, plan: input.plan ?? "free"), actor: context.auditActor)
        return EditedResponse(status: .created, headers: [.location: "/v1/tenants/\(tenant.id.lowercasedString)"], response: Body(tenant))
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<Body> {
        _ = try services.requireSuperAdmin(context, permission: "platform:tenants")
        let page = try PageRequest(request)
        let status = try request.choiceQuery("status", as: Tenant.Status.self)
        let rows = try await services.tenants.list(after: page.after, limit: page.limit, status: status)
        return Page(rows: rows, limit: page.limit, id: \.id, map: Body.init)
    }

    /// Super admins read any tenant; members read their own (`tenant:read`).
    @Sendable func get(_ request: Request, context: JarvisRequestContext) async throws -> Body {
        let scope = try await services.scope(context, permission: "tenant:read")
        guard let tenant = try await services.tenants.get(scope.tenantID.lowercasedString) else { throw Problem.notFound("no such tenant") }
        return Body(tenant)
    }

    @Sendable func update(_ request: Request, context: JarvisRequestContext) async throws -> Body {
        _ = try services.requireSuperAdmin(context, permission: "platform:tenants")
        let tenant = try await services.scope(context, permission: "platform:tenants")
        let input = try await RequestDecoder.decode(Update.self, from: request, context: context)
        return Body(try await services.tenants.update(tenant.tenantID, .init(name: input.name, plan: input.plan, status: input.status), actor: context.auditActor))
    }

    @Sendable func delete(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        _ = try services.requireSuperAdmin(context, permission: "platform:tenants")
        let tenant = try await services.scope(context, permission: "platform:tenants")
        try await services.tenants.delete(tenant.tenantID, actor: context.auditActor)
        return Response(status: .noContent)
    }
}
