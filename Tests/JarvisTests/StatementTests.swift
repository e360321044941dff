import Foundation
import HTTPTypes
import JarvisAccess
import JarvisStore
import Testing

/// Monthly statements (closing for good, late usage as adjustments, cost centers) and who may read
/// and export figures (the finance role, its platform form, everyone else).
@Suite struct StatementTests {
    /// Last month as statements name it, and a time inside it that usage may still be reported for
    /// (noon of its last day: within the 35 days a late event may be).
    static func lastMonth(now: Date = Date()) -> (period: String, noonOfLastDay: String, thisPeriod: String) {
        let today = Timestamp.format(now)
        let thisMonth = Timestamp.parse(String(today.prefix(8)) + "01T12:00:00Z")!
        let lastDay = Timestamp.format(thisMonth.addingTimeInterval(-86_400))
        return (String(lastDay.prefix(7)), String(lastDay.prefix(10)) + "T12:00:00Z", String(today.prefix(7)))
    }

    static func event(_ key: String, model: String, input: Int, output: Int, at time: String?, principal: String? = nil, apiKey: String? = nil)
        -> [String: any Sendable]
    {
        var event: [String: any Sendable] = ["idempotency_key": key, "model": model, "input_tokens": input, "output_tokens": output, "status": "success"]
        if let time { event["timestamp"] = time }
        if let principal { event["principal_id"] = principal }
        if let apiKey { event["api_key_id"] = apiKey }
        return event
    }

    @Test func aClosedPeriodNeverChangesAndLateUsageIsAnAdjustment() async throws {
        let last = Self.lastMonth()
        let tenant = try await Fixture.withAPI { api in
            let tenant = try await api.seedTenant(prefix: "stmt")
            let model = "stmt-\(UUIDv7.make().lowercasedString.prefix(8))"
            let t = "/v1/tenants/\(tenant.slug)"
            // 1.50 per million input tokens, 2.00 per million output tokens, from before last month.
            let price = try await api.post(
                "\(t)/prices",
                ["model": model, "currency": "USD", "input_micros_per_million": 1_500_000, "output_micros_per_million": 2_000_000,
                 "effective_from": "2020-01-01T00:00:00Z"])
            try #require(price.status == .created, "\(price.text)")
            // A service account of cost center "research"; one of its keys belongs to "lab".
            let account = try await api.post("\(t)/service-accounts", ["name": "batch", "cost_center": "research"], key: tenant.adminKey)
            try #require(account["cost_center"] == "research", "\(account.text)")
            let accountID = try #require(account["id"])
            let plain = try await api.post("\(t)/api-keys", ["principal_id": accountID, "name": "plain"], key: tenant.adminKey)
            let lab = try await api.post("\(t)/api-keys", ["principal_id": accountID, "name": "lab", "cost_center": "lab"], key: tenant.adminKey)
            try #require(lab["cost_center"] == "lab", "\(lab.text)")
            let plainID = try #require(plain["id"]), labID = try #require(lab["id"])
            let events: [[String: any Sendable]] = [
                // 1000 × 1.5 + 500 × 2 = 2500 micro-units, to research.
                Self.event("a", model: model, input: 1_000, output: 500, at: last.noonOfLastDay, principal: accountID, apiKey: plainID),
                // 2000 × 1.5 = 3000, to lab (the key's cost center wins over its principal's).
                Self.event("b", model: model, input: 2_000, output: 0, at: last.noonOfLastDay, principal: accountID, apiKey: labID),
                // 1.5 + 2 = 3.5, rounded half up to 4, to no cost center: 5504 in all.
                Self.event("c", model: model, input: 1, output: 1, at: last.noonOfLastDay),
            ]
            let usage = try await api.post("/v1/usage", ["events": events], key: tenant.adminKey)
            try #require(usage.json["accepted"] as? Int == 3, "\(usage.text)")

            let open = try await api.get("\(t)/statements/\(last.period)", key: tenant.adminKey)
            #expect(open["status"] == "open", "\(open.text)")
            #expect(open.json["total_micros"] as? Int == 5_504, "\(open.text)")
            let centers = (open.json["cost_centers"] as? [[String: any Sendable]] ?? []).map { ($0["cost_center"] as? String ?? "-", $0["amount_micros"] as? Int ?? -1) }
            #expect(centers.map(\.0) == ["-", "lab", "research"] && centers.map(\.1) == [4, 3_000, 2_500], "\(open.text)")
            let lines = open.json["lines"] as? [[String: any Sendable]] ?? []
            #expect(lines.count == 3 && lines.allSatisfy { $0["input_micros_per_million"] as? Int == 1_500_000 && $0["kind"] as? String == "usage" })

            // Only the platform closes a tenant's books, and only once, and only once the month is over.
            try await api.post("\(t)/statements/\(last.period)/close", [:], key: tenant.adminKey).expectProblem(.forbidden)
            try await api.post("\(t)/statements/\(last.thisPeriod)/close", [:]).expectProblem(.conflict)
            let closed = try await api.post("\(t)/statements/\(last.period)/close", [:])
            #expect(closed.status == .created && closed["status"] == "closed" && closed.json["total_micros"] as? Int == 5_504, "\(closed.text)")
            try await api.post("\(t)/statements/\(last.period)/close", [:]).expectProblem(.conflict)

            // A late event for the closed month: the statement stays as closed; this month adjusts.
            let late = try await api.post(
                "/v1/usage", Self.event("d", model: model, input: 10, output: 10, at: last.noonOfLastDay, principal: accountID, apiKey: plainID),
                key: tenant.adminKey)
            try #require(late.json["accepted"] as? Int == 1, "\(late.text)")
            let again = try await api.get("\(t)/statements/\(last.period)", key: tenant.adminKey)
            #expect(again["status"] == "closed" && again.json["total_micros"] as? Int == 5_504, "\(again.text)")
            let current = try await api.get("\(t)/statements/\(last.thisPeriod)", key: tenant.adminKey)
            let adjustments = (current.json["lines"] as? [[String: any Sendable]] ?? []).filter { $0["kind"] as? String == "adjustment" }
            #expect(adjustments.count == 1, "\(current.text)")
            // 10 × 1.5 + 10 × 2 = 35, research's, for last month.
            #expect(adjustments.first?["amount_micros"] as? Int == 35 && adjustments.first?["usage_period"] as? String == last.period)
            #expect(adjustments.first?["cost_center"] as? String == "research" && adjustments.first?["requests"] as? Int == 1)

            let list = try await api.get("\(t)/statements", key: tenant.adminKey)
            #expect(list.items.map { $0["period"] as? String } == [last.period], "\(list.text)")
            let audit = try await api.get("\(t)/audit-events?action=statement.close", key: tenant.adminKey)
            #expect(audit.items.count == 1, "\(audit.text)")
            // Bad periods are refused.
            try await api.get("\(t)/statements/2026-13", key: tenant.adminKey).expectProblem(.badRequest)
            try await api.get("\(t)/statements/2999-01", key: tenant.adminKey).expectProblem(.badRequest)
            return tenant
        }
        // The database itself refuses to change a closed statement, even for the platform role.
        let tenantID = try #require(UUID(uuidString: tenant.tenantID))
        for sql in [
            "UPDATE statements SET total_micros = 0 WHERE tenant_id = $1",
            "UPDATE statement_lines SET amount_micros = 0 WHERE tenant_id = $1",
            "DELETE FROM statement_lines WHERE tenant_id = $1",
            "DELETE FROM statements WHERE tenant_id = $1",
            """
            INSERT INTO statement_lines (tenant_id, period, line, kind, usage_period, model, model_version, cost_center, requests, input_tokens,
                                         output_tokens, amount_micros, unpriced_requests)
            VALUES ($1, '\(last.period)-01', 99, 'usage', '\(last.period)-01', 'x', '', '', 1, 1, 1, 1, 0)
            """,
        ] {
            await #expect(throws: StoreError.self, "\(sql)") {
                try await Fixture.platform.withTenant(tenantID) { tx in try await tx.query(sql, [tenantID]) }
            }
        }
        let total = try await Fixture.platform.withTenant(tenantID) { tx in
            try await tx.query("SELECT total_micros FROM statements WHERE tenant_id = $1", [tenantID]).first?.int("total_micros")
        }
        #expect(total == 5_504)
    }

    @Test func financeReadsAndExportsItsOwnTenantAndPlatformFinanceEveryTenant() async throws {
        try await Fixture.withAPI { api in
            let a = try await api.seedTenant(prefix: "fin-a")
            let b = try await api.seedTenant(prefix: "fin-b")
            let model = "fin-\(UUIDv7.make().lowercasedString.prefix(8))"
            for tenant in [a, b] {
                let usage = try await api.post("/v1/usage", Self.event("e", model: model, input: 7, output: 3, at: nil), key: tenant.adminKey)
                try #require(usage.json["accepted"] as? Int == 1, "\(usage.text)")
            }
            let finance = try await api.principal(in: a, role: "finance")
            let developer = try await api.principal(in: a, role: "developer")
            let period = Self.lastMonth().thisPeriod

            let csv = try await api.request(.get, "/v1/tenants/\(a.slug)/usage/export?group_by=model&format=csv", key: finance.key)
            #expect(csv.status == .ok && csv.headers[.contentType] == "text/csv; charset=utf-8", "\(csv.text)")
            let rows = csv.text.split(separator: "\n").map(String.init)
            #expect(rows.first == "model,requests,input_tokens,output_tokens,cost_micros,cost,currency,unpriced_requests", "\(csv.text)")
            #expect(rows.contains("\(model),1,7,3,0,0.000000,USD,1"), "\(csv.text)")
            let jsonl = try await api.request(.get, "/v1/tenants/\(a.slug)/usage/export?group_by=model,cost_center&format=jsonl", key: finance.key)
            let objects = jsonl.text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(objects.contains { $0["model"] as? String == model && $0["input_tokens"] as? Int == 7 && $0["cost_center"] is NSNull }, "\(jsonl.text)")
            #expect(try await api.get("/v1/tenants/\(a.slug)/statements/\(period)", key: finance.key).status == .ok)

            // Not another tenant's, and not anything but figures.
            try await api.request(.get, "/v1/tenants/\(b.slug)/usage/export", key: finance.key).expectProblem(.notFound)
            try await api.get("/v1/tenants/\(b.slug)/statements/\(period)", key: finance.key).expectProblem(.notFound)
            try await api.get("/v1/tenants/\(a.slug)/users", key: finance.key).expectProblem(.forbidden)
            try await api.request(.get, "/v1/usage/export", key: finance.key).expectProblem(.forbidden)
            // Other roles read no exports.
            try await api.request(.get, "/v1/tenants/\(a.slug)/usage/export", key: developer.key).expectProblem(.forbidden)
            try await api.get("/v1/tenants/\(a.slug)/statements/\(period)", key: developer.key).expectProblem(.forbidden)
            // Bad queries are 400s, before anything streams.
            for query in ["group_by=nope", "format=xml", "from=2026-02-30", "from=2026-05-01&to=2026-04-01", "group_by=model,model"] {
                try await api.request(.get, "/v1/tenants/\(a.slug)/usage/export?\(query)", key: finance.key).expectProblem(.badRequest)
            }

            // Platform finance: a platform principal bound to finance reads and exports every tenant.
            let platform = API.Seeded(tenantID: PlatformTenant.id.lowercasedString, slug: PlatformTenant.slug, adminID: "", adminKey: api.adminKey)
            let auditor = try await api.principal(in: platform, role: "finance")
            let all = try await api.request(.get, "/v1/usage/export?group_by=tenant,model&format=csv", key: auditor.key)
            #expect(all.status == .ok, "\(all.text)")
            #expect(all.text.contains("\(a.slug),\(a.tenantID),\(model),1,7,3") && all.text.contains("\(b.slug),\(b.tenantID),\(model),1,7,3"))
            #expect(try await api.get("/v1/tenants/\(b.slug)/statements/\(period)", key: auditor.key).status == .ok)
            // What finance does not hold stays out of sight: other tenants are a 404 there, as for anyone.
            try await api.post("/v1/tenants/\(b.slug)/statements/\(Self.lastMonth().period)/close", [:], key: auditor.key).expectProblem(.notFound)
            try await api.get("/v1/tenants/\(b.slug)/users", key: auditor.key).expectProblem(.notFound)
        }
    }
}
