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

    struct Create: RequestBody {
        let principalId: UUID
        let name: String
        let expiresAt: String?
        let costCenter: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case principalId = "principal_id", name, expiresAt = "expires_at", costCenter = "cost_center" }
    }

    struct Body: ResponseEncodable, Sendable {
        let id: String
        let tenantId: String
        let keyId: String
        let principalId: String
        let name: String
        let costCenter: String?
        let createdBy: String?
        let createdAt: Date
        let expiresAt: Date?
        let revokedAt: Date?
        let lastUsedAt: Date?
        /// The whole key: only in the response that created it.
        let key: String?

        init(_ k: APIKey, key: String? = nil) {
            id = k.id.lowercasedString
            tenantId = k.tenantID.lowercasedString
            keyId = k.keyID
            principalId = k.principalID.lowercasedString
            name = k.name
            costCenter = k.costCenter
            createdBy = k.createdBy?.lowercasedString
            createdAt = k.createdAt
            expiresAt = k.expiresAt
            revokedAt = k.revokedAt
            lastUsedAt = k.lastUsedAt
            self.key = key
        }
    }

    @Sendable func create(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<Body> {
        let scope = try await services.scope(context, permission: "admin:key")
        let body = try await RequestDecoder.decode(Create.self, from: request, context: context)
        let expiresAt = try body.expiresAt.map { try Timestamps.parse($0, "expires_at") }
        let (key, text) = try await services.apiKeys.create(
            for: body.principalId, name: body.name, expiresAt: expiresAt, costCenter: body.costCenter, in: scope)
        return EditedResponse(
            status: .created,
            headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/api-keys/\(key.id.lowercasedString)", .cacheControl: "no-store"],
            response: Body(key, key: text))
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<Body> {
        let scope = try await services.scope(context, permission: "admin:key")
        let page = try PageRequest(request)
        let rows = try await services.apiKeys.list(of: try request.uuidQuery("principal_id"), after: page.after, limit: page.limit, in: scope)
        return Page(rows: rows, limit: page.limit, id: \.id, map: { Body($0) })
    }

    @Sendable func get(_ request: Request, context: JarvisRequestContext) async throws -> Body {
        let scope = try await services.scope(context, permission: "admin:key")
        return Body(try await services.apiKeys.get(try context.uuidParameter("id"), in: scope))
    }

    /// Revokes; the key stops authenticating when this returns.
    @Sendable func revoke(_ request: Request, context: JarvisRequestContext) async throws -> Body {
        let scope = try await services.scope(context, permission: "admin:key")
        return Body(try await services.apiKeys.revoke(try context.uuidParameter("id"), in: scope))
    }
}
