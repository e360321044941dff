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
    let passwords: PasswordStore

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":id", use: get)
        group.patch(":id", use: update)
        if kind == .user { group.put(":id/password", use: setPassword) }
    }

    /// An administrator sets or resets a user's password; the user's sessions end.
    @Sendable func setPassword(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try await services.scope(context, permission: "admin:user")
        let id = try context.uuidParameter("id")
        let body = try await JSONBody.read(request, context: context, allowed: ["password"])
        let password = try body.requiredString("password", maxLength: PasswordPolicy.maxLength)
        let passwords = self.passwords
        try await services.app.withTenant(scope.tenantID) { tx in
            try await passwords.set(tx, tenantID: scope.tenantID, userID: id, password: password, caller: scope.caller, actor: scope.actor)
        }
        return Response(status: .noContent)
    }

    private var createFields: Set<String> { kind == .user ? ["email", "display_name"] : ["name", "description"] }
    private var updateFields: Set<String> { kind == .user ? ["email", "display_name", "status"] : ["name", "description", "status"] }
    private var path: String { kind == .user ? "users" : "service-accounts" }

    @Sendable func create(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<PrincipalBody> {
        let scope = try await services.scope(context, permission: "admin:user")
        let body = try await JSONBody.read(request, context: context, allowed: createFields)
        let input: PrincipalStore.Create
        switch kind {
        case .user:
            let email = try body.requiredString("email", maxLength: 254)
            input = .init(kind: .user, email: email, name: try body.string("display_name", maxLength: 200) ?? email)
        case .serviceAccount:
            input = .init(
                kind: .serviceAccount, email: nil, name: try body.requiredString("name", maxLength: 200),
                description: try body.string("description", maxLength: 1000) ?? "")
        }
        let principal = try await services.app.withTenant(scope.tenantID) { tx in
            try await PrincipalStore.create(tx, tenantID: scope.tenantID, input, actor: scope.actor)
        }
        return EditedResponse(
            status: .created,
            headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/\(path)/\(principal.id.lowercasedString)"],
            response: PrincipalBody(principal))
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<PrincipalBody> {
        let scope = try await services.scope(context, permission: "admin:user")
        let page = try PageRequest(request)
        var status: Principal.Status?
        if let text = request.uri.queryParameters["status"] {
            guard let value = Principal.Status(rawValue: String(text)) else { throw Problem.invalid("status: must be active or disabled") }
            status = value
        }
        let kind = self.kind
        let rows = try await services.app.withTenant(scope.tenantID) { tx in
            try await PrincipalStore.list(tx, tenantID: scope.tenantID, kind: kind, after: page.after, limit: page.limit, status: status)
        }
        return Page(rows: rows, limit: page.limit, id: \.id, map: PrincipalBody.init)
    }

    @Sendable func get(_ request: Request, context: JarvisRequestContext) async throws -> PrincipalBody {
        let scope = try await services.scope(context, permission: "admin:user")
        let id = try context.uuidParameter("id")
        let kind = self.kind
        let principal = try await services.app.withTenant(scope.tenantID) { tx in
            try await PrincipalStore.get(tx, tenantID: scope.tenantID, id: id, kind: kind)
        }
        guard let principal else { throw Problem.notFound("no \(kind.auditResource) \(id.lowercasedString)") }
        return PrincipalBody(principal)
    }

    @Sendable func update(_ request: Request, context: JarvisRequestContext) async throws -> PrincipalBody {
        let scope = try await services.scope(context, permission: "admin:user")
        let id = try context.uuidParameter("id")
        let body = try await JSONBody.read(request, context: context, allowed: updateFields)
        let change = PrincipalStore.Update(
            email: kind == .user ? try body.string("email", maxLength: 254) : nil,
            name: try body.string(kind == .user ? "display_name" : "name", maxLength: 200),
            description: kind == .serviceAccount ? try body.string("description", maxLength: 1000) : nil,
            status: try body.choice("status", as: Principal.Status.self))
        let kind = self.kind
        let principal = try await services.app.withTenant(scope.tenantID) { tx in
            let principal = try await PrincipalStore.update(tx, tenantID: scope.tenantID, id: id, kind: kind, change, caller: scope.caller, actor: scope.actor)
            // A disabled principal's sessions end with the same commit.
            if change.status == .disabled { try await RefreshTokenStore.revokeAll(tx, tenantID: scope.tenantID, principalID: id) }
            return principal
        }
        return PrincipalBody(principal)
    }
}
