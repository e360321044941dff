import Foundation
import JarvisAccess
import JarvisCache
import JarvisStore
import Testing

/// Renewal: a key in use is renewed before its entry's `maxAge` ends, so its callers never find it
/// expired (the whole warmed working set used to expire in one second) — extended while the change
/// feed is unbroken, reloaded in the background otherwise.
@Suite struct CacheRefreshTests {
    struct Refusal: CachedRefusal { let tenantID: UUID? }

    static func caller(_ tenantID: UUID) -> Caller {
        Caller(tenantID: tenantID, tenantSlug: "t", principalID: UUIDv7.make(), kind: .serviceAccount, roles: [], apiKeyID: nil)
    }

    static func ignore(_ caller: Caller) {}

    @Test func withoutAFeedAKeyInUseIsReloadedBeforeItExpiresAndNeverMisses() async throws {
        // maxAge 4 s: the refresh is due after 2 s (a quarter of it spread by the key: 0 s here).
        let cache = CredentialCache(capacity: 100, maxAge: 4)
        let key = CredentialCache.Key(high: 1, low: 4)
        let tenantID = UUIDv7.make()
        let first = Self.caller(tenantID), second = Self.caller(tenantID)
        let loads = LoadCounter()
        _ = try await cache.caller(key: key) { await loads.increment(); return (first, .distantFuture) }
        let loaded = CoarseClock.seconds()
        let reload: () -> CredentialCache.Load = { { await loads.increment(); return (second, .distantFuture) } }
        #expect(cache.cached(key, renewed: Self.ignore, reloading: reload) === first)
        #expect(await loads.value == 1, "not due yet: no reload")
        // Asked every 20 ms through the point where the first entry would have expired: always an
        // answer, and the new one once the background reload landed.
        var answers: [Caller?] = []
        while CoarseClock.seconds() < loaded + 5 {
            answers.append(cache.cached(key, renewed: Self.ignore, reloading: reload))
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(answers.allSatisfy { $0 != nil }, "the key was never a miss")
        #expect(answers.last.flatMap { $0 } === second)
        // One reload per refresh period (2 s here), not one per hit: the load and one or two reloads.
        #expect((2...3).contains(await loads.value))
    }

    @Test func aReloadThatIsRefusedDropsTheEntryAndKeepsTheRefusal() async throws {
        let cache = CredentialCache(capacity: 100, maxAge: 4)
        let key = CredentialCache.Key(high: 2, low: 4)
        let tenantID = UUIDv7.make()
        _ = try await cache.caller(key: key) { (Self.caller(tenantID), .distantFuture) }
        let refuse: () -> CredentialCache.Load = { { throw Refusal(tenantID: tenantID) } }
        let gone = try await InvalidationTests.until(.seconds(5)) { cache.cached(key, renewed: Self.ignore, reloading: refuse) == nil }
        #expect(gone != nil, "a revoked key's entry goes at its refresh, not at its expiry")
        #expect(cache.refusal(key) is Refusal)
    }

    @Test func aReloadThatFailsLeavesTheEntryAnsweringUntilItExpires() async throws {
        let cache = CredentialCache(capacity: 100, maxAge: 4)
        let key = CredentialCache.Key(high: 3, low: 4)
        let tenantID = UUIDv7.make()
        let kept = Self.caller(tenantID)
        _ = try await cache.caller(key: key) { (kept, .distantFuture) }
        let loaded = CoarseClock.seconds()
        let attempts = LoadCounter()
        let fail: () -> CredentialCache.Load = { { await attempts.increment(); throw CancellationError() } }
        while CoarseClock.seconds() < loaded + 3 {
            #expect(cache.cached(key, renewed: Self.ignore, reloading: fail) === kept)
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await attempts.value == 1, "one attempt, then a pause before the next")
        // Past its maxAge the entry is gone: a failed refresh does not extend it.
        try await Task.sleep(for: .seconds(Double(loaded + 5 - CoarseClock.seconds())))
        #expect(cache.cached(key) == nil)
    }

    @Test func whileTheFeedIsUnbrokenAKeyInUseIsExtendedWithoutALookup() async throws {
        let feed = ChangeFeed()
        let cache = CredentialCache(capacity: 100, maxAge: 4, changes: feed)
        feed.listenerCaughtUp()
        // Validated after the listener caught up (a later second), so the feed vouches for it.
        try await Task.sleep(for: .seconds(Double(CoarseClock.seconds() + 1) - Date().timeIntervalSince1970 + 0.05))
        let key = CredentialCache.Key(high: 4, low: 4)
        let tenantID = UUIDv7.make()
        let kept = Self.caller(tenantID)
        let loads = LoadCounter()
        _ = try await cache.caller(key: key) { await loads.increment(); return (kept, .distantFuture) }
        let loaded = CoarseClock.seconds()
        let reload: () -> CredentialCache.Load = { { await loads.increment(); return (Self.caller(tenantID), .distantFuture) } }
        var renewals = 0
        while CoarseClock.seconds() < loaded + 6 {
            feed.listenerCaughtUp()  // the listener's tick
            #expect(cache.cached(key, renewed: { _ in renewals += 1 }, reloading: reload) === kept)
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await loads.value == 1, "extended, never read again")
        #expect((1...3).contains(renewals))
        // A change still removes an extended entry at once.
        feed.publish(.tenant(tenantID))
        #expect(cache.cached(key) == nil)

        // A listener that reconnected after the entry was validated cannot vouch for it: reloaded.
        _ = try await cache.caller(key: key) { await loads.increment(); return (kept, .distantFuture) }
        feed.listenerLost()
        feed.listenerCaughtUp()
        let reloaded = try await InvalidationTests.until(.seconds(5)) {
            feed.listenerCaughtUp()
            _ = cache.cached(key, renewed: { _ in renewals += 100 }, reloading: reload)
            return await loads.value == 3
        }
        #expect(reloaded != nil)
        #expect(renewals < 100)
    }
}
