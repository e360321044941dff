public import Foundation
public import JarvisAccess
public import JarvisStore

/// Finance exports of usage and cost from the day rollup, streamed straight out of PostgreSQL
/// (`COPY … TO STDOUT`): rows go to the caller as the database produces them, so a year of every
/// tenant never sits in memory. Money is exact: integer micro-units, and a decimal with six places
/// computed in `numeric`.
public struct UsageExport: Sendable {
    let app: Database
    let platform: Database

    public init(app: Database, platform: Database) {
        self.app = app
        self.platform = platform
    }

    public enum Format: String, Sendable, CaseIterable {
        /// RFC 4180, with a header row.
        case csv
        /// One JSON object per line.
        case jsonl
        /// The FinOps FOCUS 1.0 column set, as CSV: one row per tenant, day, model version and cost center.
        case focus

        public var mediaType: String {
            switch self {
            case .csv, .focus: return "text/csv; charset=utf-8"
            case .jsonl: return "application/x-ndjson"
            }
        }
    }

    public enum Dimension: String, Sendable, CaseIterable {
        case tenant, day, month, model
        case modelVersion = "model_version"
        case promptVersion = "prompt_version"
        case principal
        case costCenter = "cost_center"

        /// The dimension's columns: name, how the renderer writes it, and its value over the
        /// rollup rows `d` (or the aggregated groups `g`), in fixed text chosen by the dimension.
        func outputs(over rows: String) -> [(name: String, kind: ExportRenderer.Kind, value: String)] {
            switch self {
            case .tenant: return [("tenant", .text, "t.slug"), ("tenant_id", .uuid, "\(rows).tenant_id")]
            case .day: return [("day", .day, "\(rows).day")]
            case .month: return [("month", .month, rows == "g" ? "g.month" : "date_trunc('month', d.day)::date")]
            case .model: return [("model", .text, "\(rows).model")]
            case .modelVersion: return [("model_version", .text, "NULLIF(\(rows).model_version, '')")]
            case .promptVersion: return [("prompt_version", .text, "NULLIF(\(rows).prompt_version, '')")]
            case .principal: return [("principal_id", .uuid, "NULLIF(\(rows).principal_id, '00000000-0000-0000-0000-000000000000')")]
            case .costCenter: return [("cost_center", .text, "NULLIF(\(rows).cost_center, '')")]
            }
        }

        /// The grouping key inside the aggregation (rollup columns only, so PostgreSQL estimates the
        /// groups from the rollup's statistics and hashes them).
        var key: String {
            switch self {
            case .tenant: return "d.tenant_id"
            case .day: return "d.day"
            case .month: return "date_trunc('month', d.day)::date AS month"
            case .model: return "d.model"
            case .modelVersion: return "d.model_version"
            case .promptVersion: return "d.prompt_version"
            case .principal: return "d.principal_id"
            case .costCenter: return "d.cost_center"
            }
        }
    }

    /// What to export: days `from` to `to` inclusive (`YYYY-MM-DD`), grouped by `groupBy` (in that order).
    public struct Query: Sendable {
        public var from: String
        public var to: String
        public var groupBy: [Dimension]
        public var format: Format

        /// The first and last day as dates (both were checked when the query was made).
        var fromDay: Date { Timestamp.parse(from + "T00:00:00Z") ?? Date(timeIntervalSince1970: 0) }
        var toDay: Date { Timestamp.parse(to + "T00:00:00Z") ?? Date(timeIntervalSince1970: 0) }

        public init(from: String, to: String, groupBy: [Dimension], format: Format) {
            self.from = from
            self.to = to
            self.groupBy = groupBy
            self.format = format
        }

        /// Checks and reads the query parameters as the HTTP API and the command line take them.
        public static func parse(from: String?, to: String?, groupBy: String?, format: String?, now: Date = Date()) throws(BillingError) -> Query {
            let today = String(Timestamp.format(now).prefix(10))
            let first = try from.map { text throws(BillingError) in try Self.day(text, "from") } ?? String(today.prefix(8)) + "01"
            let last = try to.map { text throws(BillingError) in try Self.day(text, "to") } ?? today
            guard first <= last else { throw .invalid("from: must not be after to") }
            guard let lastDate = Timestamp.parse(last + "T00:00:00Z"), let firstDate = Timestamp.parse(first + "T00:00:00Z"),
                lastDate.timeIntervalSince(firstDate) <= 3 * 366 * 86_400
            else { throw .invalid("to: at most three years after from") }
            let chosenFormat: Format
            if let format {
                guard let value = Format(rawValue: format) else { throw .invalid("format: must be csv, jsonl or focus") }
                chosenFormat = value
            } else {
                chosenFormat = .csv
            }
            var dimensions: [Dimension] = []
            for name in (groupBy ?? "day,model").split(separator: ",", omittingEmptySubsequences: false) {
                guard let dimension = Dimension(rawValue: String(name)) else {
                    throw .invalid("group_by: a comma-separated list of \(Dimension.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                guard !dimensions.contains(dimension) else { throw .invalid("group_by: '\(dimension.rawValue)' given twice") }
                dimensions.append(dimension)
            }
            return Query(from: first, to: last, groupBy: dimensions, format: chosenFormat)
        }

        static func day(_ text: String, _ name: String) throws(BillingError) -> String {
            guard text.utf8.count == 10, let date = Timestamp.parse(text + "T00:00:00Z"), Timestamp.format(date).hasPrefix(text) else {
                throw .invalid("\(name): must be a date such as 2026-11-01")
            }
            return text
        }
    }

    /// Streams one tenant's export to `write`.
    public func export(_ query: Query, in scope: TenantScope, write: ([UInt8]) async throws -> Void) async throws {
        let currency = try await PriceBook.currency(platform)
        try await app.withTenant(scope.tenantID) { tx in
            try await Self.run(tx, query, currency: currency, tenantID: scope.tenantID, write: write)
        }
    }

    /// Streams every tenant's export (platform finance) to `write`.
    /// - Throws: `AccessError.forbidden` unless the caller is a platform principal allowed `billing:export`.
    public func exportAll(_ query: Query, caller: Caller, write: ([UInt8]) async throws -> Void) async throws {
        try Self.requirePlatformFinance(caller)
        let currency = try await PriceBook.currency(platform)
        try await platform.withTransaction { tx in
            try await Self.run(tx, query, currency: currency, tenantID: nil, write: write)
        }
    }

    /// Every tenant's figures are platform finance's: a platform principal allowed `billing:export`.
    /// (Callers check it before they start answering, so a refusal is a 403, not a cut stream.)
    public static func requirePlatformFinance(_ caller: Caller) throws(AccessError) {
        guard caller.tenantID == PlatformTenant.id, caller.allows("billing:export") else { throw .forbidden("billing:export") }
    }

    /// Streams one tenant's export, or every tenant's (`tenantID` nil), for the command line: its
    /// operator holds the platform database's credentials, so no caller is checked.
    public func exportAsOperator(_ query: Query, tenantID: UUID?, write: ([UInt8]) async throws -> Void) async throws {
        let currency = try await PriceBook.currency(platform)
        try await platform.withTransaction { tx in
            try await Self.run(tx, query, currency: currency, tenantID: tenantID, write: write)
        }
    }

    /// The longest one export may take.
    static let exportTimeout: Duration = .seconds(3_600)

    static func run(
        _ tx: Transaction, _ query: Query, currency: String, tenantID: UUID?, write: ([UInt8]) async throws -> Void
    ) async throws {
        // A long export is one statement: it may run past the usual statement timeout, and its
        // aggregation gets the memory to hash every group of a month without spilling to disk.
        try await tx.query(
            """
            SELECT set_config('statement_timeout', '\(exportTimeout.components.seconds)s', true), set_config('work_mem', '64MB', true),
                   set_config('jarvis.export_currency', $1, true)
            """, [currency])
        let plan = plan(query, tenantID: tenantID, currency: currency)
        guard let renderer = plan.renderer else {
            try await tx.copyOut(plan.sql, timeout: exportTimeout, write)
            return
        }
        let header = renderer.header
        if !header.isEmpty { try await write(header) }
        var reader = BinaryCopyReader()
        try await tx.copyOut(plan.sql, timeout: exportTimeout) { chunk in
            var out: [UInt8] = []
            out.reserveCapacity(chunk.count * 2)
            try reader.read(chunk) { row in renderer.render(row, into: &out) }
            if !out.isEmpty { try await write(out) }
        }
        guard reader.isComplete else { throw StoreError.decoding("the export's COPY ended before its end marker") }
    }

    /// The key of the day rollup: grouping by all of it leaves every row as it is.
    static let rollupKey: Set<Dimension> = [.tenant, .day, .principal, .model, .modelVersion, .promptVersion, .costCenter]

    /// The measures of each row or group, as `int8` fields (sums of `bigint` are `numeric`: cast
    /// back, so the renderer reads eight bytes, never a numeric's digits).
    static let measureNames = ["requests", "input_tokens", "output_tokens", "cost_micros", "unpriced_requests"]
    static let rollupMeasures = ["d.events", "d.input_tokens", "d.output_tokens", "d.cost_micros", "d.unpriced_events"]

    /// The COPY statement and, for CSV and JSON Lines (binary COPY), the renderer of its rows;
    /// FOCUS is rendered by PostgreSQL (text COPY). Besides fixed fragments chosen by the format
    /// and the dimensions, the statement holds the days and the tenant as literals rendered from
    /// typed values (`SQLLiteral`): COPY takes no parameters, and the planner must see the range to
    /// scan a month in parallel and hash its groups.
    static func plan(_ query: Query, tenantID: UUID?, currency: String) -> (sql: String, renderer: ExportRenderer?) {
        let needsTenants = query.format == .focus || query.groupBy.contains(.tenant)
        var range = "d.day BETWEEN \(SQLLiteral.date(query.fromDay)) AND \(SQLLiteral.date(query.toDay))"
        if let tenantID { range += " AND d.tenant_id = \(SQLLiteral.uuid(tenantID))" }
        let filter = "FROM usage_daily d\(needsTenants ? " JOIN tenants t ON t.id = d.tenant_id" : "") WHERE \(range)"
        let format: ExportRenderer.Format
        switch query.format {
        case .focus:
            let currencyValue = "(SELECT current_setting('jarvis.export_currency'))"
            return ("COPY (\(focusSelect(filter, currency: currencyValue))) TO STDOUT WITH (FORMAT csv, HEADER true)", nil)
        case .csv: format = .csv
        case .jsonl: format = .jsonl
        }
        let grouped = !query.groupBy.isEmpty && !rollupKey.isSubset(of: Set(query.groupBy))
        let fewGroups = grouped && !query.groupBy.contains(.day) && !query.groupBy.contains(.principal)
        let dimensions = query.groupBy.flatMap { $0.outputs(over: fewGroups ? "g" : "d") }
        let positions = dimensions.indices.map { String($0 + 1) }.joined(separator: ", ")
        let select: String
        if query.groupBy.isEmpty {
            select = "SELECT \(rollupMeasures.map { "sum(\($0))::int8" }.joined(separator: ", ")) \(filter)"
        } else if !grouped {
            // The finest grain: the rollup's rows are the answer, with no aggregation to wait for.
            select = "SELECT \((dimensions.map(\.value) + rollupMeasures).joined(separator: ", ")) \(filter)"
        } else if !fewGroups {
            // Groups nearly as many as the rows: one sort that both groups and orders them.
            let sums = rollupMeasures.map { "sum(\($0))::int8" }
            select = "SELECT \((dimensions.map(\.value) + sums).joined(separator: ", ")) \(filter) GROUP BY \(positions) ORDER BY \(positions)"
        } else {
            // Few groups (by month, tenant, model…): aggregated over the rollup alone, then named
            // (the tenant's slug joined to one row per group), so the planner sees their number
            // from the rollup's statistics (migration 0025) and hashes them.
            let keys = query.groupBy.map(\.key)
            let sums = zip(rollupMeasures, measureNames).map { "sum(\($0)) AS \($1)" }
            let inner = """
                SELECT \(keys.joined(separator: ", ")), \(sums.joined(separator: ", "))
                FROM usage_daily d WHERE \(range)
                GROUP BY \(keys.indices.map { String($0 + 1) }.joined(separator: ", "))
                """
            select = """
                SELECT \((dimensions.map(\.value) + measureNames.map { "g.\($0)::int8" }).joined(separator: ", "))
                FROM (\(inner)) g\(query.groupBy.contains(.tenant) ? " JOIN tenants t ON t.id = g.tenant_id" : "")
                ORDER BY \(positions)
                """
        }
        var columns = dimensions.enumerated().map { ExportRenderer.Column(name: $0.element.name, kind: $0.element.kind, field: $0.offset) }
        let first = dimensions.count
        columns += [
            .init(name: "requests", kind: .integer, field: first),
            .init(name: "input_tokens", kind: .integer, field: first + 1),
            .init(name: "output_tokens", kind: .integer, field: first + 2),
            .init(name: "cost_micros", kind: .integer, field: first + 3),
            .init(name: "cost", kind: .micros, field: first + 3),
            .init(name: "currency", kind: .constant(currency), field: 0),
            .init(name: "unpriced_requests", kind: .integer, field: first + 4),
        ]
        return ("COPY (\(select)) TO STDOUT WITH (FORMAT binary)", ExportRenderer(columns: columns, format: format))
    }

    /// FOCUS 1.0: every column of the specification (the nullable ones this platform has no value
    /// for are empty), costs and quantities as decimals (pricing per million tokens, as the price book
    /// prices), periods as UTC ISO 8601 times, and `x_` columns of our own. Two columns repeat others
    /// for the FinOps Foundation's validator (focus-validator 1.0.0), whose 1.0 rules still read them:
    /// `ResourceID` (`ResourceId`) and `ChargeType` (`ChargeCategory`).
    static func focusSelect(_ filter: String, currency: String) -> String {
        """
        SELECT NULL::text AS "AvailabilityZone",
               (sum(d.cost_micros)::numeric * 0.000001) AS "BilledCost",
               d.tenant_id::text AS "BillingAccountId", t.slug AS "BillingAccountName",
               \(currency) AS "BillingCurrency",
               to_char(date_trunc('month', d.day) + interval '1 month', 'YYYY-MM-DD"T"00:00:00"Z"') AS "BillingPeriodEnd",
               to_char(date_trunc('month', d.day), 'YYYY-MM-DD"T"00:00:00"Z"') AS "BillingPeriodStart",
               'Usage' AS "ChargeCategory", NULL::text AS "ChargeClass", 'Usage' AS "ChargeType",
               'Tokens of ' || d.model || COALESCE(' ' || NULLIF(d.model_version, ''), '') AS "ChargeDescription",
               'Usage-Based' AS "ChargeFrequency",
               to_char(d.day + 1, 'YYYY-MM-DD"T"00:00:00"Z"') AS "ChargePeriodEnd",
               to_char(d.day, 'YYYY-MM-DD"T"00:00:00"Z"') AS "ChargePeriodStart",
               NULL::text AS "CommitmentDiscountCategory", NULL::text AS "CommitmentDiscountId", NULL::text AS "CommitmentDiscountName",
               NULL::text AS "CommitmentDiscountStatus", NULL::text AS "CommitmentDiscountType",
               sum(d.input_tokens + d.output_tokens)::numeric(38, 1) AS "ConsumedQuantity", 'Tokens' AS "ConsumedUnit",
               (sum(d.cost_micros)::numeric * 0.000001) AS "ContractedCost", NULL::numeric AS "ContractedUnitPrice",
               (sum(d.cost_micros)::numeric * 0.000001) AS "EffectiveCost", 'Jarvis' AS "InvoiceIssuer",
               (sum(d.cost_micros)::numeric * 0.000001) AS "ListCost", NULL::numeric AS "ListUnitPrice",
               'Standard' AS "PricingCategory", (sum(d.input_tokens + d.output_tokens)::numeric * 0.000001) AS "PricingQuantity",
               '1M Tokens' AS "PricingUnit",
               'Jarvis' AS "Provider", 'Jarvis' AS "Publisher", NULL::text AS "RegionId", NULL::text AS "RegionName",
               d.model || COALESCE('@' || NULLIF(d.model_version, ''), '') AS "ResourceId",
               d.model || COALESCE('@' || NULLIF(d.model_version, ''), '') AS "ResourceID",
               d.model AS "ResourceName", 'Model' AS "ResourceType",
               'AI and Machine Learning' AS "ServiceCategory", 'Jarvis AI Platform' AS "ServiceName",
               d.model || COALESCE('@' || NULLIF(d.model_version, ''), '') AS "SkuId",
               'price-book/' || d.model || COALESCE('@' || NULLIF(d.model_version, ''), '') || '/' || \(currency) AS "SkuPriceId",
               NULLIF(d.cost_center, '') AS "SubAccountId", NULLIF(d.cost_center, '') AS "SubAccountName",
               json_build_object('jarvis/model', d.model, 'jarvis/model_version', NULLIF(d.model_version, ''),
                                 'jarvis/cost_center', NULLIF(d.cost_center, ''))::text AS "Tags",
               sum(d.events) AS "x_Requests", sum(d.input_tokens) AS "x_InputTokens", sum(d.output_tokens) AS "x_OutputTokens",
               sum(d.cost_micros) AS "x_CostMicros", sum(d.unpriced_events) AS "x_UnpricedRequests"
        \(filter)
        GROUP BY d.tenant_id, t.slug, d.day, d.model, d.model_version, d.cost_center
        ORDER BY d.day, t.slug, d.model, d.model_version, d.cost_center
        """
    }
}
