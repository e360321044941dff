public import Foundation
public import JarvisAccess
internal import Metrics
internal import Synchronization

/// Authenticated callers by credential digest, in memory: a repeated credential is answered without
/// PostgreSQL. Sharded, each shard behind its own lock, so concurrent requests rarely meet.
///
/// Correctness rules: entries expire with their credential and after `maxAge` at the latest; a
/// tenant's entries go when PostgreSQL says it changed (`invalidate(tenantID:)`); everything goes
/// when the change feed reconnects (`flush()`); and a load that began before an invalidation of
/// its tenant (or a flush) is not stored after it (epochs).
public final class CredentialCache: Sendable {
    /// A credential's identity in the cache: 128 bits of its SHA-256.
    public struct Key: Hashable, Sendable {
        let high: UInt64
        let low: UInt64

        /// One word is plenty to spread keys that are already digest bits; equality still checks both.
        public func hash(into hasher: inout Hasher) { hasher.combine(low) }

        public init(high: UInt64, low: UInt64) {
            self.high = high
            self.low = low
        }
    }

    struct Entry: Sendable {
        let caller: Caller
        /// Expiry in whole seconds of the coarse clock (see `CoarseClock`).
        let until: Int64
    }

    final class Shard: Sendable {
        struct State {
            var entries: [Key: Entry] = [:]
            var loading: [Key: Task<(Caller, Date), any Error>] = [:]
        }
        // Locking rule: entries and loads in flight change together.
        let state = Mutex(State())
    }

    /// Invalidation history: a counter bumped by every invalidation, the last value that touched
    /// each tenant, and the last flush.
    struct Epochs {
        var now = 0
        var flushed = 0
        var tenants: [UUID: Int] = [:]
    }

    // Locking rule: read when a load starts and ends, written by invalidations; never held with a shard lock.
    private let epochs = Mutex(Epochs())

    private let shards: [Shard]
    private let mask: Int
    let capacityPerShard: Int
    let maxAge: TimeInterval
    private let hits = Counter(label: "jarvis_cache_hits_total", dimensions: [("cache", "credentials")])
    private let misses = Counter(label: "jarvis_cache_misses_total", dimensions: [("cache", "credentials")])
    private let evictions = Counter(label: "jarvis_cache_evictions_total", dimensions: [("cache", "credentials")])

    /// - Parameters:
    ///   - shardCount: rounded up to a power of two, at least 4 × the cores.
    ///   - capacity: most entries kept; beyond it, entries are evicted.
    public init(shardCount: Int = 64, capacity: Int = 200_000, maxAge: TimeInterval = 300) {
        var count = max(4 * ProcessInfo.processInfo.activeProcessorCount, 4)
        while count < shardCount { count <<= 1 }
        var power = 1
        while power < count { power <<= 1 }
        shards = (0..<power).map { _ in Shard() }
        mask = power - 1
        capacityPerShard = max(1, capacity / power)
        self.maxAge = maxAge
    }

    private func shard(_ key: Key) -> Shard { shards[Int(truncatingIfNeeded: key.low) & mask] }

    /// The cached caller for `key` if there is a live one: the hot path's first try, without
    /// suspending.
    @inline(__always)
    public func cached(_ key: Key) -> Caller? {
        let now = CoarseClock.seconds()
        let found = shard(key).state.withLock { s -> Caller? in
            guard let entry = s.entries[key], entry.until > now else { return nil }
            return entry.caller
        }
        if found != nil { hits.increment() }
        return found
    }

    /// The cached caller for `key`, or `load`'s answer, loaded once however many ask at once.
    /// - Parameter load: returns the caller and the time its credential stops being valid.
    public func caller(key: Key, load: @escaping @Sendable () async throws -> (Caller, Date)) async throws -> Caller {
        let shard = shard(key)
        let now = CoarseClock.seconds()
        enum Step { case hit(Caller), wait(Task<(Caller, Date), any Error>) }
        let started = epochs.withLock { $0.now }
        let step: Step = shard.state.withLock { s in
            if let entry = s.entries[key] {
                if entry.until > now { return .hit(entry.caller) }
                s.entries[key] = nil
            }
            if let running = s.loading[key] { return .wait(running) }
            let task = Task { try await load() }
            s.loading[key] = task
            return .wait(task)
        }
        switch step {
        case .hit(let caller):
            hits.increment()
            return caller
        case .wait(let task):
            misses.increment()
            do {
                let (caller, validUntil) = try await task.value
                // Rounded down: an entry never outlives its credential.
                let until = min(Int64(validUntil.timeIntervalSince1970.rounded(.down)), now + Int64(maxAge))
                // A change to this tenant committed while the load ran: its answer may predate it.
                let fresh = epochs.withLock { e in e.flushed <= started && (e.tenants[caller.tenantID] ?? 0) <= started }
                let evicted = shard.state.withLock { s -> Bool in
                    if s.loading[key] == task { s.loading[key] = nil }
                    guard fresh, until > CoarseClock.seconds() else { return false }
                    var evicted = false
                    if s.entries.count >= capacityPerShard, let victim = s.entries.keys.first {
                        s.entries[victim] = nil
                        evicted = true
                    }
                    s.entries[key] = Entry(caller: caller, until: until)
                    return evicted
                }
                if evicted { evictions.increment() }
                return caller
            } catch {
                shard.state.withLock { s in if s.loading[key] == task { s.loading[key] = nil } }
                throw error
            }
        }
    }

    /// Drops every entry of `tenantID` (a principal, key, role, binding or the tenant changed).
    public func invalidate(tenantID: UUID) {
        epochs.withLock { e in
            e.now += 1
            e.tenants[tenantID] = e.now
        }
        for shard in shards {
            shard.state.withLock { s in s.entries = s.entries.filter { $0.value.caller.tenantID != tenantID } }
        }
    }

    /// Drops everything (the change feed reconnected and may have missed notifications).
    public func flush() {
        epochs.withLock { e in
            e.now += 1
            e.flushed = e.now
            e.tenants.removeAll()
        }
        for shard in shards {
            shard.state.withLock { s in s.entries.removeAll(keepingCapacity: true) }
        }
    }

    /// Entries of one tenant (diagnostics and tests).
    public func count(tenantID: UUID) -> Int {
        shards.reduce(0) { total, shard in total + shard.state.withLock { $0.entries.values.count { $0.caller.tenantID == tenantID } } }
    }

    public var count: Int { shards.reduce(0) { total, shard in total + shard.state.withLock { $0.entries.count } } }
}
