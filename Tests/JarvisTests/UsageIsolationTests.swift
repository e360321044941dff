import Foundation
import HTTPTypes
import JarvisAccess
import JarvisHTTP
import JarvisQuota
import JarvisStore
import Testing

/// One tenant's bad usage never costs another tenant's good usage; events name only their own
/// tenant's principals; what is reported back says what it is.
@Suite struct UsageIsolationTests {
    static func event(_ key: String, model: String = "gpt-x", principal: String? = nil) -> [String: any Sendable] {
        var event: [String: any Sendable] = ["idempotency_key": key, "model": model, "input_tokens": 3, "output_tokens": 4, "status": "success"]
        if let principal { event["principal_id"] = principal }
        return event
    }

    @Test(arguments: ["model", "idempotency_key", "model_version", "prompt_version"])
    func textWithControlCharactersIsRefusedNamingTheField(field: String) async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "nul")
            var bad = Self.event(UUID().uuidString)
            bad[field] = "bad\u{0}text"
            let refused = try await api.post("/v1/usage", bad, key: t.adminKey)
            refused.expectProblem(.badRequest, code: "invalid-input")
            #expect(refused["detail"]?.hasPrefix(field) == true, "\(refused.text)")
        }
    }

    /// Good and bad tenants reporting at once: every good event is stored and acknowledged, only
    /// the bad requests are refused.
    @Test func aBadTenantsEventsNeverCostAGoodTenantsEvents() async throws {
        try await Fixture.withAPI { api in
            let good = try await api.seedTenant(prefix: "good")
            let bad = try await api.seedTenant(prefix: "bad")
            let results = try await withThrowingTaskGroup(of: (Bool, HTTPResponse.Status).self) { group in
                for n in 0..<80 {
                    group.addTask {
                        if n % 2 == 0 {
                            let response = try await api.post("/v1/usage", Self.event("g-\(n)"), key: good.adminKey)
                            return (true, response.status)
                        }
                        let response = try await api.post("/v1/usage", Self.event("b-\(n)", model: "m\u{0}"), key: bad.adminKey)
                        return (false, response.status)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { $0.0 }.allSatisfy { $0.1 == .ok })
            #expect(results.filter { !$0.0 }.allSatisfy { $0.1 == .badRequest })
            let summary = try await api.get("/v1/tenants/\(good.slug)/usage?group_by=model", key: good.adminKey)
            #expect(summary.items.first?["events"] as? Int == 40, "\(summary.text)")
        }
    }

    /// Below the HTTP checks: if the database refuses one request's events inside a group commit,
    /// the others in that group are written alone and succeed; only the culprit fails.
    @Test func aGroupCommitRefusedForOneRequestStillStoresTheOthers() async throws {
        let writer = try await Fixture.jarvis().usage
        let tenant = PlatformTenant.id
        func event(_ key: String, model: String) -> UsageEvent {
            UsageEvent(
                tenantID: tenant, principalID: nil, model: model, modelVersion: nil, promptVersion: nil, inputTokens: 1, outputTokens: 1,
                latencyMs: nil, status: "success", occurredAt: Date(), idempotencyKey: "grp-\(key)-\(UUID().uuidString)", reservationID: nil)
        }
        let outcomes = await withTaskGroup(of: (Bool, Bool).self) { group in
            for n in 0..<60 {
                group.addTask {
                    let culprit = n % 10 == 0
                    do {
                        _ = try await writer.submit([event("\(n)", model: culprit ? "x\u{0}" : "fine")])
                        return (culprit, true)
                    } catch {
                        return (culprit, false)
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { !$0.0 }.allSatisfy { $0.1 }, "a good request failed with a bad one")
        #expect(outcomes.filter { $0.0 }.allSatisfy { !$0.1 })
    }

    /// A second transaction starts only once `gather` events wait: below that, requests arriving
    /// while one commits wait for it and go together (three eager lanes each took one request).
    @Test func requestsArrivingDuringACommitJoinTheNextInsteadOfStartingTheirOwn() async throws {
        let writer = UsageWriter(platform: Fixture.platform, engine: nil, logger: Fixture.logger, lanes: 3, gather: 64)
        let stored = try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask { try await writer.run(); return 0 }
            let stored = try await withThrowingTaskGroup(of: Int.self) { submits in
                for n in 0..<60 {
                    submits.addTask {
                        let event = UsageEvent(
                            tenantID: PlatformTenant.id, principalID: nil, model: "fine", modelVersion: nil, promptVersion: nil, inputTokens: 1,
                            outputTokens: 1, latencyMs: nil, status: "success", occurredAt: Date(),
                            idempotencyKey: "gather-\(n)-\(UUID().uuidString)", reservationID: nil)
                        return try await writer.submit([event]).count { $0 == .accepted }
                    }
                }
                return try await submits.reduce(0, +)
            }
            group.cancelAll()
            return stored
        }
        #expect(stored == 60)
        #expect(writer.mostInFlight == 1, "a lane started a transaction for fewer than gather events while another was in flight")
    }

    /// The other side of gathering: a single event arriving while a big batch commits starts its
    /// own transaction instead of waiting out the batch's.
    @Test func aSmallRequestIsNotHeldBehindABigBatch() async throws {
        let writer = UsageWriter(platform: Fixture.platform, engine: nil, logger: Fixture.logger, lanes: 3, gather: 64)
        func events(_ count: Int, _ tag: String) -> [UsageEvent] {
            (0..<count).map { n in
                UsageEvent(
                    tenantID: PlatformTenant.id, principalID: nil, model: "fine", modelVersion: nil, promptVersion: nil, inputTokens: 1,
                    outputTokens: 1, latencyMs: nil, status: "success", occurredAt: Date(),
                    idempotencyKey: "big-\(tag)-\(n)-\(UUID().uuidString)", reservationID: nil)
            }
        }
        let batch = events(2_000, "batch")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await writer.run() }
            async let big = writer.submit(batch)
            // Submitted once the batch is in flight (a 2,000-event statement takes tens of milliseconds).
            while writer.mostInFlight == 0 { try await Task.sleep(for: .milliseconds(1)) }
            let single = try await writer.submit(events(1, "single"))
            #expect(single == [.accepted])
            #expect(try await big.count { $0 == .accepted } == 2_000)
            group.cancelAll()
        }
        #expect(writer.mostInFlight == 2, "a single event waited for a big batch's transaction")
    }

    @Test func eventsNameOnlyTheirTenantsPrincipals() async throws {
        try await Fixture.withAPI { api in
            let a = try await api.seedTenant(prefix: "own-a")
            let b = try await api.seedTenant(prefix: "own-b")
            let (member, _) = try await api.principal(in: a, role: "viewer")
            try await api.post("/v1/usage", Self.event(UUID().uuidString, principal: b.adminID), key: a.adminKey)
                .expectProblem(.badRequest, code: "invalid-input")
            try await api.post("/v1/usage", Self.event(UUID().uuidString, principal: UUID().uuidString), key: a.adminKey)
                .expectProblem(.badRequest, code: "invalid-input")
            #expect(try await api.post("/v1/usage", Self.event(UUID().uuidString, principal: member), key: a.adminKey).status == .ok)
            #expect(try await api.post("/v1/usage", Self.event(UUID().uuidString, principal: a.adminID), key: a.adminKey).status == .ok)
            // Usage without a principal is reported as unattributed, not under a made-up id.
            #expect(try await api.post("/v1/usage", Self.event(UUID().uuidString), key: a.adminKey).status == .ok)
            let summary = try await api.get("/v1/tenants/\(a.slug)/usage?group_by=principal", key: a.adminKey)
            let keys = summary.items.map { $0["key"] as? String ?? "null" }
            #expect(Set(keys) == [member, a.adminID, "null"], "\(summary.text)")
            #expect(summary.text.contains(#""key":null"#))
        }
    }

    @Test func aCheckWithoutATokenBudgetReservesNothing() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "nores")
            let body: [String: any Sendable] = ["credential": t.adminKey, "permission": "documents:read", "quota": ["tokens_estimate": 100]]
            let unlimited = try await api.post("/v1/check", body, key: t.adminKey)
            #expect(unlimited.json["allowed"] as? Bool == true && unlimited.json["reservation_id"] == nil, "\(unlimited.text)")
            _ = try await QuotaTests.policy(api, t, ["metric": "tokens_daily", "limit": 1000])
            let budgeted = try await api.post("/v1/check", body, key: t.adminKey)
            #expect(budgeted.json["reservation_id"] as? String != nil, "\(budgeted.text)")
        }
    }
}
