import Foundation
import HTTPTypes
import JarvisAccess
import JarvisAudit
import JarvisHTTP
import JarvisStore
import Testing

/// Access events: the hot path's decisions as one event per group and minute, the admin API's
/// reads as one event each, both in the `access` category of the tenant's log.
@Suite struct AccessEventTests {
    static func events(_ api: API, _ tenant: API.Seeded, action: String) async throws -> [[String: any Sendable]] {
        let page = try await api.get("/v1/tenants/\(tenant.slug)/audit-events?category=access&action=\(action)&limit=200", key: tenant.adminKey)
        #expect(page.status == .ok, "\(page.text)")
        return page.items
    }

    @Test func hotPathDecisionsAreCountedPerMinuteNeverARowPerCheck() async throws {
        try await Fixture.withAPI { api in
            let gateway = try await CheckTests.gateway(api)
            let t = try await api.seedTenant(prefix: "acc-chk")
            let (viewerID, viewer) = try await api.principal(in: t, role: "viewer")
            for _ in 0..<25 { _ = try await CheckTests.check(api, ["credential": viewer, "permission": "documents:read"], key: gateway) }
            for _ in 0..<7 { _ = try await CheckTests.check(api, ["credential": viewer, "permission": "documents:write"], key: gateway) }
            await (try await Fixture.jarvis()).accessTally.flush(all: true)
            let events = try await Self.events(api, t, action: "access.decisions")
            func total(_ permission: String, _ outcome: String) -> (count: Int, rows: Int) {
                let rows = events.filter { $0["target_id"] as? String == permission && $0["outcome"] as? String == outcome }
                return (rows.reduce(0) { $0 + (($1["details"] as? [String: any Sendable])?["count"] as? Int ?? 0) }, rows.count)
            }
            let allowed = total("documents:read", "success"), denied = total("documents:write", "denied")
            #expect(allowed.count == 25 && denied.count == 7, "\(events)")
            // One row per group and minute: the checks may straddle one minute boundary, no more.
            #expect((1...2).contains(allowed.rows) && (1...2).contains(denied.rows))
            let refusal = try #require(events.first { $0["target_id"] as? String == "documents:write" })
            #expect(refusal["actor_id"] as? String == viewerID)
            #expect((refusal["details"] as? [String: any Sendable])?["reason"] as? String == "permission_denied")
            #expect((refusal["details"] as? [String: any Sendable])?["source"] as? String == "check")
            // Access events are neither security nor operation events.
            let security = try await api.get("/v1/tenants/\(t.slug)/audit-events?category=security&action=access.decisions", key: t.adminKey)
            #expect(security.items.isEmpty)
        }
    }

    @Test func groupsBeyondTheBoundAreDroppedNotGrown() async throws {
        let tally = AccessTally(platform: Fixture.platform, logger: Fixture.logger, capacity: 2, shards: 1)
        let tenant = PlatformTenant.id
        for permission in ["a:read", "b:read", "c:read", "a:read"] {
            tally.count(AccessTally.Key(
                tenantID: tenant, principalID: nil, principalKind: .system, source: "check", permission: permission, outcome: .success,
                reason: nil))
        }
        // Two groups kept (a:read twice), the third dropped; the next minute starts empty again.
        #expect(await tally.flush(all: true) == 2)
        #expect(await tally.flush(all: true) == 0)
    }

    @Test func adminReadsAreRecordedOneEventEach() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "acc-read")
            let (viewerID, viewer) = try await api.principal(in: t, role: "viewer")
            #expect(try await api.get("/v1/tenants/\(t.slug)/api-keys", key: t.adminKey).status == .ok)
            #expect(try await api.get("/v1/tenants/\(t.slug)/webhooks", key: viewer).status == .forbidden)
            await (try await Fixture.jarvis()).readEvents.flush()
            let reads = try await Self.events(api, t, action: "api.read")
            let listed = try #require(reads.first { ($0["details"] as? [String: any Sendable])?["path"] as? String == "/v1/tenants/\(t.slug)/api-keys" })
            #expect(listed["outcome"] as? String == "success" && (listed["target_id"] as? String)?.hasSuffix("api-keys") == true)
            #expect((listed["details"] as? [String: any Sendable])?["status"] as? Int == 200)
            let refused = try #require(reads.first { $0["actor_id"] as? String == viewerID })
            #expect(refused["outcome"] as? String == "denied")
            #expect((refused["details"] as? [String: any Sendable])?["status"] as? Int == 403)
        }
    }
}
