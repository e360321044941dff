public import Foundation
public import JarvisStore
public import JarvisAccess

/// Summaries of the day rollup, for `GET /tenants/{t}/usage`.
public struct UsageReports: Sendable {
    let app: Database

    public init(app: Database) { self.app = app }

    /// A summary for the days from `from` to `to` (inclusive, `YYYY-MM-DD`; default this month so
    /// far), grouped by day, month, model, model version, prompt version, principal or cost center
    /// (default day).
    public func summary(from: String?, to: String?, groupBy: String?, in scope: TenantScope) async throws -> Summary {
        let today = Self.day(Date())
        let first = try from.map { try Self.checkedDay($0, "from") } ?? String(today.prefix(8)) + "01"
        let last = try to.map { try Self.checkedDay($0, "to") } ?? today
        guard first <= last else { throw QuotaError.invalid("from: must not be after to") }
        let grouping: Grouping
        if let groupBy {
            guard let value = Grouping(rawValue: groupBy) else { throw QuotaError.invalid("group_by: must be one of \(Grouping.allCases.map(\.rawValue).joined(separator: ", "))") }
            grouping = value
        } else {
            grouping = .day
        }
        let lines = try await app.withTenant(scope.tenantID) { tx in
            try await Self.summary(tx, tenantID: scope.tenantID, from: first, to: last, by: grouping)
        }
        return Summary(from: first, to: last, grouping: grouping, lines: lines)
    }

    public struct Summary: Sendable {
        public let from: String
        public let to: String
        public let grouping: Grouping
        public let lines: [Line]
    }

    static func day(_ date: Date) -> String { String(Timestamp.format(date).prefix(10)) }

    /// A `YYYY-MM-DD` that is a real date.
    static func checkedDay(_ text: String, _ name: String) throws -> String {
        guard text.utf8.count == 10, let date = Timestamp.parse(text + "T00:00:00Z"), day(date) == text else {
            throw QuotaError.invalid("\(name): must be a date such as 2026-11-01")
        }
        return text
    }

    public enum Grouping: String, Sendable, CaseIterable {
        case day, month, model
        case modelVersion = "model_version"
        case promptVersion = "prompt_version"
        case principal
        case costCenter = "cost_center"
    }

    public struct Line: Sendable {
        /// Nil for usage reported without a principal (unattributed).
        public let key: String?
        public let events: Int64
        public let inputTokens: Int64
        public let outputTokens: Int64
        /// In micro-units of the price book's currency; events without a price add nothing here
        /// and are counted in `unpricedEvents`.
        public let costMicros: Int64
        public let unpricedEvents: Int64
    }

    /// - Parameters: first and last day (inclusive), as `YYYY-MM-DD`.
    static func summary(_ tx: Transaction, tenantID: UUID, from: String, to: String, by grouping: Grouping) async throws -> [Line] {
        // The grouping picks one of these fixed statements: no SQL is built from input. An empty
        // version or cost center is reported as null.
        let key: String
        switch grouping {
        case .day: key = "to_char(day, 'YYYY-MM-DD')"
        case .month: key = "to_char(day, 'YYYY-MM')"
        case .model: key = "model"
        case .modelVersion: key = "NULLIF(model_version, '')"
        case .promptVersion: key = "NULLIF(prompt_version, '')"
        case .costCenter: key = "NULLIF(cost_center, '')"
        // Events without a principal are rolled up under the nil uuid; they are reported as unattributed.
        case .principal: key = "NULLIF(principal_id, '00000000-0000-0000-0000-000000000000')::text"
        }
        let rows = try await tx.query(
            """
            SELECT \(key) AS key, sum(events) AS events, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
                   sum(cost_micros) AS cost_micros, sum(unpriced_events) AS unpriced_events
            FROM usage_daily WHERE tenant_id = $1 AND day BETWEEN $2::date AND $3::date
            GROUP BY 1 ORDER BY 1
            """, [tenantID, from, to])
        return try rows.all.map { row in
            Line(key: try row.optionalString("key"), events: Int64(try row.int("events")),
                 inputTokens: Int64(try row.int("input_tokens")), outputTokens: Int64(try row.int("output_tokens")),
                 costMicros: Int64(try row.int("cost_micros")), unpricedEvents: Int64(try row.int("unpriced_events")))
        }
    }

    /// Usage no price applied to, by model and version, for finance to price (then re-rate).
    public struct Unpriced: Sendable {
        public let model: String
        public let modelVersion: String?
        public let events: Int64
        public let inputTokens: Int64
        public let outputTokens: Int64
        public let first: Date
        public let last: Date
    }

    public func unpriced(in scope: TenantScope) async throws -> [Unpriced] {
        try await app.withTenant(scope.tenantID) { tx in
            try await tx.query(
                """
                SELECT model, model_version, count(*) AS events, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
                       min(occurred_at) AS first, max(occurred_at) AS last
                FROM usage_events WHERE tenant_id = $1 AND cost_micros IS NULL
                GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 1000
                """, [scope.tenantID]
            ).all.map { row in
                Unpriced(
                    model: try row.string("model"), modelVersion: try row.optionalString("model_version"), events: Int64(try row.int("events")),
                    inputTokens: Int64(try row.int("input_tokens")), outputTokens: Int64(try row.int("output_tokens")),
                    first: try row.date("first"), last: try row.date("last"))
            }
        }
    }
}
