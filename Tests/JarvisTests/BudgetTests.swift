import Foundation
import HTTPTypes
import JarvisBilling
import JarvisHTTP
import JarvisStore
import Testing

/// Budgets in money: a hard stop that concurrent checks cannot overshoot by more than one
/// reservation, cost-center budgets, thresholds that alert once each, and who may set them.
@Suite struct BudgetTests {
    /// A price for `model` in the tenant: 1 micro-unit per input token, 2 per output token.
    static func price(_ api: API, _ t: API.Seeded) async throws -> String {
        let model = "bud-\(UUIDv7.make().lowercasedString.suffix(8))"
        let price = try await api.post(
            "/v1/tenants/\(t.slug)/prices",
            ["model": model, "currency": "USD", "input_micros_per_million": 1_000_000, "output_micros_per_million": 2_000_000,
             "effective_from": "2020-01-01T00:00:00Z"])
        try #require(price.status == .created, "\(price.text)")
        return model
    }

    static func budget(_ api: API, _ t: API.Seeded, _ body: [String: any Sendable]) async throws -> String {
        let created = try await api.post("/v1/tenants/\(t.slug)/budgets", body, key: t.adminKey)
        try #require(created.status == .created, "\(created.text)")
        return try #require(created["id"])
    }

    static func check(_ api: API, _ t: API.Seeded, _ credential: String, _ quota: [String: any Sendable]) async throws -> APIResponse {
        try await api.post("/v1/check", ["credential": credential, "permission": "documents:read", "quota": quota], key: t.adminKey)
    }

    @Test func aHardStopHoldsAgainst200ConcurrentReservingChecks() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "bstop")
            let model = try await Self.price(api, t)
            let amount = 1_000_000, estimate = 7_000
            let id = try await Self.budget(api, t, ["amount_micros": amount, "hard_stop": true])
            let (principal, key) = try await api.principal(in: t, role: "viewer")
            let results = try await withThrowingTaskGroup(of: APIResponse.self) { group in
                for _ in 0..<200 { group.addTask { try await Self.check(api, t, key, ["cost_estimate_micros": estimate]) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let admitted = results.filter { $0.json["allowed"] as? Bool == true }
            let refused = results.filter { $0.json["allowed"] as? Bool == false }
            // Never beyond the budget plus one reservation; on one instance, exactly what fits.
            #expect(admitted.count * estimate <= amount + estimate)
            #expect(admitted.count == amount / estimate, "\(admitted.count) admitted")
            #expect(refused.allSatisfy { $0.status == .tooManyRequests && $0.json["reason"] as? String == "budget_exhausted" })
            #expect(refused.first?.headers[.retryAfter] != nil)
            // What is left (6,000) is there to the last micro-unit; then a check that reserves
            // nothing is refused too.
            let rest = amount - admitted.count * estimate
            #expect(try await Self.check(api, t, key, ["cost_estimate_micros": rest + 1]).json["reason"] as? String == "budget_exhausted")
            #expect(try await Self.check(api, t, key, ["cost_estimate_micros": rest]).json["allowed"] as? Bool == true)
            #expect(try await Self.check(api, t, key, ["requests": 1]).json["reason"] as? String == "budget_exhausted")

            // Each admitted use cost 5,000 (5,000 input tokens): settling gives 2,000 back each.
            let events: [[String: any Sendable]] = admitted.enumerated().map { n, response in
                ["idempotency_key": "use-\(n)", "principal_id": principal, "model": model, "input_tokens": 5_000, "output_tokens": 0,
                 "status": "success", "reservation_id": response["reservation_id"] ?? ""]
            }
            let stored = try await api.post("/v1/usage", ["events": events], key: t.adminKey)
            #expect(stored.json["accepted"] as? Int == admitted.count, "\(stored.text)")
            let budget = try await api.get("/v1/tenants/\(t.slug)/budgets/\(id)", key: t.adminKey)
            #expect(budget.json["spent_micros"] as? Int == admitted.count * 5_000, "\(budget.text)")
            // What is left now fits exactly (amount − spent) ÷ estimate more.
            let left = (amount - admitted.count * 5_000 - rest) / estimate
            var more = 0
            for _ in 0..<(left + 3) where try await Self.check(api, t, key, ["cost_estimate_micros": estimate]).json["allowed"] as? Bool == true {
                more += 1
            }
            #expect(more == left)
        }
    }

    @Test func aCostCentersBudgetStopsOnlyItsCostCenter() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "bcc")
            let id = try await Self.budget(api, t, ["cost_center": "lab", "amount_micros": 10_000, "hard_stop": true])
            let (labID, labKey) = try await api.principal(in: t, role: "viewer")
            let patched = try await api.patch("/v1/tenants/\(t.slug)/service-accounts/\(labID)", ["cost_center": "lab"], key: t.adminKey)
            try #require(patched.status == .ok, "\(patched.text)")
            let (otherID, otherKey) = try await api.principal(in: t, role: "viewer")
            #expect(try await Self.check(api, t, labKey, ["cost_estimate_micros": 20_000]).json["reason"] as? String == "budget_exhausted")
            #expect(try await Self.check(api, t, otherKey, ["cost_estimate_micros": 20_000]).json["allowed"] as? Bool == true)
            // A key of lab's own on the other principal is lab's use, from its first check.
            let labOnOther = try await api.post("/v1/tenants/\(t.slug)/api-keys", ["principal_id": otherID, "name": "lab", "cost_center": "lab"])
            let labOnOtherKey = try #require(labOnOther["key"], "\(labOnOther.text)")
            #expect(try await Self.check(api, t, labOnOtherKey, ["cost_estimate_micros": 20_000]).json["reason"] as? String == "budget_exhausted")
            #expect(try await Self.check(api, t, labKey, ["cost_estimate_micros": 9_000]).json["allowed"] as? Bool == true)
            // Without the hard stop the budget only alerts.
            let soft = try await api.patch("/v1/tenants/\(t.slug)/budgets/\(id)", ["hard_stop": false], key: t.adminKey)
            #expect(soft.status == .ok && soft.json["hard_stop"] as? Bool == false, "\(soft.text)")
            #expect(try await Self.check(api, t, labKey, ["cost_estimate_micros": 20_000]).json["allowed"] as? Bool == true)
        }
    }

    @Test func thresholdsAlertOnceEachWithAuditAndWebhook() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "balert")
            let model = try await Self.price(api, t)
            let hook = try await api.post("/v1/tenants/\(t.slug)/webhooks", ["url": "http://93.184.216.34/hook"], key: t.adminKey)
            let hookID = try #require(hook["id"], "\(hook.text)")
            let id = try await Self.budget(api, t, ["amount_micros": 10_000])
            let base = "/v1/tenants/\(t.slug)/budgets/\(id)"
            func use(_ key: String, input: Int) async throws {
                let stored = try await api.post(
                    "/v1/usage", ["idempotency_key": key, "model": model, "input_tokens": input, "output_tokens": 0, "status": "success"],
                    key: t.adminKey)
                try #require(stored.json["accepted"] as? Int == 1, "\(stored.text)")
            }
            let alerts = Fixture.jarvis
            // 60%: the 50% threshold, once however many passes run.
            try await use("a", input: 6_000)
            try await alerts().budgetAlerts.pass()
            try await alerts().budgetAlerts.pass()
            var budget = try await api.get(base, key: t.adminKey)
            var raised = (budget.json["alerts"] as? [[String: any Sendable]] ?? []).map { $0["threshold_percent"] as? Int ?? 0 }
            #expect(raised == [50] && budget.json["spent_micros"] as? Int == 6_000, "\(budget.text)")
            // 110%: 80 and 100 together.
            try await use("b", input: 5_000)
            try await alerts().budgetAlerts.pass()
            budget = try await api.get(base, key: t.adminKey)
            raised = (budget.json["alerts"] as? [[String: any Sendable]] ?? []).map { $0["threshold_percent"] as? Int ?? 0 }
            #expect(raised == [50, 80, 100] && budget.json["remaining_micros"] as? Int == 0, "\(budget.text)")

            let audit = try await api.get("/v1/tenants/\(t.slug)/audit-events?action=budget.threshold_crossed&limit=100", key: t.adminKey)
            #expect(audit.items.count == 3, "\(audit.text)")
            let deliveries = try await api.get("/v1/tenants/\(t.slug)/webhooks/\(hookID)/deliveries", key: t.adminKey)
            #expect(deliveries.items.filter { $0["event"] as? String == "budget.threshold" }.count == 3, "\(deliveries.text)")
        }
    }

    @Test func budgetsAreValidatedAuditedAndOnlyTheTenantsOwn() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "bval")
            let base = "/v1/tenants/\(t.slug)/budgets"
            let id = try await Self.budget(api, t, ["amount_micros": 5_000_000, "thresholds": [90, 50, 90]])
            let created = try await api.get("\(base)/\(id)", key: t.adminKey)
            #expect(created.json["thresholds"] as? [Int] == [50, 90] && created.json["cost_center"] == nil && created["currency"] != nil, "\(created.text)")
            try await api.post(base, ["amount_micros": 1], key: t.adminKey).expectProblem(.conflict)
            #expect(try await api.post(base, ["amount_micros": 1, "cost_center": "ops"], key: t.adminKey).status == .created)
            try await api.post(base, ["amount_micros": 1, "cost_center": "ops"], key: t.adminKey).expectProblem(.conflict)
            try await api.post(base, ["amount_micros": 0, "cost_center": "x1"], key: t.adminKey).expectProblem(.badRequest)
            try await api.post(base, ["amount_micros": 1.5, "cost_center": "x2"], key: t.adminKey).expectProblem(.badRequest)
            try await api.post(base, ["amount_micros": 1, "cost_center": "no spaces"], key: t.adminKey).expectProblem(.badRequest)
            try await api.post(base, ["amount_micros": 1, "cost_center": "x3", "thresholds": [Int]()], key: t.adminKey).expectProblem(.badRequest)
            try await api.post(base, ["amount_micros": 1, "cost_center": "x4", "thresholds": [0]], key: t.adminKey).expectProblem(.badRequest)
            try await api.post(base, ["amount_micros": 1, "cost_center": "x5", "currency": "EUR"], key: t.adminKey).expectProblem(.badRequest)
            try await api.patch("\(base)/\(id)", ["amount_micros": -1], key: t.adminKey).expectProblem(.badRequest)
            let changed = try await api.patch("\(base)/\(id)", ["amount_micros": 7_000_000, "check_reservation_micros": 100], key: t.adminKey)
            #expect(changed.json["amount_micros"] as? Int == 7_000_000 && changed.json["check_reservation_micros"] as? Int == 100, "\(changed.text)")
            #expect(try await api.get(base, key: t.adminKey).items.count == 2)
            #expect(try await api.delete("\(base)/\(id)", key: t.adminKey).status == .noContent)
            try await api.get("\(base)/\(id)", key: t.adminKey).expectProblem(.notFound)
            try await api.delete("\(base)/\(id)", key: t.adminKey).expectProblem(.notFound)
            let audit = try await api.get("/v1/tenants/\(t.slug)/audit-events?limit=100", key: t.adminKey)
            let actions = Set(audit.items.compactMap { $0["action"] as? String })
            #expect(actions.isSuperset(of: ["budget.create", "budget.update", "budget.delete"]), "\(actions)")

            // Finance reads budgets but does not set them; a viewer does neither; another tenant sees none.
            let (_, finance) = try await api.principal(in: t, role: "finance")
            #expect(try await api.get(base, key: finance).status == .ok)
            try await api.post(base, ["amount_micros": 1, "cost_center": "fin"], key: finance).expectProblem(.forbidden)
            let (_, viewer) = try await api.principal(in: t, role: "viewer")
            try await api.get(base, key: viewer).expectProblem(.forbidden)
            let other = try await api.seedTenant(prefix: "bval-o")
            try await api.get(base, key: other.adminKey).expectProblem(.notFound)
            #expect(try await api.get("/v1/tenants/\(other.slug)/budgets", key: other.adminKey).items.isEmpty)
        }
    }
}
