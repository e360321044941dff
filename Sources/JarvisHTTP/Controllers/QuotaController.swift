internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisQuota
internal import JarvisStore

/// `/v1/tenants/{tenant}/quotas`: quota policies (`admin:quota`, audited) and their standing
/// (`/quotas/status`, readable with `tenant:read`).
struct QuotaController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(use: list)
        group.post(use: create)
        group.get("status", use: status)
        group.get("notifications", use: notifications)
        group.get(":id", use: get)
        group.patch(":id", use: update)
        group.delete(":id", use: delete)
    }

    struct Create: RequestBody {
        let subjectKind: QuotaSubject.Kind?
        let subjectId: UUID?
        let metric: QuotaMetric
        let limit: WholeNumber
        let burst: WholeNumber?
        let warnAtPercent: WholeNumber?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case subjectKind = "subject_kind", subjectId = "subject_id", metric, limit, burst, warnAtPercent = "warn_at_percent"
        }
    }

    struct Update: RequestBody {
        let limit: WholeNumber?
        /// `.some(nil)` clears it.
        let burst: WholeNumber??
        let warnAtPercent: WholeNumber?
        enum CodingKeys: String, CodingKey, CaseIterable { case limit, burst, warnAtPercent = "warn_at_percent" }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            limit = try container.decodeIfPresent(WholeNumber.self, forKey: .limit)
            burst = try container.decodeNullable(WholeNumber.self, forKey: .burst)
            warnAtPercent = try container.decodeIfPresent(WholeNumber.self, forKey: .warnAtPercent)
        }
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<QuotaPolicyBody> {
        let scope = try await services.scope(context, permission: "tenant:read")
        return Page(all: try await services.quotaPolicies.list(in: scope), map: QuotaPolicyBody.init)
    }

    @Sendable func get(_ request: Request, context: JarvisRequestContext) async throws -> QuotaPolicyBody {
        let scope = try await services.scope(context, permission: "tenant:read")
        return QuotaPolicyBody(try await services.quotaPolicies.get(try context.uuidParameter("id"), in: scope))
    }

    @Sendable func create(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<QuotaPolicyBody> {
        let scope = try await services.scope(context, permission: "admin:quota")
        let body = try await RequestDecoder.decode(Create.self, from: request, context: context)
        let kind = body.subjectKind ?? .tenant
        guard let subject = QuotaSubject(kind: kind, id: body.subjectId) else {
            throw Problem.invalid(kind == .tenant ? "subject_id: not allowed for a tenant-wide policy" : "subject_id: is required for a \(kind.rawValue) policy")
        }
        let definition = QuotaPolicyStore.Definition(
            subject: subject, metric: body.metric, limit: try body.limit.checked("limit", in: 0...1_000_000_000_000_000),
            burst: try body.burst?.checked("burst", in: 1...1_000_000_000),
            warnAtPercent: Int(try body.warnAtPercent?.checked("warn_at_percent", in: 1...100) ?? 80))
        let policy = try await services.quotaPolicies.create(definition, in: scope)
        return EditedResponse(
            status: .created, headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/quotas/\(policy.id.lowercasedString)"],
            response: QuotaPolicyBody(policy))
    }

    @Sendable func update(_ request: Request, context: JarvisRequestContext) async throws -> QuotaPolicyBody {
        let scope = try await services.scope(context, permission: "admin:quota")
        let id = try context.uuidParameter("id")
        let body = try await RequestDecoder.decode(Update.self, from: request, context: context)
        let burst: Int64?? = try body.burst.map { try $0?.checked("burst", in: 1...1_000_000_000) }
        return QuotaPolicyBody(try await services.quotaPolicies.update(
            id, limit: try body.limit?.checked("limit", in: 0...1_000_000_000_000_000), burst: burst,
            warnAtPercent: try body.warnAtPercent.map { Int(try $0.checked("warn_at_percent", in: 1...100)) }, in: scope))
    }

    @Sendable func delete(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try await services.scope(context, permission: "admin:quota")
        try await services.quotaPolicies.delete(try context.uuidParameter("id"), in: scope)
        return Response(status: .noContent)
    }

    @Sendable func status(_ request: Request, context: JarvisRequestContext) async throws -> QuotaStatusBody {
        let scope = try await services.scope(context, permission: "tenant:read")
        let statuses = try await services.quotaPolicies.status(in: scope)
        return QuotaStatusBody(tenantId: scope.tenantID.lowercasedString, limits: statuses.map(QuotaStatusBody.Limit.init))
    }

    /// The warnings raised for the tenant's limits, newest first.
    @Sendable func notifications(_ request: Request, context: JarvisRequestContext) async throws -> Page<NotificationBody> {
        let scope = try await services.scope(context, permission: "tenant:read")
        return Page(all: try await services.quotaPolicies.notifications(in: scope), map: NotificationBody.init)
    }
}

struct NotificationBody: Encodable, Sendable {
    let id: String
    let metric: String
    let subjectKind: String
    let subjectId: String?
    let window: String
    let thresholdPercent: Int
    let used: Int64
    let limit: Int64
    let createdAt: Date

    init(_ n: QuotaNotification) {
        id = n.id.lowercasedString
        metric = n.metric
        subjectKind = n.subjectKind
        subjectId = n.subjectID?.lowercasedString
        window = n.window
        thresholdPercent = n.thresholdPercent
        used = n.used
        limit = n.limit
        createdAt = n.createdAt
    }
}

struct QuotaPolicyBody: ResponseEncodable, Sendable {
    let id: String
    let tenantId: String
    let subjectKind: String
    let subjectId: String?
    let metric: String
    let limit: Int64
    let burst: Int64?
    let warnAtPercent: Int
    let createdAt: Date
    let updatedAt: Date

    init(_ p: QuotaPolicy) {
        id = p.id.lowercasedString
        tenantId = p.tenantID.lowercasedString
        subjectKind = p.subject.kind.rawValue
        subjectId = p.subject.id?.lowercasedString
        metric = p.metric.rawValue
        limit = p.limit
        burst = p.burst
        warnAtPercent = p.warnAtPercent
        createdAt = p.createdAt
        updatedAt = p.updatedAt
    }
}

struct QuotaStatusBody: ResponseEncodable, Sendable {
    struct Limit: Encodable, Sendable {
        /// Null for a plan's default (it has no policy row).
        let policyId: String?
        let source: String
        let subjectKind: String
        let subjectId: String?
        let metric: String
        let limit: Int64
        let burst: Int64?
        let used: Int64
        let reserved: Int64
        let remaining: Int64
        let resetsAt: Date

        init(_ s: QuotaStatus) {
            policyId = s.policy.stored ? s.policy.id.lowercasedString : nil
            source = s.policy.stored ? "policy" : "plan"
            subjectKind = s.policy.subject.kind.rawValue
            subjectId = s.policy.subject.id?.lowercasedString
            metric = s.policy.metric.rawValue
            limit = s.policy.limit
            burst = s.policy.metric == .requests ? s.policy.capacity : nil
            used = s.used
            reserved = s.reserved
            remaining = s.remaining
            resetsAt = s.resetsAt
        }
    }

    let tenantId: String
    let limits: [Limit]
}
