internal import Hummingbird
internal import JarvisAccess
internal import Foundation
internal import JarvisAudit
internal import JarvisStore

/// `GET /v1/tenants/{tenant}/audit-events`: newest first, filtered by action, actor and time.
struct AuditController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(use: list)
    }

    func addVerifyRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get("verify", use: verify)
    }

    struct Verification: ResponseEncodable, Sendable {
        struct Break: Encodable, Sendable {
            let seq: Int64
            let eventId: String?
            let kind: String
        }

        let tenantId: String
        let intact: Bool
        let checked: Int64
        let headSeq: Int64
        let headHash: String
        let unsealed: Int64
        let firstBreak: Break?

        init(_ r: AuditVerifier.Report) {
            tenantId = r.tenantID.lowercasedString
            intact = r.intact
            checked = r.checked
            headSeq = r.headSeq
            headHash = r.headHash
            unsealed = r.unsealed
            firstBreak = r.firstBreak.map { Break(seq: $0.seq, eventId: $0.eventID?.lowercasedString, kind: $0.kind.rawValue) }
        }
    }

    /// `GET …/audit/verify`: the tenant's chain recomputed, with the first broken link if any.
    @Sendable func verify(_ request: Request, context: JarvisRequestContext) async throws -> Verification {
        let scope = try await services.scope(context, permission: "audit:read")
        return Verification(try await services.auditVerifier.verify(tenantID: scope.tenantID))
    }

    struct Body: ResponseEncodable, Sendable {
        let id: String
        let tenantId: String
        let occurredAt: Date
        let actorId: String?
        let actorKind: String
        let action: String
        let targetType: String
        let targetId: String?
        let requestId: String?
        let clientIp: String?
        let outcome: String
        let details: [String: AuditValue]

        init(_ e: AuditEvent) {
            id = e.id.lowercasedString
            tenantId = e.tenantID.lowercasedString
            occurredAt = e.occurredAt
            actorId = e.actorID?.lowercasedString
            actorKind = e.actorKind.rawValue
            action = e.action
            targetType = e.targetType
            targetId = e.targetID
            requestId = e.requestID
            clientIp = e.clientIP
            outcome = e.outcome.rawValue
            details = e.details
        }
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<Body> {
        let scope = try await services.scope(context, permission: "audit:read")
        let page = try PageRequest(request)
        var filter = AuditLog.Filter(before: page.after, limit: page.limit)
        if let action = request.query("action") {
            guard (1...100).contains(action.unicodeScalars.count) else { throw Problem.invalid("action: must be 1-100 characters") }
            filter.action = action
        }
        filter.actorID = try request.uuidQuery("actor_id")
        filter.since = try request.query("since").map { try Timestamps.parse($0, "since") }
        filter.until = try request.query("until").map { try Timestamps.parse($0, "until") }
        let rows = try await services.audit.list(tenantID: scope.tenantID, filter)
        return Page(rows: rows, limit: page.limit, id: \.id, map: Body.init)
    }
}
