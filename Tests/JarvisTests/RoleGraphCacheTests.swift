import Foundation
import JarvisAccess
import JarvisCache
import JarvisStore
import Testing

/// A tenant's role graph is read once for the keys loaded together, and never kept across a change
/// of the tenant: not by the cache's own entry, not by a load that began before the change.
@Suite struct RoleGraphCacheTests {
    static func graph(_ permission: String) -> RoleGraph {
        RoleGraph(custom: [.init(name: "custom", permissions: [Permission(validating: permission)!], inherits: [], builtin: false)])
    }

    @Test func aTenantsGraphIsReadOnceAndDroppedWhenItChanges() async throws {
        let feed = ChangeFeed()
        let cache = RoleGraphCache(capacity: 100, maxAge: 60, changes: feed)
        let tenantID = UUIDv7.make(), other = UUIDv7.make()
        let loads = LoadCounter()
        for _ in 0..<3 {
            let graph = try await cache.graph(tenantID: tenantID) { await loads.increment(); return Self.graph("documents:read") }
            #expect(graph.effectivePermissions(of: "custom").names == ["documents:read"])
        }
        #expect(await loads.value == 1)
        // Another tenant's change leaves it; its own change and a flush drop it.
        feed.publish(.tenant(other))
        _ = try await cache.graph(tenantID: tenantID) { await loads.increment(); return Self.graph("documents:read") }
        #expect(await loads.value == 1)
        feed.publish(.tenant(tenantID))
        let changed = try await cache.graph(tenantID: tenantID) { await loads.increment(); return Self.graph("documents:write") }
        #expect(changed.effectivePermissions(of: "custom").names == ["documents:write"])
        #expect(await loads.value == 2)
        feed.publish(.everything)
        _ = try await cache.graph(tenantID: tenantID) { await loads.increment(); return Self.graph("documents:write") }
        #expect(await loads.value == 3)
    }

    @Test func anEntryLivesItsMaxAgeAtMost() async throws {
        let cache = RoleGraphCache(capacity: 100, maxAge: 1, changes: ChangeFeed())
        let tenantID = UUIDv7.make()
        let loads = LoadCounter()
        _ = try await cache.graph(tenantID: tenantID) { await loads.increment(); return .builtin }
        try await Task.sleep(for: .milliseconds(2_100))
        _ = try await cache.graph(tenantID: tenantID) { await loads.increment(); return .builtin }
        #expect(await loads.value == 2)
    }

    /// A load in flight when the tenant changes: whoever asks after the change does not share its
    /// answer, and neither answer that predates the change is kept.
    @Test func aLoadAskedAfterAChangeDoesNotJoinOneThatBeganBefore() async throws {
        let feed = ChangeFeed()
        let cache = RoleGraphCache(capacity: 100, maxAge: 60, changes: feed)
        let tenantID = UUIDv7.make()
        let gate = Gate()
        let early = Task {
            try await cache.graph(tenantID: tenantID) {
                await gate.wait()
                return Self.graph("documents:read")
            }
        }
        try #require(try await InvalidationTests.until(.seconds(2)) { await gate.waiting } != nil)
        feed.publish(.tenant(tenantID))
        let late = try await cache.graph(tenantID: tenantID) { Self.graph("documents:write") }
        #expect(late.effectivePermissions(of: "custom").names == ["documents:write"])
        await gate.open()
        #expect(try await early.value.effectivePermissions(of: "custom").names == ["documents:read"])
        let kept = try await cache.graph(tenantID: tenantID) { Self.graph("documents:delete") }
        #expect(kept.effectivePermissions(of: "custom").names == ["documents:write"], "the early, stale answer replaced the late one")
    }

    /// The same rule in the credential cache: a key asked after its tenant changed is loaded anew.
    @Test func aCredentialAskedAfterAChangeDoesNotJoinALoadThatBeganBefore() async throws {
        let cache = CredentialCache(capacity: 100)
        let key = CredentialCache.Key(high: 11, low: 13)
        let tenantID = UUIDv7.make()
        let stale = CacheRefreshTests.caller(tenantID), fresh = CacheRefreshTests.caller(tenantID)
        let gate = Gate()
        let early = Task {
            try await cache.caller(key: key) {
                await gate.wait()
                return (stale, .distantFuture)
            }
        }
        try #require(try await InvalidationTests.until(.seconds(2)) { await gate.waiting } != nil)
        cache.invalidate(tenantID: tenantID)
        #expect(try await cache.caller(key: key) { (fresh, .distantFuture) } === fresh)
        await gate.open()
        #expect(try await early.value === stale)
        #expect(cache.cached(key) === fresh, "the answer read before the change was kept")
    }
}

/// Holds loads until opened.
actor Gate {
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var isOpen = false
    var waiting: Bool { !waiters.isEmpty }

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters.removeAll()
    }
}
