internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisQuota
internal import JarvisStore

/// `/v1/tenants/{tenant}/quotas`: quota policies (`admin:quota`, audited) and their standing
/// (`/quotas/status`, readable with `tenant:read`).
struct QuotaController {
    let services: AppServices
    let engine: QuotaEngine

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(use: list)
        group.post(use: create)
        group.get("status", use: status)
        group.get("notifications", use: notifications)
        group.get(":id", use: get)
        group.patch(":id", use: update)
        group.delete(":id", use: delete)
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<QuotaPolicyBody> {
        let scope = try await services.scope(context, permission: "tenant:read")
        let policies = try await services.app.withTenant(scope.tenantID) { tx in try await QuotaPolicyStore.list(tx, tenantID: scope.tenantID) }
        return Page(all: policies, map: QuotaPolicyBody.init)
    }

    @Sendable func get(_ request: Request, context: JarvisRequestContext) async throws -> QuotaPolicyBody {
        let scope = try await services.scope(context, permission: "tenant:read")
        let id = try context.uuidParameter("id")
        let policy = try await services.app.withTenant(scope.tenantID) { tx in try await QuotaPolicyStore.get(tx, tenantID: scope.tenantID, id: id) }
        guard let policy else { throw Problem.notFound("no quota policy \(id.lowercasedString)") }
        return QuotaPolicyBody(policy)
    }

    static let createFields: Set<String> = ["subject_kind", "subject_id", "metric", "limit", "burst", "warn_at_percent"]

    @Sendable func create(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<QuotaPolicyBody> {
        let scope = try await services.scope(context, permission: "admin:quota")
        let body = try await JSONBody.read(request, context: context, allowed: Self.createFields)
        let kind = try body.choice("subject_kind", as: QuotaSubject.Kind.self) ?? .tenant
        let subjectID = try body.uuid("subject_id")
        guard let subject = QuotaSubject(kind: kind, id: subjectID) else {
            throw Problem.invalid(kind == .tenant ? "subject_id: not allowed for a tenant-wide policy" : "subject_id: is required for a \(kind.rawValue) policy")
        }
        guard let metric = try body.choice("metric", as: QuotaMetric.self) else { throw Problem.invalid("metric: is required") }
        let definition = QuotaPolicyStore.Definition(
            subject: subject, metric: metric, limit: try body.integer("limit", in: 0...1_000_000_000_000_000, required: true)!,
            burst: try body.integer("burst", in: 1...1_000_000_000),
            warnAtPercent: Int(try body.integer("warn_at_percent", in: 1...100) ?? 80))
        let policy = try await services.app.withTenant(scope.tenantID) { tx in
            try await Self.requireSubject(tx, tenantID: scope.tenantID, subject, caller: scope.caller)
            return try await QuotaPolicyStore.create(tx, tenantID: scope.tenantID, definition, actor: scope.actor)
        }
        return EditedResponse(
            status: .created, headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/quotas/\(policy.id.lowercasedString)"],
            response: QuotaPolicyBody(policy))
    }

    /// A principal or key policy must name one of the tenant's own (the query runs under its RLS),
    /// and a limit can lock its subject out, so the caller must be at least as strong as it.
    static func requireSubject(_ tx: Transaction, tenantID: UUID, _ subject: QuotaSubject, caller: Caller) async throws {
        switch subject {
        case .tenant: return
        case .principal(let id):
            guard try await !tx.query("SELECT 1 FROM principals WHERE tenant_id = $1 AND id = $2", [tenantID, id]).isEmpty else {
                throw Problem.invalid("subject_id: no principal \(id.lowercasedString) in this tenant")
            }
            try await PrincipalGuard.requireCovered(tx, tenantID: tenantID, principalID: id, by: caller)
        case .apiKey(let id):
            guard let owner = try await tx.query("SELECT principal_id FROM api_keys WHERE tenant_id = $1 AND id = $2", [tenantID, id]).first else {
                throw Problem.invalid("subject_id: no API key \(id.lowercasedString) in this tenant")
            }
            try await PrincipalGuard.requireCovered(tx, tenantID: tenantID, principalID: try owner.uuid("principal_id"), by: caller)
        }
    }

    @Sendable func update(_ request: Request, context: JarvisRequestContext) async throws -> QuotaPolicyBody {
        let scope = try await services.scope(context, permission: "admin:quota")
        let id = try context.uuidParameter("id")
        let body = try await JSONBody.read(request, context: context, allowed: ["limit", "burst", "warn_at_percent"])
        let limit = try body.integer("limit", in: 0...1_000_000_000_000_000)
        let burst: Int64?? = body.isNull("burst") ? .some(nil) : try body.integer("burst", in: 1...1_000_000_000).map { .some($0) }
        let warn = try body.integer("warn_at_percent", in: 1...100).map(Int.init)
        let policy = try await services.app.withTenant(scope.tenantID) { tx in
            let policy = try await QuotaPolicyStore.update(
                tx, tenantID: scope.tenantID, id: id, limit: limit, burst: burst, warnAtPercent: warn, actor: scope.actor)
            try await Self.requireSubject(tx, tenantID: scope.tenantID, policy.subject, caller: scope.caller)
            return policy
        }
        return QuotaPolicyBody(policy)
    }

    @Sendable func delete(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try await services.scope(context, permission: "admin:quota")
        let id = try context.uuidParameter("id")
        try await services.app.withTenant(scope.tenantID) { tx in
            try await QuotaPolicyStore.delete(tx, tenantID: scope.tenantID, id: id, actor: scope.actor)
        }
        return Response(status: .noContent)
    }

    @Sendable func status(_ request: Request, context: JarvisRequestContext) async throws -> QuotaStatusBody {
        let scope = try await services.scope(context, permission: "tenant:read")
        let statuses = try await engine.status(tenantID: scope.tenantID)
        return QuotaStatusBody(tenantId: scope.tenantID.lowercasedString, limits: statuses.map(QuotaStatusBody.Limit.init))
    }
}

extension QuotaController {
    /// The warnings raised for the tenant's limits, newest first.
    @Sendable func notifications(_ request: Request, context: JarvisRequestContext) async throws -> Page<NotificationBody> {
        let scope = try await services.scope(context, permission: "tenant:read")
        let rows = try await services.app.withTenant(scope.tenantID) { tx in
            try await tx.query(
                """
                SELECT id, metric, subject_kind, subject_id, window_key, threshold_percent, used, "limit", created_at
                FROM quota_notifications WHERE tenant_id = $1 ORDER BY id DESC LIMIT 200
                """, [scope.tenantID]).all
        }
        return try Page(all: rows.map { row in
            NotificationBody(
                id: try row.uuid("id").lowercasedString, metric: try row.string("metric"), subjectKind: try row.string("subject_kind"),
                subjectId: try row.optionalUUID("subject_id")?.lowercasedString, window: try row.string("window_key"),
                thresholdPercent: try row.int("threshold_percent"), used: Int64(try row.int("used")), limit: Int64(try row.int("limit")),
                createdAt: try row.date("created_at"))
        }) { $0 }
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
