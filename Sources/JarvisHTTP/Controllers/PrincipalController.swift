internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisIdentity
internal import JarvisStore
internal import JarvisTenancy

/// `/v1/tenants/{tenant}/users` and `/service-accounts`: one controller, two shapes.
struct PrincipalController {
    let services: AppServices
    let kind: Caller.Kind

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":id", use: get)
        group.patch(":id", use: update)
        if kind == .user { group.put(":id/password", use: setPassword) }
    }

    /// Users and service accounts answer in their own shapes.
    struct Body: ResponseEncodable, Sendable {
        let id: String
        let tenantId: String
        /// Users only.
        let email: String?
        let displayName: String?
        /// Service accounts only.
        let name: String?
        let description: String?
        let costCenter: String?
        let status: String
        let createdAt: Date
        let updatedAt: Date

        init(_ p: Principal) {
            id = p.id.lowercasedString
            tenantId = p.tenantID.lowercasedString
            email = p.kind == .user ? p.email ?? "" : nil
            displayName = p.kind == .user ? p.name : nil
            name = p.kind == .serviceAccount ? p.name : nil
            description = p.kind == .serviceAccount ? p.description : nil
            costCenter = p.costCenter
            status = p.status.rawValue
            createdAt = p.createdAt
            updatedAt = p.updatedAt
        }
    }

    struct CreateUser: RequestBody {
        let email: String
        let displayName: String?
        let costCenter: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case email, displayName = "display_name", costCenter = "cost_center" }
    }

    struct CreateServiceAccount: RequestBody {
        let name: String
        let description: String?
        let costCenter: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case name, description, costCenter = "cost_center" }
    }

    struct UpdateUser: RequestBody {
        let email: String?
        let displayName: String?
        let status: Principal.Status?
        /// "" clears it.
        let costCenter: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case email, displayName = "display_name", status, costCenter = "cost_center" }
    }

    struct UpdateServiceAccount: RequestBody {
        let name: String?
        let description: String?
        let status: Principal.Status?
        let costCenter: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case name, description, status, costCenter = "cost_center" }
    }

    struct SetPassword: RequestBody {
        let password: String
        enum CodingKeys: String, CodingKey, CaseIterable { case password }
    }

    private var path: String { kind == .user ? "users" : "service-accounts" }

    @Sendable func create(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<Body> {
        let scope = try await services.scope(context, permission: "admin:user")
        let input: PrincipalStore.Create
        switch kind {
        case .user:
            let body = try await RequestDecoder.decode(CreateUser.self, from: request, context: context)
            input = .init(kind: .user, email: body.email, name: body.displayName ?? body.email, costCenter: body.costCenter)
        case .serviceAccount:
            let body = try await RequestDecoder.decode(CreateServiceAccount.self, from: request, context: context)
            input = .init(kind: .serviceAccount, email: nil, name: body.name, description: body.description ?? "", costCenter: body.costCenter)
        }
        let principal = try await services.principals.create(input, in: scope)
        return EditedResponse(
            status: .created, headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/\(path)/\(principal.id.lowercasedString)"],
            response: Body(principal))
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<Body> {
        let scope = try await services.scope(context, permission: "admin:user")
        let page = try PageRequest(request)
        let status = try request.choiceQuery("status", as: Principal.Status.self)
        let rows = try await services.principals.list(kind, status: status, after: page.after, limit: page.limit, in: scope)
        return Page(rows: rows, limit: page.limit, id: \.id, map: Body.init)
    }

    @Sendable func get(_ request: Request, context: JarvisRequestContext) async throws -> Body {
        let scope = try await services.scope(context, permission: "admin:user")
        return Body(try await services.principals.get(try context.uuidParameter("id"), kind: kind, in: scope))
    }

    @Sendable func update(_ request: Request, context: JarvisRequestContext) async throws -> Body {
        let scope = try await services.scope(context, permission: "admin:user")
        let id = try context.uuidParameter("id")
        let change: PrincipalStore.Update
        switch kind {
        case .user:
            let body = try await RequestDecoder.decode(UpdateUser.self, from: request, context: context)
            change = .init(email: body.email, name: body.displayName, status: body.status, costCenter: body.costCenter)
        case .serviceAccount:
            let body = try await RequestDecoder.decode(UpdateServiceAccount.self, from: request, context: context)
            change = .init(name: body.name, description: body.description, status: body.status, costCenter: body.costCenter)
        }
        return Body(try await services.principals.update(id, kind: kind, change, in: scope))
    }

    /// An administrator sets or resets a user's password; the user's sessions end.
    @Sendable func setPassword(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try await services.scope(context, permission: "admin:user")
        let id = try context.uuidParameter("id")
        let body = try await RequestDecoder.decode(SetPassword.self, from: request, context: context)
        try await services.passwords.set(id, to: body.password, in: scope)
        return Response(status: .noContent)
    }
}
