public import Foundation
public import JarvisAccess
public import JarvisStore
internal import JarvisAudit

/// Monthly statements. An open period's statement is computed from the stored events when asked;
/// closing it writes that computation down for good (the database refuses any later change).
/// Usage that reaches a closed period afterwards (a late event, a re-rating) is the difference
/// between that period's events now and what statements have accounted for it so far; it is shown
/// as adjustment lines on the first period after it that is not closed.
public struct Statements: Sendable {
    let app: Database
    let platform: Database

    public init(app: Database, platform: Database) {
        self.app = app
        self.platform = platform
    }

    /// The statement of `period` (`YYYY-MM`): as closed, or as it stands.
    public func statement(_ period: String, in scope: TenantScope) async throws -> Statement {
        let month = try Self.period(period)
        let currency = try await PriceBook.currency(platform)
        let statement = try await app.withTenant(scope.tenantID) { tx in
            if let closed = try await Self.closed(tx, tenantID: scope.tenantID, month) { return closed }
            return try await Self.open(tx, tenantID: scope.tenantID, month, currency: currency)
        }
        return statement.status == .closed ? statement : try await withPrices(statement)
    }

    /// Closed statements, newest first.
    public func closedStatements(in scope: TenantScope) async throws -> [Summary] {
        try await app.withTenant(scope.tenantID) { tx in
            try await tx.query(
                """
                SELECT to_char(period, 'YYYY-MM') AS period, currency, requests, total_micros, unpriced_requests, closed_at
                FROM statements WHERE tenant_id = $1 ORDER BY period DESC LIMIT 600
                """, [scope.tenantID]
            ).all.map { row in
                Summary(
                    period: try row.string("period"), currency: try row.string("currency"), requests: Int64(try row.int("requests")),
                    totalMicros: Int64(try row.int("total_micros")), unpricedRequests: Int64(try row.int("unpriced_requests")),
                    closedAt: try row.date("closed_at"))
            }
        }
    }

    public struct Summary: Sendable {
        public let period: String
        public let currency: String
        public let requests: Int64
        public let totalMicros: Int64
        public let unpricedRequests: Int64
        public let closedAt: Date
    }

    /// Closes `period`: its statement as it stands now is written down, audited, and never changes.
    /// - Throws: `conflict` when the period has not ended or is already closed.
    public func close(_ period: String, in scope: TenantScope) async throws -> Statement {
        let month = try Self.period(period)
        guard month < Period(containing: Date()) else { throw BillingError.conflict("period \(month.text) has not ended") }
        let currency = try await PriceBook.currency(platform)
        let statement = try await app.withTenant(scope.tenantID) { tx in
            // Closings of one tenant take turns, so each sees what the previous one accounted for.
            try await tx.query("SELECT pg_advisory_xact_lock(hashtext('statements'), hashtext($1))", [scope.tenantID.lowercasedString])
            if try await Self.closed(tx, tenantID: scope.tenantID, month) != nil {
                throw BillingError.conflict("period \(month.text) is already closed")
            }
            let open = try await withPrices(Self.open(tx, tenantID: scope.tenantID, month, currency: currency))
            try await tx.query(
                """
                INSERT INTO statements (tenant_id, period, currency, requests, total_micros, unpriced_requests, closed_by)
                VALUES ($1, $2::date, $3, $4, $5, $6, $7)
                """,
                [scope.tenantID, month.firstDay, currency, open.requests, open.totalMicros, open.unpricedRequests, scope.caller.principalID])
            if !open.lines.isEmpty {
                let lines = open.lines
                func column(_ value: (Statement.Line) -> String?) -> TextArray { TextArray(nullable: lines.map(value)) }
                try await tx.query(
                    """
                    INSERT INTO statement_lines (tenant_id, period, line, kind, usage_period, model, model_version, cost_center, price_id,
                                                 input_micros_per_million, output_micros_per_million,
                                                 requests, input_tokens, output_tokens, amount_micros, unpriced_requests)
                    SELECT $1, $2::date, n, kind, (usage_period || '-01')::date, model, model_version, cost_center, price_id,
                           input_price, output_price, requests, input_tokens, output_tokens, amount_micros, unpriced
                    FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::uuid[], $9::bigint[], $10::bigint[],
                                $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[])
                         WITH ORDINALITY AS l(kind, usage_period, model, model_version, cost_center, price_id, input_price, output_price,
                                              requests, input_tokens, output_tokens, amount_micros, unpriced, n)
                    """,
                    [scope.tenantID, month.firstDay, column { $0.kind.rawValue }, column { $0.usagePeriod }, column { $0.model },
                     column { $0.modelVersion ?? "" }, column { $0.costCenter ?? "" }, column { $0.priceID?.lowercasedString },
                     column { $0.inputMicrosPerMillion.map(String.init) }, column { $0.outputMicrosPerMillion.map(String.init) },
                     column { String($0.requests) }, column { String($0.inputTokens) }, column { String($0.outputTokens) },
                     column { String($0.amountMicros) }, column { String($0.unpricedRequests) }])
            }
            try await AuditLog.record(
                tx, tenantID: scope.tenantID, actor: scope.actor, action: "statement.close", targetType: "statement", targetID: month.text,
                details: [
                    "currency": .string(currency), "total_micros": .int(Int(open.totalMicros)), "requests": .int(Int(open.requests)),
                    "lines": .int(open.lines.count), "adjustment_lines": .int(open.lines.filter { $0.kind == .adjustment }.count),
                ])
            return try await Self.closed(tx, tenantID: scope.tenantID, month)!
        }
        return statement
    }

    static func period(_ text: String) throws(BillingError) -> Period {
        guard let month = Period(text) else { throw .invalid("period: a month such as 2026-11") }
        guard month <= Period(containing: Date()) else { throw .invalid("period: \(text) has not begun") }
        return month
    }

    // MARK: Reading

    /// What one group of events adds up to.
    struct Key: Hashable {
        let model: String
        let modelVersion: String
        let costCenter: String
        let priceID: UUID?
    }

    struct Totals {
        var requests: Int64 = 0
        var inputTokens: Int64 = 0
        var outputTokens: Int64 = 0
        var amountMicros: Int64 = 0
        var unpriced: Int64 = 0

        var isZero: Bool { requests == 0 && inputTokens == 0 && outputTokens == 0 && amountMicros == 0 && unpriced == 0 }

        static func - (a: Totals, b: Totals) -> Totals {
            Totals(
                requests: a.requests - b.requests, inputTokens: a.inputTokens - b.inputTokens, outputTokens: a.outputTokens - b.outputTokens,
                amountMicros: a.amountMicros - b.amountMicros, unpriced: a.unpriced - b.unpriced)
        }
    }

    static func totals(_ row: Row) throws -> (Key, Totals) {
        let key = Key(
            model: try row.string("model"), modelVersion: try row.string("model_version"), costCenter: try row.string("cost_center"),
            priceID: try row.optionalUUID("price_id"))
        let totals = Totals(
            requests: Int64(try row.int("requests")), inputTokens: Int64(try row.int("input_tokens")),
            outputTokens: Int64(try row.int("output_tokens")), amountMicros: Int64(try row.int("amount_micros")),
            unpriced: Int64(try row.int("unpriced")))
        return (key, totals)
    }

    /// The period's events as they are now, by key.
    static func events(_ tx: Transaction, tenantID: UUID, _ month: Period) async throws -> [(Key, Totals)] {
        try await tx.query(
            """
            SELECT model, COALESCE(model_version, '') AS model_version, COALESCE(cost_center, '') AS cost_center, price_id,
                   count(*) AS requests, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
                   COALESCE(sum(cost_micros), 0) AS amount_micros, count(*) FILTER (WHERE cost_micros IS NULL) AS unpriced
            FROM usage_events
            WHERE tenant_id = $1 AND occurred_at >= $2::timestamptz AND occurred_at < $3::timestamptz
            GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
            """, [tenantID, month.start, month.next.start]
        ).all.map(totals)
    }

    /// What closed statements have accounted for `month`'s usage so far, by key.
    static func accounted(_ tx: Transaction, tenantID: UUID, _ month: Period) async throws -> [Key: Totals] {
        let rows = try await tx.query(
            """
            SELECT model, model_version, cost_center, price_id, sum(requests) AS requests, sum(input_tokens) AS input_tokens,
                   sum(output_tokens) AS output_tokens, sum(amount_micros) AS amount_micros, sum(unpriced_requests) AS unpriced
            FROM statement_lines WHERE tenant_id = $1 AND usage_period = $2::date
            GROUP BY 1, 2, 3, 4
            """, [tenantID, month.firstDay])
        var accounted: [Key: Totals] = [:]
        for row in rows.all {
            let (key, totals) = try totals(row)
            accounted[key] = totals
        }
        return accounted
    }

    static func line(
        _ kind: Statement.Line.Kind, _ usagePeriod: Period, _ key: Key, _ totals: Totals, prices: (Int64?, Int64?) = (nil, nil)
    ) -> Statement.Line {
        Statement.Line(
            kind: kind, usagePeriod: usagePeriod.text, model: key.model, modelVersion: key.modelVersion.isEmpty ? nil : key.modelVersion,
            costCenter: key.costCenter.isEmpty ? nil : key.costCenter, priceID: key.priceID, inputMicrosPerMillion: prices.0,
            outputMicrosPerMillion: prices.1, requests: totals.requests, inputTokens: totals.inputTokens, outputTokens: totals.outputTokens,
            amountMicros: totals.amountMicros, unpricedRequests: totals.unpriced)
    }

    /// An open period's statement as it stands: its events, and the adjustments of every closed
    /// period whose next open period it is.
    static func open(_ tx: Transaction, tenantID: UUID, _ month: Period, currency: String) async throws -> Statement {
        var lines = try await events(tx, tenantID: tenantID, month).map { line(.usage, month, $0.0, $0.1) }
        let closedPeriods = Set(
            try await tx.query("SELECT to_char(period, 'YYYY-MM') AS period FROM statements WHERE tenant_id = $1 AND period < $2::date",
                               [tenantID, month.firstDay]).all.compactMap { Period(try $0.string("period")) })
        // Walk back over the closed periods right before this one: each feeds its late usage here.
        var earlier = month.previous
        while closedPeriods.contains(earlier) {
            let accounted = try await accounted(tx, tenantID: tenantID, earlier)
            var now: [Key: Totals] = [:]
            for (key, totals) in try await events(tx, tenantID: tenantID, earlier) { now[key] = totals }
            for key in Set(now.keys).union(accounted.keys).sorted(by: { ($0.model, $0.modelVersion, $0.costCenter) < ($1.model, $1.modelVersion, $1.costCenter) }) {
                let difference = (now[key] ?? Totals()) - (accounted[key] ?? Totals())
                if !difference.isZero { lines.append(line(.adjustment, earlier, key, difference)) }
            }
            earlier = earlier.previous
        }
        return Statement(tenantID: tenantID, period: month.text, status: .open, currency: currency, closedAt: nil, lines: lines)
    }

    /// A closed statement as written down, or nil.
    static func closed(_ tx: Transaction, tenantID: UUID, _ month: Period) async throws -> Statement? {
        guard let head = try await tx.query(
            "SELECT currency, closed_at FROM statements WHERE tenant_id = $1 AND period = $2::date", [tenantID, month.firstDay]
        ).first else { return nil }
        let lines = try await tx.query(
            """
            SELECT kind, to_char(usage_period, 'YYYY-MM') AS usage_period, model, model_version, cost_center, price_id,
                   input_micros_per_million, output_micros_per_million,
                   requests, input_tokens, output_tokens, amount_micros, unpriced_requests AS unpriced
            FROM statement_lines WHERE tenant_id = $1 AND period = $2::date ORDER BY line
            """, [tenantID, month.firstDay]
        ).all.map { row in
            let (key, totals) = try totals(row)
            let prices = (try row.optionalInt("input_micros_per_million").map(Int64.init), try row.optionalInt("output_micros_per_million").map(Int64.init))
            return line(
                Statement.Line.Kind(rawValue: try row.string("kind")) ?? .usage, Period(try row.string("usage_period")) ?? month, key, totals,
                prices: prices)
        }
        return Statement(
            tenantID: tenantID, period: month.text, status: .closed, currency: try head.string("currency"), closedAt: try head.date("closed_at"),
            lines: lines)
    }

    /// The unit prices of each line's price. Prices are read by id from the book (a tenant's lines
    /// name platform prices, which its own view of the table does not show).
    func withPrices(_ statement: Statement) async throws -> Statement {
        let ids = Set(statement.lines.compactMap(\.priceID))
        guard !ids.isEmpty else { return statement }
        var prices: [UUID: (Int64, Int64)] = [:]
        for row in try await platform.query(
            "SELECT id, input_micros_per_million, output_micros_per_million FROM prices WHERE id = ANY($1::uuid[])",
            [TextArray(ids.map(\.lowercasedString))], idempotent: true
        ).all {
            prices[try row.uuid("id")] = (Int64(try row.int("input_micros_per_million")), Int64(try row.int("output_micros_per_million")))
        }
        let lines = statement.lines.map { line in
            guard let id = line.priceID, let price = prices[id] else { return line }
            return Statement.Line(
                kind: line.kind, usagePeriod: line.usagePeriod, model: line.model, modelVersion: line.modelVersion, costCenter: line.costCenter,
                priceID: id, inputMicrosPerMillion: price.0, outputMicrosPerMillion: price.1, requests: line.requests,
                inputTokens: line.inputTokens, outputTokens: line.outputTokens, amountMicros: line.amountMicros,
                unpricedRequests: line.unpricedRequests)
        }
        return Statement(
            tenantID: statement.tenantID, period: statement.period, status: statement.status, currency: statement.currency,
            closedAt: statement.closedAt, lines: lines)
    }
}
