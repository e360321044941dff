internal import Foundation
internal import JarvisStore

/// A tenant's committed token use in the current day and month, per principal, from the rollup.
struct UsageTotals {
    static let nobody = UUID(uuidString: "00000000-0000-0000-0000-000000000000")!

    let day: Int64
    var tenantDay: Int64 = 0
    var tenantMonth: Int64 = 0
    var principals: [UUID: (day: Int64, month: Int64)] = [:]

    static func date(_ day: Int64) -> String {
        let c = UTCCalendar.civil(day: day)
        return String(format: "%04lld-%02lld-%02lld", c.year, c.month, c.day)
    }

    static func load(_ platform: Database, tenantID: UUID, day: Int64) async throws -> UsageTotals {
        let rows = try await platform.query(
            """
            SELECT principal_id,
                   COALESCE(sum(input_tokens + output_tokens) FILTER (WHERE day = $2::date), 0) AS today,
                   COALESCE(sum(input_tokens + output_tokens), 0) AS month
            FROM usage_daily
            WHERE tenant_id = $1 AND day BETWEEN $3::date AND $2::date
            GROUP BY principal_id
            """, [tenantID, date(day), date(UTCCalendar.firstDay(month: UTCCalendar.month(day: day)))], idempotent: true)
        var totals = UsageTotals(day: day)
        for row in rows.all {
            let principal = try row.uuid("principal_id")
            let today = Int64(try row.int("today"))
            let month = Int64(try row.int("month"))
            totals.tenantDay += today
            totals.tenantMonth += month
            if principal != nobody { totals.principals[principal] = (today, month) }
        }
        return totals
    }

    /// The totals of many tenants in one statement (the background refresh's). Tenants without
    /// usage this month get empty totals.
    static func load(_ platform: Database, tenantIDs: [UUID], day: Int64) async throws -> [UUID: UsageTotals] {
        let rows = try await platform.query(
            """
            SELECT tenant_id, principal_id,
                   COALESCE(sum(input_tokens + output_tokens) FILTER (WHERE day = $2::date), 0) AS today,
                   COALESCE(sum(input_tokens + output_tokens), 0) AS month
            FROM usage_daily
            WHERE tenant_id = ANY($1::uuid[]) AND day BETWEEN $3::date AND $2::date
            GROUP BY tenant_id, principal_id
            """, [TextArray(tenantIDs.map(\.lowercasedString)), date(day), date(UTCCalendar.firstDay(month: UTCCalendar.month(day: day)))],
            idempotent: true)
        var all: [UUID: UsageTotals] = [:]
        for id in tenantIDs { all[id] = UsageTotals(day: day) }
        for row in rows.all {
            let tenant = try row.uuid("tenant_id")
            let principal = try row.uuid("principal_id")
            let today = Int64(try row.int("today"))
            let month = Int64(try row.int("month"))
            all[tenant]?.tenantDay += today
            all[tenant]?.tenantMonth += month
            if principal != nobody { all[tenant]?.principals[principal] = (today, month) }
        }
        return all
    }

    /// Sets the state's used counts to these totals, plus `extra` recorded meanwhile.
    func apply(to state: inout TenantQuota, plus extra: [TenantQuota.CounterKey: Int64] = [:]) {
        let month = UTCCalendar.month(day: day)
        func set(_ subject: QuotaSubject, _ dayTotal: Int64, _ monthTotal: Int64) {
            let daily = TenantQuota.CounterKey(subject: subject, metric: .tokensDaily, window: day)
            let monthly = TenantQuota.CounterKey(subject: subject, metric: .tokensMonthly, window: month)
            state.counters[daily, default: .init()].used = dayTotal + extra[daily, default: 0]
            state.counters[monthly, default: .init()].used = monthTotal + extra[monthly, default: 0]
        }
        set(.tenant, tenantDay, tenantMonth)
        for (principal, total) in principals { set(.principal(principal), total.day, total.month) }
    }
}
