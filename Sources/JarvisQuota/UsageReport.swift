public import Foundation
public import JarvisStore

/// Summaries of the day rollup, for `GET /tenants/{t}/usage`.
public enum UsageReport {
    public enum Grouping: String, Sendable, CaseIterable {
        case day, model, principal
    }

    public struct Line: Sendable {
        /// Nil for usage reported without a principal (unattributed).
        public let key: String?
        public let events: Int64
        public let inputTokens: Int64
        public let outputTokens: Int64
    }

    /// - Parameters: first and last day (inclusive), as `YYYY-MM-DD`.
    public static func summary(_ tx: Transaction, tenantID: UUID, from: String, to: String, by grouping: Grouping) async throws -> [Line] {
        // The grouping picks one of three fixed statements: no SQL is built from input.
        let key: String
        switch grouping {
        case .day: key = "to_char(day, 'YYYY-MM-DD')"
        case .model: key = "model"
        // Events without a principal are rolled up under the nil uuid; they are reported as unattributed.
        case .principal: key = "NULLIF(principal_id, '00000000-0000-0000-0000-000000000000')::text"
        }
        let rows = try await tx.query(
            """
            SELECT \(key) AS key, sum(events) AS events, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens
            FROM usage_daily WHERE tenant_id = $1 AND day BETWEEN $2::date AND $3::date
            GROUP BY 1 ORDER BY 1
            """, [tenantID, from, to])
        return try rows.all.map { row in
            Line(key: try row.optionalString("key"), events: Int64(try row.int("events")),
                 inputTokens: Int64(try row.int("input_tokens")), outputTokens: Int64(try row.int("output_tokens")))
        }
    }
}
