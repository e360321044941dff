public import Foundation
public import JarvisStore
public import JarvisAudit

/// Storage gauges in PostgreSQL: the owning service reports an absolute value or a change.
public enum StorageGauges {
    public struct Gauge: Sendable {
        public let tenantID: UUID
        public let metric: QuotaMetric
        public let value: Int64
        public let updatedAt: Date
    }

    /// Sets (`value`) or changes (`delta`) a gauge, inside a tenant transaction. A change that would
    /// go below zero is refused. - Returns: the gauge after the report.
    public static func report(
        _ tx: Transaction, tenantID: UUID, metric: QuotaMetric, value: Int64?, delta: Int64?, actor: AuditActor
    ) async throws -> Gauge {
        guard metric.isGauge else { throw QuotaError.invalid("metric: must be storage_documents, storage_vectors or storage_bytes") }
        let rows: Rows
        if let value {
            rows = try await tx.query(
                """
                INSERT INTO storage_gauges (tenant_id, metric, value) VALUES ($1, $2, $3)
                ON CONFLICT (tenant_id, metric) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
                RETURNING value, updated_at
                """, [tenantID, metric.rawValue, value])
        } else {
            let change = delta ?? 0
            // Lowering a gauge never reported before would go below zero.
            if change < 0, try await tx.query("SELECT 1 FROM storage_gauges WHERE tenant_id = $1 AND metric = $2", [tenantID, metric.rawValue]).isEmpty {
                throw QuotaError.conflict("delta: would take \(metric.rawValue) below zero")
            }
            // An update that would go below zero matches no row and returns nothing.
            rows = try await tx.query(
                """
                INSERT INTO storage_gauges (tenant_id, metric, value) VALUES ($1, $2, greatest($3::bigint, 0))
                ON CONFLICT (tenant_id, metric) DO UPDATE SET value = storage_gauges.value + $3::bigint, updated_at = now()
                WHERE storage_gauges.value + $3::bigint >= 0
                RETURNING value, updated_at
                """, [tenantID, metric.rawValue, change])
        }
        guard let row = rows.first else { throw QuotaError.conflict("delta: would take \(metric.rawValue) below zero") }
        let gauge = Gauge(tenantID: tenantID, metric: metric, value: Int64(try row.int("value")), updatedAt: try row.date("updated_at"))
        var details: [String: AuditValue] = ["value": .int(Int(gauge.value))]
        if let delta { details["delta"] = .int(Int(delta)) }
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "storage.report", targetType: "storage_gauge", targetID: metric.rawValue, details: details)
        return gauge
    }

    static func load(_ platform: Database, tenantID: UUID) async throws -> [QuotaMetric: Int64] {
        let rows = try await platform.query("SELECT metric, value FROM storage_gauges WHERE tenant_id = $1", [tenantID], idempotent: true)
        var gauges: [QuotaMetric: Int64] = [:]
        for row in rows.all {
            if let metric = QuotaMetric(rawValue: try row.string("metric")) { gauges[metric] = Int64(try row.int("value")) }
        }
        return gauges
    }

    /// The gauges of many tenants in one statement (the background refresh's).
    static func load(_ platform: Database, tenantIDs: [UUID]) async throws -> [UUID: [QuotaMetric: Int64]] {
        let rows = try await platform.query(
            "SELECT tenant_id, metric, value FROM storage_gauges WHERE tenant_id = ANY($1::uuid[])",
            [TextArray(tenantIDs.map(\.lowercasedString))], idempotent: true)
        var all: [UUID: [QuotaMetric: Int64]] = [:]
        for row in rows.all {
            if let metric = QuotaMetric(rawValue: try row.string("metric")) { all[try row.uuid("tenant_id"), default: [:]][metric] = Int64(try row.int("value")) }
        }
        return all
    }
}
