internal import struct Foundation.UUID
internal import struct Foundation.Date
internal import JarvisStore
internal import JarvisAudit
internal import JarvisTenancy

/// Quota policies in PostgreSQL: changed inside a tenant transaction (audited; triggers tell
/// every instance), read by the engine through the platform pool.
public enum QuotaPolicyStore {
    static let columns = "id, tenant_id, subject_kind, subject_id, metric, \"limit\", burst, warn_at_percent, created_at, updated_at"

    /// What a policy is made of (the subject and metric cannot change after creation).
    public struct Definition: Sendable {
        public var subject: QuotaSubject
        public var metric: QuotaMetric
        public var limit: Int64
        public var burst: Int64?
        public var warnAtPercent: Int

        public init(subject: QuotaSubject, metric: QuotaMetric, limit: Int64, burst: Int64?, warnAtPercent: Int) {
            self.subject = subject
            self.metric = metric
            self.limit = limit
            self.burst = burst
            self.warnAtPercent = warnAtPercent
        }

        func validate() throws(QuotaError) {
            guard metric.isPolicyMetric else { throw .invalid("metric: budgets in money are set under /budgets") }
            guard subject.kind.isPolicySubject else { throw .invalid("subject_kind: must be tenant, principal or api_key") }
            guard limit >= 0, limit <= 1_000_000_000_000_000 else { throw .invalid("limit: must be from 0 to 10^15") }
            if let burst {
                guard metric == .requests else { throw .invalid("burst: only for the requests metric") }
                guard burst >= 1, burst <= 1_000_000_000 else { throw .invalid("burst: must be from 1 to 10^9") }
            }
            guard (1...100).contains(warnAtPercent) else { throw .invalid("warn_at_percent: must be from 1 to 100") }
            if metric.isGauge, subject != .tenant {
                throw .invalid("storage limits apply to the whole tenant (its gauges are tenant-wide)")
            }
            if metric.isTokens, case .apiKey = subject {
                throw .invalid("token budgets apply to the tenant or a principal; usage events do not name API keys")
            }
        }
    }

    static func decode(_ row: Row) throws -> QuotaPolicy {
        let kind = QuotaSubject.Kind(rawValue: try row.string("subject_kind")) ?? .tenant
        guard let subject = QuotaSubject(kind: kind, id: try row.optionalUUID("subject_id")),
            let metric = QuotaMetric(rawValue: try row.string("metric"))
        else { throw StoreError.decoding("quota policy with an unknown subject or metric") }
        return QuotaPolicy(
            id: try row.uuid("id"), tenantID: try row.uuid("tenant_id"), subject: subject, metric: metric,
            limit: Int64(try row.int("limit")), burst: try row.optionalInt("burst").map(Int64.init),
            warnAtPercent: try row.int("warn_at_percent"), createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"))
    }

    static func list(_ tx: Transaction, tenantID: UUID) async throws -> [QuotaPolicy] {
        let rows = try await tx.query(
            "SELECT \(columns) FROM quota_policies WHERE tenant_id = $1 AND metric = ANY($2::text[]) ORDER BY id",
            [tenantID, TextArray(QuotaMetric.allCases.map(\.rawValue))])
        return try rows.all.map(decode)
    }

    static func get(_ tx: Transaction, tenantID: UUID, id: UUID) async throws -> QuotaPolicy? {
        let rows = try await tx.query("SELECT \(columns) FROM quota_policies WHERE tenant_id = $1 AND id = $2", [tenantID, id])
        return try rows.first.map(decode)
    }

    /// The tenant's policies plus its plan's defaults for metrics it has no tenant-wide policy for.
    static func effective(_ platform: Database, tenantID: UUID, plans: PlanQuotas, tenants: Tenants) async throws -> [QuotaPolicy] {
        let rows = try await platform.query(
            "SELECT \(columns) FROM quota_policies WHERE tenant_id = $1 AND metric = ANY($2::text[])",
            [tenantID, TextArray(QuotaMetric.allCases.map(\.rawValue))], idempotent: true)
        var policies = try rows.all.map(decode)
        guard !plans.plans.isEmpty, let tenant = try await tenants.get(tenantID.lowercasedString), let defaults = plans.plans[tenant.plan] else {
            return policies
        }
        let created = tenant.createdAt
        for limit in defaults where !policies.contains(where: { $0.subject == .tenant && $0.metric == limit.metric }) {
            policies.append(QuotaPolicy(
                id: UUID(uuidString: "00000000-0000-0000-0000-00000000000\(QuotaMetric.allCases.firstIndex(of: limit.metric)! + 1)")!,
                tenantID: tenantID, subject: .tenant, metric: limit.metric, limit: limit.limit, burst: limit.burst,
                warnAtPercent: 80, createdAt: created, updatedAt: created, stored: false))
        }
        return policies
    }

    static func create(_ tx: Transaction, tenantID: UUID, _ definition: Definition, actor: AuditActor) async throws -> QuotaPolicy {
        try definition.validate()
        let rows = try await tx.query(
            """
            INSERT INTO quota_policies (tenant_id, id, subject_kind, subject_id, metric, "limit", burst, warn_at_percent, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            RETURNING \(columns)
            """,
            [tenantID, UUIDv7.make(), definition.subject.kind.rawValue, definition.subject.id, definition.metric.rawValue,
             definition.limit, definition.burst, definition.warnAtPercent, actor.id],
            onConflict: QuotaError.conflict("a \(definition.metric.rawValue) policy for this subject exists; change it instead"))
        guard let row = rows.first else { throw StoreError.decoding("insert returned no row") }
        let policy = try decode(row)
        tx.noteChange(tenantID)
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "quota_policy.create", targetType: "quota_policy",
            targetID: policy.id.lowercasedString, details: auditDetails(policy))
        return policy
    }

    static func update(
        _ tx: Transaction, tenantID: UUID, id: UUID, limit: Int64?, burst: Int64??, warnAtPercent: Int?, actor: AuditActor
    ) async throws -> QuotaPolicy {
        guard let current = try await get(tx, tenantID: tenantID, id: id) else { throw QuotaError.notFound("quota policy \(id.lowercasedString)") }
        let definition = Definition(
            subject: current.subject, metric: current.metric, limit: limit ?? current.limit,
            burst: burst ?? current.burst, warnAtPercent: warnAtPercent ?? current.warnAtPercent)
        try definition.validate()
        let rows = try await tx.query(
            """
            UPDATE quota_policies SET "limit" = $3, burst = $4, warn_at_percent = $5, updated_at = now()
            WHERE tenant_id = $1 AND id = $2 RETURNING \(columns)
            """, [tenantID, id, definition.limit, definition.burst, definition.warnAtPercent])
        guard let row = rows.first else { throw QuotaError.notFound("quota policy \(id.lowercasedString)") }
        let policy = try decode(row)
        tx.noteChange(tenantID)
        var details = auditDetails(policy)
        details["previous_limit"] = .int(Int(current.limit))
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "quota_policy.update", targetType: "quota_policy",
            targetID: id.lowercasedString, details: details)
        return policy
    }

    static func delete(_ tx: Transaction, tenantID: UUID, id: UUID, actor: AuditActor) async throws {
        let rows = try await tx.query("DELETE FROM quota_policies WHERE tenant_id = $1 AND id = $2 RETURNING \(columns)", [tenantID, id])
        guard let row = rows.first else { throw QuotaError.notFound("quota policy \(id.lowercasedString)") }
        tx.noteChange(tenantID)
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "quota_policy.delete", targetType: "quota_policy",
            targetID: id.lowercasedString, details: auditDetails(try decode(row)))
    }

    static func auditDetails(_ policy: QuotaPolicy) -> [String: AuditValue] {
        var details: [String: AuditValue] = [
            "subject_kind": .string(policy.subject.kind.rawValue), "metric": .string(policy.metric.rawValue),
            "limit": .int(Int(policy.limit)), "warn_at_percent": .int(policy.warnAtPercent),
        ]
        if let id = policy.subject.id { details["subject_id"] = .string(id.lowercasedString) }
        if let burst = policy.burst { details["burst"] = .int(Int(burst)) }
        return details
    }
}
