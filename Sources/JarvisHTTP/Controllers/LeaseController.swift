internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisQuota
internal import JarvisStore

/// `/v1/leases`: concurrency slots (`concurrent_workflows`) for the caller's tenant, held by a
/// workflow run until released or until its heartbeats stop. Needs `workflow:execute`.
struct LeaseController {
    let services: AppServices
    let warnings: QuotaWarnings

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: acquire)
        group.post(":id/heartbeat", use: heartbeat)
        group.delete(":id", use: release)
    }

    func caller(_ context: JarvisRequestContext) throws -> Caller {
        let caller = try context.requireCaller()
        guard caller.allows("workflow:execute") else { throw AccessError.forbidden("workflow:execute") }
        return caller
    }

    @Sendable func acquire(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<LeaseBody> {
        let caller = try caller(context)
        let body = try await JSONBody.read(request, context: context, allowed: ["metric", "holder", "ttl_seconds"])
        let metric = try body.requiredString("metric", maxLength: 64)
        guard metric == QuotaMetric.concurrentWorkflows.rawValue else { throw Problem.invalid("metric: must be concurrent_workflows") }
        let holder = try body.requiredString("holder", maxLength: 200)
        guard !holder.isEmpty else { throw Problem.invalid("holder: must not be empty") }
        let ttl = Int(try body.integer("ttl_seconds", in: 1...3600) ?? 60)
        let (lease, crossed) = try await services.app.withTenant(caller.tenantID) { tx in
            try await LeaseStore.acquire(
                tx, tenantID: caller.tenantID, principalID: caller.principalID, apiKeyID: caller.apiKeyID, holder: holder, ttlSeconds: ttl,
                actor: context.auditActor)
        }
        crossed.forEach(warnings.note)
        return EditedResponse(status: .created, headers: [.location: "/v1/leases/\(lease.id.lowercasedString)"], response: LeaseBody(lease))
    }

    @Sendable func heartbeat(_ request: Request, context: JarvisRequestContext) async throws -> LeaseBody {
        let caller = try caller(context)
        let id = try context.uuidParameter("id")
        let lease = try await services.app.withTenant(caller.tenantID) { tx in try await LeaseStore.heartbeat(tx, tenantID: caller.tenantID, id: id) }
        return LeaseBody(lease)
    }

    @Sendable func release(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let caller = try caller(context)
        let id = try context.uuidParameter("id")
        try await services.app.withTenant(caller.tenantID) { tx in try await LeaseStore.release(tx, tenantID: caller.tenantID, id: id, actor: context.auditActor) }
        return Response(status: .noContent)
    }
}

struct LeaseBody: ResponseEncodable, Sendable {
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
