import Foundation
import HTTPTypes
import JarvisAccess
import JarvisCache
import JarvisHTTP
import JarvisStore
import Testing

/// Two application instances on one database, each with its own credential cache.
@Suite struct InvalidationTests {
    /// Polls `check` until it holds or `limit` passes. - Returns: how long it took.
    static func until(_ limit: Duration = .seconds(1), _ check: () async throws -> Bool) async throws -> Duration? {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < limit {
            if try await check() { return clock.now - start }
            try await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    @Test func aKeyRevokedOnOneInstanceIsRefusedOnTheOtherWithinOneSecond() async throws {
        let (tenant, keyID, key) = try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "inv")
            let (id, key) = try await api.principal(in: t, role: "viewer")
            let keys = try await api.get("/v1/tenants/\(t.slug)/api-keys?principal_id=\(id)", key: t.adminKey)
            return (t, try #require(keys.items.first?["id"] as? String), key)
        }
        try await Fixture.withCustomAPI({ _ in }) { b, instanceB in
            // B caches the key.
            #expect(try await b.get("/v1/me", key: key).status == .ok)
            #expect(try await b.get("/v1/me", key: key).status == .ok)
            #expect(instanceB.credentials.count > 0)
            // A revokes it.
            let revoked = try await Fixture.withAPI { a in try await a.delete("/v1/tenants/\(tenant.slug)/api-keys/\(keyID)", key: tenant.adminKey).status }
            #expect(revoked == .ok)
            let took = try await Self.until { try await b.get("/v1/me", key: key).status == .unauthorized }
            #expect(took != nil, "B still accepted the revoked key after 1 s")
            if let took { print("revocation reached the other instance in \(took)") }
        }
    }

    @Test func theInstanceThatChangesSomethingNeverServesItStale() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "ryw")
            let (id, key) = try await api.principal(in: t, role: "developer")
            for _ in 0..<3 { #expect(try await api.get("/v1/tenants/\(t.slug)", key: key).status == .ok) }
            let bindings = try await api.get("/v1/tenants/\(t.slug)/role-bindings?principal_id=\(id)", key: t.adminKey)
            let binding = try #require(bindings.items.first?["id"] as? String)
            #expect(try await api.delete("/v1/tenants/\(t.slug)/role-bindings/\(binding)", key: t.adminKey).status == .noContent)
            // The very next request, no waiting: the role is gone.
            try await api.get("/v1/tenants/\(t.slug)", key: key).expectProblem(.forbidden)
            _ = try await api.patch("/v1/tenants/\(t.slug)", ["status": "suspended"])
            try await api.get("/v1/me", key: key).expectProblem(.forbidden, code: "tenant-suspended")
        }
    }

    @Test func aChangeMadeStraightInTheDatabaseReachesTheCacheToo() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "sql")
            let (id, key) = try await api.principal(in: t, role: "viewer")
            #expect(try await api.get("/v1/me", key: key).status == .ok)
            try await Fixture.platform.query("UPDATE principals SET status = 'disabled' WHERE id = $1::uuid", [id])
            let took = try await Self.until { try await api.get("/v1/me", key: key).status == .unauthorized }
            #expect(took != nil)
        }
    }

    @Test func recordingAKeysLastUseEvictsNothingButRevokingItDoes() async throws {
        try await Fixture.withCustomAPI({ _ in }) { api, instance in
            let t = try await api.seedTenant(prefix: "quiet")
            let (_, key) = try await api.principal(in: t, role: "viewer")
            #expect(try await api.get("/v1/me", key: key).status == .ok)
            let tenantID = try #require(UUID(uuidString: t.tenantID))
            #expect(instance.credentials.count(tenantID: tenantID) == 1)
            let keyID = String(key.dropFirst(4).prefix(16))
            try await Fixture.platform.query("UPDATE api_keys SET last_used_at = now() WHERE key_id = $1", [keyID])
            try await Task.sleep(for: .milliseconds(300))
            #expect(instance.credentials.count(tenantID: tenantID) == 1, "a last-use write evicted the tenant")
            try await Fixture.platform.query("UPDATE api_keys SET revoked_at = now() WHERE key_id = $1", [keyID])
            #expect(try await Self.until { instance.credentials.count(tenantID: tenantID) == 0 } != nil)
        }
    }

    @Test func concurrentMissesLoadOnceAndFailuresAreNotCached() async throws {
        let cache = CredentialCache(capacity: 100)
        let loads = LoadCounter()
        let digest = CredentialCache.Key(high: 7, low: 7)
        let tenantID = UUIDv7.make()
        let expected = Caller(tenantID: tenantID, tenantSlug: "t", principalID: UUIDv7.make(), kind: .serviceAccount, roles: [], apiKeyID: nil)
        let answers = await withTaskGroup(of: UUID?.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    try? await cache.caller(key: digest) {
                        await loads.increment()
                        try await Task.sleep(for: .milliseconds(50))
                        return (expected, Date().addingTimeInterval(60))
                    }.principalID
                }
            }
            return await group.reduce(into: [UUID?]()) { $0.append($1) }
        }
        #expect(await loads.value == 1)
        #expect(answers.allSatisfy { $0 == expected.principalID })
        // Invalidating the tenant makes the next ask load again; a failed load is not kept.
        cache.invalidate(tenantID: tenantID)
        await #expect(throws: CancellationError.self) { try await cache.caller(key: digest) { throw CancellationError() } }
        _ = try await cache.caller(key: digest) { await loads.increment(); return (expected, Date().addingTimeInterval(60)) }
        #expect(await loads.value == 2)
        // An expired credential is not served from memory.
        let short = CredentialCache.Key(high: 9, low: 9)
        _ = try await cache.caller(key: short) { (expected, Date().addingTimeInterval(0.05)) }
        try await Task.sleep(for: .milliseconds(80))
        await #expect(throws: CancellationError.self) { try await cache.caller(key: short) { throw CancellationError() } }
    }
}

actor LoadCounter {
    var value = 0
    func increment() { value += 1 }
}
