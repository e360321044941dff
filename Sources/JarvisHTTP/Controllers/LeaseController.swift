internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisQuota
internal import JarvisStore

/// `/v1/leases`: concurrency slots (`concurrent_workflows`) for the caller's tenant, held by a
/// workflow run until released or until its heartbeats stop. Needs `workflow:execute`.
struct LeaseController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: acquire)
        group.post(":id/heartbeat", use: heartbeat)
        group.delete(":id", use: release)
    }

    struct Acquire: RequestBody {
        let metric: String
        let holder: String
        let ttlSeconds: WholeNumber?
        enum CodingKeys: String, CodingKey, CaseIterable { case metric, holder, ttlSeconds = "ttl_seconds" }
    }

    struct Body: ResponseEncodable, Sendable {
        let id: String
        let tenantId: String
        let metric: String
        let principalId: String
        let holder: String
        let ttlSeconds: Int
        let createdAt: Date
        let expiresAt: Date

        init(_ l: Lease) {
            id = l.id.lowercasedString
            tenantId = l.tenantID.lowercasedString
            metric = l.metric
            principalId = l.principalID.lowercasedString
            holder = l.holder
            ttlSeconds = l.ttlSeconds
            createdAt = l.createdAt
            expiresAt = l.expiresAt
        }
    }

    @Sendable func acquire(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<Body> {
        let scope = try services.ownScope(context, permission: "workflow:execute")
        let body = try await RequestDecoder.decode(Acquire.self, from: request, context: context)
        try Limits.text(body.metric, "metric", max: 64)
        try Limits.text(body.holder, "holder", max: 200)
        let ttl = Int(try body.ttlSeconds?.checked("ttl_seconds", in: 1...3600) ?? 60)
        let lease = try await services.leases.acquire(metric: body.metric, holder: body.holder, ttlSeconds: ttl, in: scope)
        return EditedResponse(status: .created, headers: [.location: "/v1/leases/\(lease.id.lowercasedString)"], response: Body(lease))
    }

    @Sendable func heartbeat(_ request: Request, context: JarvisRequestContext) async throws -> Body {
        let scope = try services.ownScope(context, permission: "workflow:execute")
        return Body(try await services.leases.heartbeat(try context.uuidParameter("id"), in: scope))
    }

    @Sendable func release(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try services.ownScope(context, permission: "workflow:execute")
        try await services.leases.release(try context.uuidParameter("id"), in: scope)
        return Response(status: .noContent)
    }
}
