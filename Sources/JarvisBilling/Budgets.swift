public import Foundation
public import JarvisAccess
public import JarvisStore
public import JarvisQuota
internal import JarvisAudit
internal import JarvisTenancy

/// Budgets: made, changed and removed by the tenant (`budget:write`, audited), read with
/// `billing:read`. A change reaches the quota engine through the change feed (the engine reloads
/// the tenant's hard-stop budgets with its policies); thresholds are watched by `BudgetAlerts`.
public struct Budgets: SpendLimitSource {
    let app: Database
    let platform: Database

    public init(app: Database, platform: Database) {
        self.app = app
        self.platform = platform
    }

    public struct Draft: Sendable {
        public var costCenter: String?
        public var amountMicros: Int64
        public var thresholds: [Int]?
        public var hardStop: Bool?
        public var checkReservationMicros: Int64?

        public init(costCenter: String?, amountMicros: Int64, thresholds: [Int]?, hardStop: Bool?, checkReservationMicros: Int64?) {
            self.costCenter = costCenter
            self.amountMicros = amountMicros
            self.thresholds = thresholds
            self.hardStop = hardStop
            self.checkReservationMicros = checkReservationMicros
        }
    }

    public struct Change: Sendable {
        public var amountMicros: Int64?
        public var thresholds: [Int]?
        public var hardStop: Bool?
        public var checkReservationMicros: Int64?

        public init(amountMicros: Int64?, thresholds: [Int]?, hardStop: Bool?, checkReservationMicros: Int64?) {
            self.amountMicros = amountMicros
            self.thresholds = thresholds
            self.hardStop = hardStop
            self.checkReservationMicros = checkReservationMicros
        }
    }

    /// The engine's allowances count micro-units exactly up to here.
    public static let maxMicros: Int64 = 9_007_199_254_740_992
    public static let defaultThresholds = [50, 80, 100]
    static let columns = "id, tenant_id, cost_center, amount_micros, thresholds, hard_stop, check_reservation_micros, created_at, updated_at"

    public func create(_ draft: Draft, in scope: TenantScope) async throws -> Budget {
        if let costCenter = draft.costCenter, !CostCenter.isValid(costCenter) { throw BillingError.invalid("cost_center: \(CostCenter.rule)") }
        try Self.validate(amount: draft.amountMicros, thresholds: draft.thresholds, reservation: draft.checkReservationMicros)
        let thresholds = Self.normalised(draft.thresholds ?? Self.defaultThresholds)
        let currency = try await PriceBook.currency(platform)
        return try await app.withTenant(scope.tenantID) { tx in
            let rows = try await tx.query(
                """
                INSERT INTO budgets (tenant_id, id, cost_center, amount_micros, thresholds, hard_stop, check_reservation_micros)
                VALUES ($1, $2, $3, $4, $5::integer[], $6, $7) RETURNING \(Self.columns)
                """,
                [scope.tenantID, UUIDv7.make(), draft.costCenter, draft.amountMicros, TextArray(thresholds.map(String.init)),
                 draft.hardStop ?? false, draft.checkReservationMicros ?? 0],
                onConflict: BillingError.conflict(
                    draft.costCenter.map { "cost center \($0) has a budget; change it instead" } ?? "the tenant has a budget; change it instead"))
            let budget = try await Self.decode(rows.first!, tx: tx, currency: currency)
            try await audit(tx, "budget.create", budget, scope: scope)
            return budget
        }
    }

    public func list(in scope: TenantScope) async throws -> [Budget] {
        let currency = try await PriceBook.currency(platform)
        return try await app.withTenant(scope.tenantID) { tx in
            var budgets: [Budget] = []
            for row in try await tx.query("SELECT \(Self.columns) FROM budgets WHERE tenant_id = $1 ORDER BY id", [scope.tenantID]).all {
                budgets.append(try await Self.decode(row, tx: tx, currency: currency))
            }
            return budgets
        }
    }

    public func get(_ id: UUID, in scope: TenantScope) async throws -> Budget {
        let currency = try await PriceBook.currency(platform)
        return try await app.withTenant(scope.tenantID) { tx in
            guard let row = try await tx.query("SELECT \(Self.columns) FROM budgets WHERE tenant_id = $1 AND id = $2", [scope.tenantID, id]).first
            else { throw BillingError.notFound("budget \(id.lowercasedString)") }
            return try await Self.decode(row, tx: tx, currency: currency)
        }
    }

    public func update(_ id: UUID, _ change: Change, in scope: TenantScope) async throws -> Budget {
        try Self.validate(amount: change.amountMicros, thresholds: change.thresholds, reservation: change.checkReservationMicros)
        let currency = try await PriceBook.currency(platform)
        return try await app.withTenant(scope.tenantID) { tx in
            let rows = try await tx.query(
                """
                UPDATE budgets SET amount_micros = COALESCE($3, amount_micros), thresholds = COALESCE($4::integer[], thresholds),
                                   hard_stop = COALESCE($5, hard_stop),
                                   check_reservation_micros = COALESCE($6, check_reservation_micros), updated_at = now()
                WHERE tenant_id = $1 AND id = $2 RETURNING \(Self.columns)
                """,
                [scope.tenantID, id, change.amountMicros, change.thresholds.map { TextArray(Self.normalised($0).map(String.init)) },
                 change.hardStop, change.checkReservationMicros])
            guard let row = rows.first else { throw BillingError.notFound("budget \(id.lowercasedString)") }
            let budget = try await Self.decode(row, tx: tx, currency: currency)
            try await audit(tx, "budget.update", budget, scope: scope)
            return budget
        }
    }

    public func delete(_ id: UUID, in scope: TenantScope) async throws {
        try await app.withTenant(scope.tenantID) { tx in
            let rows = try await tx.query(
                "DELETE FROM budgets WHERE tenant_id = $1 AND id = $2 RETURNING cost_center", [scope.tenantID, id])
            guard let row = rows.first else { throw BillingError.notFound("budget \(id.lowercasedString)") }
            tx.noteChange(scope.tenantID)
            try await AuditLog.record(
                tx, tenantID: scope.tenantID, actor: scope.actor, action: "budget.delete", targetType: "budget", targetID: id.lowercasedString,
                details: ["cost_center": .optional(try row.optionalString("cost_center"))])
        }
    }

    private func audit(_ tx: Transaction, _ action: String, _ budget: Budget, scope: TenantScope) async throws {
        // The quota engine reloads the tenant's hard-stop budgets when this commits.
        tx.noteChange(scope.tenantID)
        try await AuditLog.record(
            tx, tenantID: scope.tenantID, actor: scope.actor, action: action, targetType: "budget", targetID: budget.id.lowercasedString,
            details: [
                "cost_center": .optional(budget.costCenter), "amount_micros": .int(Int(budget.amountMicros)),
                "thresholds": .string(budget.thresholds.map(String.init).joined(separator: ",")), "hard_stop": .bool(budget.hardStop),
                "check_reservation_micros": .int(Int(budget.checkReservationMicros)),
            ])
    }

    // MARK: For the quota engine

    /// The tenant's hard-stop budgets, and the cost centers of its principals and keys when one
    /// of those budgets is a cost center's.
    public func spendLimits(tenantID: UUID) async throws -> TenantSpendLimits {
        let limits = try await platform.query(
            """
            SELECT id, cost_center, amount_micros, check_reservation_micros FROM budgets
            WHERE tenant_id = $1 AND hard_stop ORDER BY id
            """, [tenantID], idempotent: true
        ).all.map { row in
            SpendLimit(
                budgetID: try row.uuid("id"), costCenter: try row.optionalString("cost_center"), amountMicros: Int64(try row.int("amount_micros")),
                checkReservationMicros: Int64(try row.int("check_reservation_micros")))
        }
        var spend = TenantSpendLimits(limits: limits)
        guard limits.contains(where: { $0.costCenter != nil }) else { return spend }
        for row in try await platform.query(
            "SELECT id, cost_center FROM principals WHERE tenant_id = $1 AND cost_center IS NOT NULL", [tenantID], idempotent: true
        ).all {
            spend.principalCostCenters[try row.uuid("id")] = try row.string("cost_center")
        }
        for row in try await platform.query(
            "SELECT id, cost_center FROM api_keys WHERE tenant_id = $1 AND cost_center IS NOT NULL AND revoked_at IS NULL", [tenantID],
            idempotent: true
        ).all {
            spend.keyCostCenters[try row.uuid("id")] = try row.string("cost_center")
        }
        return spend
    }

    // MARK: Checks and decoding

    static func validate(amount: Int64?, thresholds: [Int]?, reservation: Int64?) throws(BillingError) {
        if let amount, !(1...maxMicros).contains(amount) { throw .invalid("amount_micros: must be from 1 to \(maxMicros)") }
        if let thresholds {
            guard (1...10).contains(thresholds.count), thresholds.allSatisfy({ (1...1000).contains($0) }) else {
                throw .invalid("thresholds: 1-10 percentages, each from 1 to 1000")
            }
        }
        if let reservation, !(0...maxMicros).contains(reservation) { throw .invalid("check_reservation_micros: must be from 0 to \(maxMicros)") }
    }

    static func normalised(_ thresholds: [Int]) -> [Int] { Array(Set(thresholds)).sorted() }

    /// A budget row with its month so far, read in the same transaction.
    static func decode(_ row: Row, tx: Transaction, currency: String) async throws -> Budget {
        let period = Period(containing: Date())
        let id = try row.uuid("id")
        let tenantID = try row.uuid("tenant_id")
        let costCenter = try row.optionalString("cost_center")
        let spent = try await tx.query(
            """
            SELECT COALESCE(sum(cost_micros), 0) AS spent FROM usage_daily
            WHERE tenant_id = $1 AND day >= $2::date AND day < $3::date AND ($4::text IS NULL OR cost_center = $4)
            """, [tenantID, period.firstDay, period.next.firstDay, costCenter]
        ).first?.int("spent") ?? 0
        let alerts = try await tx.query(
            """
            SELECT threshold, spent_micros, amount_micros, raised_at FROM budget_alerts
            WHERE tenant_id = $1 AND budget_id = $2 AND period = $3::date ORDER BY threshold
            """, [tenantID, id, period.firstDay]
        ).all.map { alert in
            Budget.Alert(
                threshold: try alert.int("threshold"), spentMicros: Int64(try alert.int("spent_micros")),
                amountMicros: Int64(try alert.int("amount_micros")), raisedAt: try alert.date("raised_at"))
        }
        return Budget(
            id: id, tenantID: tenantID, costCenter: costCenter, amountMicros: Int64(try row.int("amount_micros")),
            thresholds: try row.stringArray("thresholds").compactMap { Int($0) }, hardStop: try row.bool("hard_stop"),
            checkReservationMicros: Int64(try row.int("check_reservation_micros")), createdAt: try row.date("created_at"),
            updatedAt: try row.date("updated_at"),
            status: .init(period: period.text, currency: currency, spentMicros: Int64(spent), alerts: alerts))
    }
}
