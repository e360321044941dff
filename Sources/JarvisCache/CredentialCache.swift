public import Foundation
public import JarvisAccess
public import JarvisStore
internal import Metrics
internal import Synchronization

/// Authenticated callers by credential digest, in memory: a repeated credential is answered without
/// PostgreSQL. Kept in a `ShardedMap`, loaded once per key however many ask (`SingleFlight`).
///
/// Correctness rules: entries expire with their credential and after `maxAge` at the latest; a
/// tenant's entries go when the change feed says it changed, everything when it says anything may
/// have; and a load that began before such a change is not stored after it (epochs).
///
/// Refusals are kept too (`CachedRefusal`: a revoked, expired or unknown credential presented
/// again and again costs one lookup, not one each), fewer and shorter (`refusalAge`), under the
/// same rules: a tenant's refusals go when it changes, so a principal enabled again or a tenant
/// reactivated is let in at once.
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

    /// Invalidation history: a counter bumped by every invalidation, the last value that touched
    /// each tenant, and the last flush.
    struct Epochs {
        var now = 0
        var flushed = 0
        var tenants: [UUID: Int] = [:]
    }

    struct Refusal: Sendable {
        let error: any CachedRefusal
        let until: Int64
    }

    private let entries = ShardedMap<Key, Entry>(minimumShards: 64)
    private let refusals = ShardedMap<Key, Refusal>(minimumShards: 64)
    let refusalsPerShard: Int
    let refusalAge: Int64
    private let loads = SingleFlight<Key, (Caller, Date)>()
    // Locking rule: read when a load starts and ends, written by invalidations; never held with a shard lock.
    private let epochs = Mutex(Epochs())
    let capacityPerShard: Int
    let maxAge: TimeInterval
    private let hits = Counter(label: "jarvis_cache_hits_total", dimensions: [("cache", "credentials")])
    private let misses = Counter(label: "jarvis_cache_misses_total", dimensions: [("cache", "credentials")])
    private let evictions = Counter(label: "jarvis_cache_evictions_total", dimensions: [("cache", "credentials")])

    /// - Parameters:
    ///   - capacity: most entries kept; beyond it, entries are evicted.
    ///   - changes: the feed whose changes evict entries.
    ///   - refusalCapacity, refusalAge: how many refusals are kept, and how long.
    public init(
        capacity: Int = 200_000, maxAge: TimeInterval = 300, refusalCapacity: Int = 50_000, refusalAge: Int64 = 60, changes: ChangeFeed? = nil
    ) {
        capacityPerShard = entries.perShard(capacity)
        self.maxAge = maxAge
        refusalsPerShard = refusals.perShard(refusalCapacity)
        self.refusalAge = refusalAge
        changes?.subscribe { [weak self] change in
            switch change {
            case .tenant(let id): self?.invalidate(tenantID: id)
            case .everything: self?.flush()
            }
        }
    }

    /// The cached caller for `key` if there is a live one: the hot path's first try, without
    /// suspending.
    @inline(__always)
    public func cached(_ key: Key) -> Caller? {
        let now = CoarseClock.seconds()
        guard let entry = entries[key], entry.until > now else { return nil }
        hits.increment()
        return entry.caller
    }

    /// The refusal kept for `key`, if a live one is.
    public func refusal(_ key: Key) -> (any CachedRefusal)? {
        guard let refusal = refusals[key], refusal.until > CoarseClock.seconds() else { return nil }
        return refusal.error
    }

    /// The cached caller for `key`, or `load`'s answer, loaded once however many ask at once.
    /// A `CachedRefusal` that `load` throws is kept: `refusal(_:)` answers with it until it expires
    /// (callers ask that first, as they ask `cached(_:)`).
    /// - Parameter load: returns the caller and the time its credential stops being valid.
    public func caller(key: Key, load: @escaping @Sendable () async throws -> (Caller, Date)) async throws -> Caller {
        if let hit = cached(key) { return hit }
        misses.increment()
        let started = epochs.withLock { $0.now }
        let caller: Caller
        let validUntil: Date
        do {
            (caller, validUntil) = try await loads.run(key, load)
        } catch let refused as any CachedRefusal {
            keep(refused, key: key, started: started)
            throw refused
        }
        let now = CoarseClock.seconds()
        // Rounded down: an entry never outlives its credential.
        let until = min(Int64(validUntil.timeIntervalSince1970.rounded(.down)), now + Int64(maxAge))
        // A change to this tenant committed while the load ran: its answer may predate it.
        let fresh = epochs.withLock { e in e.flushed <= started && (e.tenants[caller.tenantID] ?? 0) <= started }
        guard fresh, until > now else { return caller }
        // Each shard keeps to its share of the capacity: a full one gives up an entry.
        let evicted = entries.withShard(of: key) { values -> Bool in
            var evicted = false
            if values[key] == nil, values.count >= capacityPerShard, let victim = values.keys.first {
                values[victim] = nil
                evicted = true
            }
            values[key] = Entry(caller: caller, until: until)
            return evicted
        }
        if evicted { evictions.increment() }
        return caller
    }

    private func keep(_ refused: any CachedRefusal, key: Key, started: Int) {
        let fresh = epochs.withLock { e in e.flushed <= started && refused.tenantID.map { (e.tenants[$0] ?? 0) <= started } ?? true }
        guard fresh else { return }
        let refusal = Refusal(error: refused, until: CoarseClock.seconds() + refusalAge)
        refusals.withShard(of: key) { values in
            if values[key] == nil, values.count >= refusalsPerShard, let victim = values.keys.first { values[victim] = nil }
            values[key] = refusal
        }
    }

    /// Drops every entry of `tenantID` (a principal, key, role, binding or the tenant changed).
    public func invalidate(tenantID: UUID) {
        epochs.withLock { e in
            e.now += 1
            e.tenants[tenantID] = e.now
        }
        entries.updateAll { _, entry in entry.caller.tenantID == tenantID ? nil : entry }
        refusals.updateAll { _, refusal in refusal.error.tenantID == tenantID ? nil : refusal }
    }

    /// Drops everything (notifications may have been missed).
    public func flush() {
        epochs.withLock { e in
            e.now += 1
            e.flushed = e.now
            e.tenants.removeAll()
        }
        entries.forEachShard { $0.removeAll(keepingCapacity: true) }
        refusals.forEachShard { $0.removeAll(keepingCapacity: true) }
    }

    /// Entries of one tenant (diagnostics and tests).
    public func count(tenantID: UUID) -> Int {
        var total = 0
        entries.forEachShard { values in total += values.values.count { $0.caller.tenantID == tenantID } }
        return total
    }

    public var count: Int { entries.count }
}

/// A refusal worth remembering (the credential will be refused again until something changes),
/// with the tenant whose changes may end it; nil when no tenant is known (an unknown key).
public protocol CachedRefusal: Error, Sendable {
    var tenantID: UUID? { get }
}
