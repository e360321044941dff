import Foundation
import HTTPTypes
import JarvisBilling
import JarvisConfiguration
import JarvisStore
import Testing

/// The price book and rating at ingestion: integer money to the micro-unit, the price in force at
/// each event's time (a change mid-month, an event exactly at the change), overrides, unpriced
/// events listed and re-rated later, prices never rewritten.
@Suite(.serialized) struct PriceBookTests {
    static func iso(_ date: Date) -> String { Timestamp.format(date) }

    /// A model name no other test or run uses: platform prices are shared by every tenant.
    static func model() -> String { "rated-\(UUIDv7.make().lowercasedString.suffix(12))" }

    @Test func eventsCostThePriceInForceWhenTheyOccurredToTheMicroUnit() async throws {
        try await Fixture.withAPI { api in
            let tenant = try await api.seedTenant(prefix: "bill-rate")
            let model = Self.model()
            // Whole seconds, ten days ago, and a new price five days later.
            let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 10 * 86_400).rounded(.down))
            let change = start.addingTimeInterval(5 * 86_400)
            for (from, input, output) in [(start, 2_000_000, 6_000_000), (change, 1_500_000, 4_500_001)] {
                let price = try await api.post(
                    "/v1/tenants/platform/prices",
                    ["model": model, "currency": "USD", "input_micros_per_million": input, "output_micros_per_million": output,
                     "effective_from": Self.iso(from)])
                try #require(price.status == .created, "\(price.text)")
            }
            let events: [(Date, Int, Int)] = [
                (start.addingTimeInterval(3_600), 1_234_567, 7_654_321),  // old price: 2,469,134 + 45,925,926
                (change.addingTimeInterval(-1), 1_000_000, 0),  // the last second of the old price: 2,000,000
                (change, 333, 0),  // exactly at the change, new price: 499.5 → 500 (half up)
                (change.addingTimeInterval(60), 1, 1),  // 1.5 + 4.500001 = 6.000001 → 6
                (change.addingTimeInterval(120), 0, 1_000_000),  // 4,500,001
            ]
            let expected: Int64 = 2_469_134 + 45_925_926 + 2_000_000 + 500 + 6 + 4_500_001
            let body: [[String: any Sendable]] = events.enumerated().map { n, event in
                ["idempotency_key": "rate-\(n)", "model": model, "input_tokens": event.1, "output_tokens": event.2, "status": "success",
                 "timestamp": Self.iso(event.0)]
            }
            let stored = try await api.post("/v1/usage", ["events": body], key: tenant.adminKey)
            try #require(stored.json["accepted"] as? Int == events.count, "\(stored.text)")
            let summary = try await api.get(
                "/v1/tenants/\(tenant.slug)/usage?group_by=model&from=\(Self.iso(start).prefix(10))", key: tenant.adminKey)
            let line = try #require(summary.items.first { $0["key"] as? String == model }, "\(summary.text)")
            #expect((line["cost_micros"] as? NSNumber)?.int64Value == expected, "\(line)")
            #expect(line["unpriced_events"] as? Int == 0)

            // The same figure event by event, as stored.
            let tenantID = try #require(UUID(uuidString: tenant.tenantID))
            let perEvent = try await Fixture.platform.withTenant(tenantID) { tx in
                try await tx.query("SELECT sum(cost_micros) AS total, count(price_id) AS priced FROM usage_events WHERE tenant_id = $1", [tenantID]).first
            }
            #expect(try perEvent?.int("total") == Int(expected))
            #expect(try perEvent?.int("priced") == events.count)
        }
    }

    /// Every rung of the precedence ladder in one batch (the ledger reads the book once per
    /// model and version and picks once per timestamp), and each stored cost equals what
    /// `jarvis_rate`, which re-rating uses, gives for the same event.
    @Test func oneBatchClimbsThePrecedenceLadderAsReratingDoes() async throws {
        try await Fixture.withAPI { api in
            let tenant = try await api.seedTenant(prefix: "bill-ladder")
            try #require(try await api.patch("/v1/tenants/\(tenant.slug)", ["plan": "gold"]).status == .ok)
            let model = Self.model()
            let t0 = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 10 * 86_400).rounded(.down))
            let (t1, t2, t3) = (t0.addingTimeInterval(2 * 86_400), t0.addingTimeInterval(4 * 86_400), t0.addingTimeInterval(5 * 86_400))
            let prices: [(path: String, version: String, plan: String, from: Date, input: Int)] = [
                ("platform", "", "", t0, 1_000_000),  // every plan, every version
                ("platform", "v2", "", t0, 2_000_000),  // every plan, version v2
                ("platform", "", "other", t0, 9_000_000),  // another plan: never this tenant's
                ("platform", "", "gold", t1, 3_000_000),  // the tenant's plan outranks a version price
                (tenant.slug, "", "", t2, 4_000_000),  // the tenant's own outranks everything
                ("platform", "", "", t3, 5_000_000),  // newer, but it outranks nothing above
            ]
            for price in prices {
                let created = try await api.post(
                    "/v1/tenants/\(price.path)/prices",
                    ["model": model, "model_version": price.version, "plan": price.plan, "currency": "USD",
                     "input_micros_per_million": price.input, "output_micros_per_million": 0, "effective_from": Self.iso(price.from)])
                try #require(created.status == .created, "\(created.text)")
            }
            let hour: TimeInterval = 3_600
            // (key, model, version, time, expected cost with 1,000,000 input tokens; nil: unpriced)
            let events: [(String, String, String?, Date, Int?)] = [
                ("v1-early", model, "v1", t0.addingTimeInterval(hour), 1_000_000),
                ("v2-early", model, "v2", t0.addingTimeInterval(hour), 2_000_000),
                ("v2-plan", model, "v2", t1.addingTimeInterval(hour), 3_000_000),
                ("none-plan", model, nil, t1.addingTimeInterval(hour), 3_000_000),
                ("v2-before-own", model, "v2", t2.addingTimeInterval(-1), 3_000_000),
                ("v2-own", model, "v2", t2, 4_000_000),
                ("v1-own", model, "v1", t2.addingTimeInterval(hour), 4_000_000),
                ("v2-own-newer-general", model, "v2", t3.addingTimeInterval(hour), 4_000_000),
                ("before-any", model, "v1", t0.addingTimeInterval(-1), nil),
                ("other-model", model + "-x", "v2", t2, nil),
            ]
            let body: [[String: any Sendable]] = events.map { event in
                var json: [String: any Sendable] = [
                    "idempotency_key": event.0, "model": event.1, "input_tokens": 1_000_000, "output_tokens": 0, "status": "success",
                    "timestamp": Self.iso(event.3),
                ]
                if let version = event.2 { json["model_version"] = version }
                return json
            }
            let stored = try await api.post("/v1/usage", ["events": body], key: tenant.adminKey)
            try #require(stored.json["accepted"] as? Int == events.count, "\(stored.text)")

            let tenantID = try #require(UUID(uuidString: tenant.tenantID))
            let rows = try await Fixture.platform.withTenant(tenantID) { tx in
                try await tx.query(
                    """
                    SELECT e.idempotency_key, e.cost_micros, r.cost_micros AS by_rate, COALESCE(e.price_id = r.price_id, false) AS same_price
                    FROM usage_events e
                    LEFT JOIN LATERAL jarvis_rate(e.tenant_id, e.model, e.model_version, e.occurred_at, e.input_tokens, e.output_tokens) r ON true
                    WHERE e.tenant_id = $1
                    """, [tenantID]
                ).all
            }
            try #require(rows.count == events.count)
            for row in rows {
                let key = try row.string("idempotency_key")
                let expected = try #require(events.first { $0.0 == key }).4
                #expect(try row.optionalInt("cost_micros") == expected, "\(key)")
                #expect(try row.optionalInt("by_rate") == expected, "\(key) by jarvis_rate")
                if expected != nil { #expect(try row.bool("same_price"), "\(key)") }
            }
        }
    }

    @Test func aTenantOverrideWinsAndUnpricedUsageIsListedThenRerated() async throws {
        try await Fixture.withAPI { api in
            let tenant = try await api.seedTenant(prefix: "bill-override")
            let model = Self.model()
            let earlier = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 3 * 86_400).rounded(.down))
            // No price yet: the event is stored, its cost unknown.
            let first = try await api.post(
                "/v1/usage",
                ["idempotency_key": "early", "model": model, "model_version": "2.0.0", "input_tokens": 1_000_000, "output_tokens": 0,
                 "status": "success", "timestamp": Self.iso(earlier)], key: tenant.adminKey)
            try #require(first.json["accepted"] as? Int == 1, "\(first.text)")
            let unpriced = try await api.get("/v1/tenants/\(tenant.slug)/usage/unpriced", key: tenant.adminKey)
            #expect(unpriced.items.first?["model"] as? String == model, "\(unpriced.text)")
            #expect(unpriced.items.first?["events"] as? Int == 1)

            // A platform price for every version, and this tenant's cheaper override, both from before the event.
            let from = Self.iso(earlier.addingTimeInterval(-86_400))
            for (path, input) in [("platform", 3_000_000), (tenant.slug, 1_000_000)] {
                let price = try await api.post(
                    "/v1/tenants/\(path)/prices",
                    ["model": model, "currency": "USD", "input_micros_per_million": input, "output_micros_per_million": 0, "effective_from": from])
                try #require(price.status == .created, "\(price.text)")
            }
            // Tenants never price themselves.
            try await api.post(
                "/v1/tenants/\(tenant.slug)/prices",
                ["model": model, "currency": "USD", "input_micros_per_million": 1, "output_micros_per_million": 1, "effective_from": from],
                key: tenant.adminKey
            ).expectProblem(.forbidden)
            let rerated = try await api.post("/v1/tenants/\(tenant.slug)/usage/rerate", [:])
            #expect(rerated.json["events"] as? Int == 1, "\(rerated.text)")
            #expect(rerated.json["cost_micros"] as? Int == 1_000_000)
            #expect(try await api.get("/v1/tenants/\(tenant.slug)/usage/unpriced", key: tenant.adminKey).items.isEmpty)
            let summary = try await api.get("/v1/tenants/\(tenant.slug)/usage?group_by=model&from=\(Self.iso(earlier).prefix(10))", key: tenant.adminKey)
            let line = try #require(summary.items.first { $0["key"] as? String == model }, "\(summary.text)")
            #expect(line["cost_micros"] as? Int == 1_000_000)
            #expect(line["unpriced_events"] as? Int == 0)
            // New events use the override too.
            let later = try await api.post(
                "/v1/usage", ["idempotency_key": "late", "model": model, "input_tokens": 500_000, "output_tokens": 0, "status": "success"],
                key: tenant.adminKey)
            try #require(later.json["accepted"] as? Int == 1, "\(later.text)")
            let audit = try await api.get("/v1/tenants/\(tenant.slug)/audit-events?action=usage.rerate", key: tenant.adminKey)
            #expect(audit.items.count == 1, "\(audit.text)")
        }
    }

    @Test func withRatingOffUsageIsStoredUnpricedAndRatedLater() async throws {
        try await Fixture.withCustomServer({ $0.usageRatingOff = true }) { api, _ in
            let tenant = try await api.seedTenant(prefix: "bill-off")
            let model = "off-\(UUIDv7.make().lowercasedString.prefix(8))"
            let price = try await api.post(
                "/v1/tenants/\(tenant.slug)/prices",
                ["model": model, "currency": "USD", "input_micros_per_million": 2_000_000, "output_micros_per_million": 0,
                 "effective_from": "2020-01-01T00:00:00Z"])
            try #require(price.status == .created, "\(price.text)")
            let usage = try await api.post(
                "/v1/usage", ["idempotency_key": "off-1", "model": model, "input_tokens": 500_000, "output_tokens": 1, "status": "success"],
                key: tenant.adminKey)
            try #require(usage.json["accepted"] as? Int == 1, "\(usage.text)")
            let unpriced = try await api.get("/v1/tenants/\(tenant.slug)/usage/unpriced", key: tenant.adminKey)
            #expect(unpriced.items.first?["model"] as? String == model, "\(unpriced.text)")
            let rerated = try await api.post("/v1/tenants/\(tenant.slug)/usage/rerate", [:])
            #expect(rerated.json["cost_micros"] as? Int == 1_000_000, "\(rerated.text)")
        }
    }

    @Test func pricesAreNeverRewrittenAndBadPricesAreRefused() async throws {
        try await Fixture.withAPI { api in
            let model = Self.model()
            let good: [String: any Sendable] = [
                "model": model, "currency": "USD", "input_micros_per_million": 10, "output_micros_per_million": 20,
                "effective_from": "2026-01-01T00:00:00Z",
            ]
            #expect(try await api.post("/v1/tenants/platform/prices", good).status == .created)
            try await api.post("/v1/tenants/platform/prices", good).expectProblem(.conflict)
            for (field, value) in [
                ("currency", "usd" as any Sendable), ("currency", "EUR"), ("input_micros_per_million", -1),
                ("output_micros_per_million", 1_000_000_000_001), ("effective_from", "yesterday"), ("model", ""),
            ] {
                var bad = good
                bad[field] = value
                bad["effective_from"] = field == "effective_from" ? value : "2026-02-01T00:00:00Z"
                let refused = try await api.post("/v1/tenants/platform/prices", bad)
                #expect(refused.status == .badRequest || refused.status == .conflict, "\(field)=\(value): \(refused.text)")
            }
            await #expect(throws: (any Error).self) {
                try await Fixture.platform.withTransaction { tx in
                    _ = try await tx.query("UPDATE prices SET input_micros_per_million = 0 WHERE model = $1", [model])
                }
            }
            await #expect(throws: (any Error).self) {
                try await Fixture.platform.withTransaction { tx in _ = try await tx.query("DELETE FROM prices WHERE model = $1", [model]) }
            }
        }
    }
}
