public import Foundation
public import JarvisStore
public import Logging
internal import JarvisAudit
internal import JarvisQuota

/// Watches every budget's month so far: each threshold the spend reaches is raised once per month
/// — an alert row (its key makes "once" hold across instances), an audit event and a
/// `budget.threshold` delivery to the tenant's webhooks, in one transaction — within one pass
/// (`interval`) of the usage that crossed it committing.
public struct BudgetAlerts: Sendable {
    let platform: Database
    let logger: Logger
    let interval: Duration

    public init(platform: Database, logger: Logger, interval: Duration = .seconds(2)) {
        self.platform = platform
        self.logger = logger
        self.interval = interval
    }

    public var service: PeriodicService {
        PeriodicService("budget-alerts", every: interval, logger: logger) { try await self.pass() }
    }

    /// The body of a `budget.threshold` delivery.
    struct Payload: Encodable {
        var event = "budget.threshold"
        let tenantId: String
        let budgetId: String
        let costCenter: String?
        let period: String
        let thresholdPercent: Int
        let spentMicros: Int64
        let amountMicros: Int64
        let currency: String
        let hardStop: Bool
        let raisedAt: String
    }

    /// One pass: raises what is due. - Returns: how many alerts it raised.
    @discardableResult
    public func pass(now: Date = Date()) async throws -> Int {
        let period = Period(containing: now)
        let currency = try await PriceBook.currency(platform)
        return try await platform.withTransaction { tx in
            // Only budgets with a threshold not yet raised this month are summed.
            let raised = try await tx.query(
                """
                WITH due AS (
                    SELECT b.tenant_id, b.id, b.amount_micros, b.thresholds,
                           (SELECT COALESCE(sum(d.cost_micros), 0) FROM usage_daily d
                            WHERE d.tenant_id = b.tenant_id AND d.day >= $1::date AND d.day < $2::date
                              AND (b.cost_center IS NULL OR d.cost_center = b.cost_center::text)) AS spent
                    FROM budgets b
                    WHERE EXISTS (SELECT 1 FROM unnest(b.thresholds) t
                                  WHERE NOT EXISTS (SELECT 1 FROM budget_alerts a WHERE a.tenant_id = b.tenant_id AND a.budget_id = b.id
                                                                                    AND a.period = $1::date AND a.threshold = t))
                ), inserted AS (
                    INSERT INTO budget_alerts (tenant_id, budget_id, period, threshold, spent_micros, amount_micros)
                    SELECT due.tenant_id, due.id, $1::date, t, due.spent, due.amount_micros
                    FROM due CROSS JOIN LATERAL unnest(due.thresholds) t
                    WHERE due.spent::numeric * 100 >= due.amount_micros::numeric * t
                    ORDER BY 1, 2, 4
                    ON CONFLICT DO NOTHING
                    RETURNING tenant_id, budget_id, threshold, spent_micros, amount_micros, raised_at
                )
                SELECT i.*, b.cost_center, b.hard_stop FROM inserted i JOIN budgets b ON b.tenant_id = i.tenant_id AND b.id = i.budget_id
                ORDER BY i.tenant_id, i.budget_id, i.threshold
                """, [period.firstDay, period.next.firstDay])
            for row in raised.all {
                let tenantID = try row.uuid("tenant_id")
                let budgetID = try row.uuid("budget_id")
                let payload = Payload(
                    tenantId: tenantID.lowercasedString, budgetId: budgetID.lowercasedString, costCenter: try row.optionalString("cost_center"),
                    period: period.text, thresholdPercent: try row.int("threshold"), spentMicros: Int64(try row.int("spent_micros")),
                    amountMicros: Int64(try row.int("amount_micros")), currency: currency, hardStop: try row.bool("hard_stop"),
                    raisedAt: Timestamp.format(try row.date("raised_at")))
                try await AuditLog.record(
                    tx, tenantID: tenantID, actor: AuditActor(id: nil, kind: .system, requestID: nil, clientIP: nil),
                    action: "budget.threshold_crossed", targetType: "budget", targetID: budgetID.lowercasedString,
                    details: [
                        "period": .string(period.text), "threshold_percent": .int(payload.thresholdPercent),
                        "spent_micros": .int(Int(payload.spentMicros)), "amount_micros": .int(Int(payload.amountMicros)),
                        "cost_center": .optional(payload.costCenter),
                    ])
                try await WebhookStore.enqueue(tx, tenantID: tenantID, event: "budget.threshold", body: payload)
            }
            return raised.count
        }
    }
}
