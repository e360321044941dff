internal import Hummingbird
internal import JarvisAccess
internal import Foundation
internal import JarvisIdentity
internal import JarvisStore

/// `/v1/tenants/{tenant}/api-keys`: create (the key is shown once), list, get, revoke.
struct APIKeyController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":id", use: get)
        group.delete(":id", use: revoke)
    }

    @Sendable func create(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<APIKeyBody> {
        let scope = try await services.scope(context, permission: "admin:key")
        let body = try await JSONBody.read(request, context: context, allowed: ["principal_id", "name", "expires_at"])
        let principalID = try body.uuid("principal_id", required: true)!
        let name = try body.requiredString("name", maxLength: 200)
        let expiresAt = try body.timestamp("expires_at")
        let store = services.apiKeys
        let (key, text) = try await services.app.withTenant(scope.tenantID) { tx in
            try await store.create(
                tx, tenantID: scope.tenantID, principalID: principalID, name: name, expiresAt: expiresAt,
                caller: scope.caller, actor: scope.actor)
        }
        return EditedResponse(
            status: .created,
            headers: [
                .location: "/v1/tenants/\(scope.tenantID.lowercasedString)/api-keys/\(key.id.lowercasedString)",
                .cacheControl: "no-store",
            ],
            response: APIKeyBody(key, key: text))
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<APIKeyBody> {
        let scope = try await services.scope(context, permission: "admin:key")
        let page = try PageRequest(request)
        let principalID = try request.uuidQuery("principal_id")
        let rows = try await services.app.withTenant(scope.tenantID) { tx in
            try await APIKeyStore.list(tx, tenantID: scope.tenantID, principalID: principalID, after: page.after, limit: page.limit)
        }
        return Page(rows: rows, limit: page.limit, id: \.id, map: { APIKeyBody($0) })
    }

    @Sendable func get(_ request: Request, context: JarvisRequestContext) async throws -> APIKeyBody {
        let scope = try await services.scope(context, permission: "admin:key")
        let id = try context.uuidParameter("id")
        let key = try await services.app.withTenant(scope.tenantID) { tx in
            try await APIKeyStore.get(tx, tenantID: scope.tenantID, id: id)
        }
        guard let key else { throw Problem.notFound("no api key \(id.lowercasedString)") }
        return APIKeyBody(key)
    }

    /// Revokes; the key stops authenticating when this returns.
    @Sendable func revoke(_ request: Request, context: JarvisRequestContext) async throws -> APIKeyBody {
        let scope = try await services.scope(context, permission: "admin:key")
        let id = try context.uuidParameter("id")
        let key = try await services.app.withTenant(scope.tenantID) { tx in
            try await APIKeyStore.revoke(tx, tenantID: scope.tenantID, id: id, caller: scope.caller, actor: scope.actor)
        }
        return APIKeyBody(key)
    }
}
