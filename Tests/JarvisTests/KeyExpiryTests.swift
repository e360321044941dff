import Foundation
import HTTPTypes
import JarvisCrypto
import JarvisIdentity
import JarvisQuota
import JarvisStore
import Testing

/// Idempotency keys are forgotten once they can no longer matter, so their tables stop growing
/// with every request ever made — and no event is counted twice for it. Serialized: each test
/// counts what its own sweep deleted, which another sweep running alongside would take.
@Suite(.serialized) struct KeyExpiryTests {
    static let owner = Fixture.database("JARVIS_OWNER_DATABASE_URL")

    static func usageKeys(_ tenantID: String) async throws -> Set<String> {
        let rows = try await Fixture.platform.query(
            "SELECT idempotency_key FROM usage_event_keys WHERE tenant_id = $1::uuid", [tenantID])
        return Set(try rows.all.map { try $0.string("idempotency_key") })
    }

    @Test func usageKeysAreForgottenAfter36DaysAndAnEventThatOldIsRefused() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "kexp")
            func event(_ key: String, daysAgo: Double = 0) -> [String: any Sendable] {
                let when = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-daysAgo * 86_400))
                return ["idempotency_key": key, "model": "m", "input_tokens": 1, "output_tokens": 1, "status": "success", "timestamp": when]
            }
            for key in ["old", "edge", "new"] {
                #expect(try await api.post("/v1/usage", event(key), key: t.adminKey).json["accepted"] as? Int == 1)
            }
            // As if "old" had arrived 36 days and an hour ago, "edge" 35 days ago (the owner may
            // rewrite the table; no application role can).
            let tenantID = try #require(UUID(uuidString: t.tenantID))
            try await Self.owner.withTenant(tenantID) { tx in
                try await tx.query(
                    """
                    UPDATE usage_event_keys SET received_at = now() - CASE idempotency_key WHEN 'old' THEN interval '36 days 1 hour'
                                                                                   ELSE interval '35 days' END
                    WHERE tenant_id = $1 AND idempotency_key IN ('old', 'edge')
                    """, [tenantID])
            }
            let sweep = UsageLedger.keyExpiry(platform: Fixture.platform)
            #expect(try await sweep.pass() >= 1)
            #expect(try await Self.usageKeys(t.tenantID) == ["edge", "new"])
            // A retry of an event as old as a forgotten key is refused as too old, never counted again;
            // "edge" is still a duplicate.
            try await api.post("/v1/usage", event("old", daysAgo: 36), key: t.adminKey).expectProblem(.badRequest)
            let edge = try await api.post("/v1/usage", event("edge", daysAgo: 34.9), key: t.adminKey)
            #expect(edge.json["duplicates"] as? Int == 1, "\(edge.text)")
            // The key itself is free again: a new event under it is stored.
            #expect(try await api.post("/v1/usage", event("old"), key: t.adminKey).json["accepted"] as? Int == 1)
            let summary = try await api.get("/v1/tenants/\(t.slug)/usage?group_by=model", key: t.adminKey)
            #expect(summary.items.first?["events"] as? Int == 4, "\(summary.text)")
        }
    }

    /// Usage keys are found by a digest of their text (migration 0033): the first 16 bytes of the
    /// SHA-256 of its UTF-8, computed here independently. Keys that differ in one character or in case
    /// stay apart; each repeated exactly is a duplicate, whatever its script or length.
    @Test func usageKeysAreMatchedByADigestOfTheirText() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "kdigest")
            let keys = ["é-ключ-🔑", String(repeating: "k", count: 200), "case", "Case", "case "]
            let events: [[String: any Sendable]] = keys.map {
                ["idempotency_key": $0, "model": "m", "input_tokens": 1, "output_tokens": 1, "status": "success"]
            }
            #expect(try await api.post("/v1/usage", ["events": events], key: t.adminKey).json["accepted"] as? Int == keys.count)
            let again = try await api.post("/v1/usage", ["events": events], key: t.adminKey)
            #expect(again.json["accepted"] as? Int == 0 && again.json["duplicates"] as? Int == keys.count, "\(again.text)")
            let rows = try await Fixture.platform.query(
                "SELECT idempotency_key, key_digest::text AS digest FROM usage_event_keys WHERE tenant_id = $1::uuid", [t.tenantID])
            let stored = Dictionary(uniqueKeysWithValues: try rows.all.map { (try $0.string("idempotency_key"), try $0.string("digest")) })
            for key in keys {
                let hex = Hex.encode(Array(SHA256.hash(key).prefix(16)))
                #expect(stored[key]?.replacingOccurrences(of: "-", with: "") == hex, "\(key)")
            }
            // The ledger writes the expression out; the migration filled old rows through the function.
            let same = try await Fixture.platform.query(
                "SELECT bool_and(key_digest = jarvis_usage_key_digest(idempotency_key)) AS same FROM usage_event_keys WHERE tenant_id = $1::uuid",
                [t.tenantID])
            #expect(try same.first?.bool("same") == true)
        }
    }

    @Test func aSweepDeletesInChunksUntilNothingExpiredIsLeft() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "kexp-chunk")
            let events: [[String: any Sendable]] = (0..<7).map {
                ["idempotency_key": "k\($0)", "model": "m", "input_tokens": 1, "output_tokens": 1, "status": "success"]
            }
            #expect(try await api.post("/v1/usage", ["events": events], key: t.adminKey).json["accepted"] as? Int == 7)
            let tenantID = try #require(UUID(uuidString: t.tenantID))
            try await Self.owner.withTenant(tenantID) { tx in
                try await tx.query(
                    "UPDATE usage_event_keys SET received_at = now() - interval '40 days' WHERE tenant_id = $1 AND idempotency_key <> 'k6'", [tenantID])
            }
            // Chunks of two, at most two a pass: 4, then 2 (a short chunk ends the pass), then none.
            let sweep = UsageLedger.keyExpiry(platform: Fixture.platform, chunk: 2, chunksPerPass: 2)
            let first = try await sweep.pass(), second = try await sweep.pass()
            #expect(first == 4 && second >= 2, "\(first), \(second)")
            #expect(try await Self.usageKeys(t.tenantID) == ["k6"])
        }
    }

    @Test func storedAnswersAreForgottenAfterADay() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "kexp-http")
            let header = HTTPField.Name("Idempotency-Key")!
            for key in ["day-old", "fresh"] {
                let created = try await api.request(
                    .post, "/v1/tenants/\(t.slug)/service-accounts", key: t.adminKey, body: API.encode(["name": key]), headers: [header: key])
                #expect(created.status == .created, "\(created.text)")
            }
            let tenantID = try #require(UUID(uuidString: t.tenantID))
            try await Fixture.app.withTenant(tenantID) { tx in
                try await tx.query(
                    "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE tenant_id = $1 AND key = 'day-old'", [tenantID])
            }
            #expect(try await IdempotencyKeys.expiry(platform: Fixture.platform).pass() >= 1)
            let left = try await Fixture.platform.query("SELECT key FROM idempotency_keys WHERE tenant_id = $1", [tenantID])
            #expect(try left.all.map { try $0.string("key") } == ["fresh"])
        }
    }

    @Test func failedSignInsAreForgottenADayLaterUnlessALockoutHolds() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "kexp-login")
            let tenantID = try #require(UUID(uuidString: t.tenantID))
            try await Fixture.app.withTenant(tenantID) { tx in
                try await tx.query(
                    """
                    INSERT INTO login_failures (tenant_id, email_key, failures, last_failure_at, locked_until) VALUES
                        ($1, 'made-up@example.com', 1, now() - interval '25 hours', NULL),
                        ($1, 'locked@example.com', 9, now() - interval '25 hours', now() + interval '1 hour'),
                        ($1, 'was-locked@example.com', 9, now() - interval '25 hours', now() - interval '1 hour'),
                        ($1, 'recent@example.com', 2, now() - interval '23 hours', NULL)
                    """, [tenantID])
            }
            #expect(try await LoginService.failureExpiry(platform: Fixture.platform).pass() >= 2)
            let left = try await Fixture.platform.query("SELECT email_key FROM login_failures WHERE tenant_id = $1 ORDER BY email_key", [tenantID])
            #expect(try left.all.map { try $0.string("email_key") } == ["locked@example.com", "recent@example.com"])
        }
    }

    @Test func refreshTokenFamiliesAreForgottenAMonthAfterTheirNewestTokenExpired() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "kexp-refresh")
            let tenantID = try #require(UUID(uuidString: t.tenantID))
            // Families by their tokens' expiry, in days from now: "ended" long ago (both tokens),
            // "live" (an old spent token and a current one), "recent" (ended 10 days ago).
            let families: [(name: String, expiries: [Int])] = [("ended", [-45, -31]), ("live", [-40, 20]), ("recent", [-10])]
            var ids: [String: UUID] = [:]
            try await Fixture.platform.withTenant(tenantID) { tx in
                for family in families {
                    let familyID = UUID()
                    ids[family.name] = familyID
                    for days in family.expiries {
                        let tokenID = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16))
                        try await tx.query(
                            """
                            INSERT INTO refresh_tokens (tenant_id, id, token_id, family_id, principal_id, secret_hash, expires_at, used_at)
                            VALUES ($1, gen_random_uuid(), $2, $3, $4::uuid, decode(repeat('00', 32), 'hex'), now() + make_interval(days => $5),
                                    CASE WHEN $5 < 0 THEN now() END)
                            """, [tenantID, tokenID, familyID, t.adminID, days])
                    }
                }
            }
            #expect(try await RefreshTokenStore.expiry(platform: Fixture.platform).pass() >= 2)
            let left = try await Fixture.platform.query(
                "SELECT family_id, count(*) AS n FROM refresh_tokens WHERE tenant_id = $1 GROUP BY family_id", [tenantID])
            let counts = Dictionary(uniqueKeysWithValues: try left.all.map { (try $0.uuid("family_id"), try $0.int("n")) })
            #expect(counts[try #require(ids["ended"])] == nil)
            #expect(counts[try #require(ids["live"])] == 2)
            #expect(counts[try #require(ids["recent"])] == 1)
        }
    }

    @Test func finishedWebhookDeliveriesAreForgottenAfterAMonth() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "kexp-hook")
            let hook = try await api.post("/v1/tenants/\(t.slug)/webhooks", ["url": "http://93.184.216.34/hook"], key: t.adminKey)
            let hookID = try #require(hook["id"], "\(hook.text)")
            let tenantID = try #require(UUID(uuidString: t.tenantID))
            try await Fixture.platform.withTenant(tenantID) { tx in
                try await tx.query(
                    """
                    INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event, payload, status, next_attempt_at, created_at)
                    SELECT $1, gen_random_uuid(), $2::uuid, 'quota.warning', '{}', s, now() + interval '1 day', now() - make_interval(days => d)
                    FROM (VALUES ('delivered', 31), ('failed', 40), ('pending', 40), ('delivered', 29)) AS v(s, d)
                    """, [tenantID, hookID])
            }
            #expect(try await WebhookStore.deliveryExpiry(platform: Fixture.platform).pass() >= 2)
            let left = try await Fixture.platform.query(
                """
                SELECT status, round(extract(epoch FROM now() - created_at) / 86400)::int AS days FROM webhook_deliveries
                WHERE tenant_id = $1 ORDER BY days
                """, [tenantID])
            #expect(try left.all.map { "\(try $0.string("status")) \(try $0.int("days"))" } == ["delivered 29", "pending 40"])
        }
    }
}
