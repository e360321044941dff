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
/// Renewal: a key in use is renewed once it is past half its `maxAge` (plus a spread taken from
/// its digest, so keys loaded together are not renewed together), while its entry keeps answering.
/// While the change feed has delivered without a break since the entry was last validated, every
/// change that could alter it would have removed it, so renewal just extends it (no lookup);
/// otherwise (no listener, or it lost its connection since) the key is reloaded in the background.
/// A busy key therefore never expires under its callers: before, every key warmed in the same
/// minute expired in the same second, and the hot path fell through to PostgreSQL for the whole
/// working set at once. Keys not used in that window simply expire.
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
        /// Expiry in whole seconds of the coarse clock (see `CoarseClock`): `maxAge` after the entry
        /// was last validated, or `validUntil` if sooner. 32 bits (unsigned, good to 2106) so the
        /// entry stays two words.
        var until: UInt32
        /// When the credential itself stops being valid (an entry is never renewed past it).
        let validUntil: UInt32
    }

    /// What the loader of a key returns: the caller and the time its credential stops being valid.
    public typealias Load = @Sendable () async throws -> (Caller, Date)

    struct Refusal: Sendable {
        let error: any CachedRefusal
        let until: Int64
    }

    private let entries = ShardedMap<Key, Entry>(minimumShards: 64)
    private let refusals = ShardedMap<Key, Refusal>(minimumShards: 64)
    let refusalsPerShard: Int
    let refusalAge: Int64
    /// Loads run once per key and epoch: one asked after an invalidation does not join a load that
    /// began before it (its answer may predate the change, and the late asker would keep it).
    struct Flight: Hashable, Sendable {
        let key: Key
        let epoch: Int
    }
    private let loads = SingleFlight<Flight, (Caller, Date)>()
    // Locking rule: read when a load starts and ends, written by invalidations; never held with a shard lock.
    private let epochs = Mutex(InvalidationEpochs())
    let capacityPerShard: Int
    let maxAge: TimeInterval
    private let hits = Counter(label: "jarvis_cache_hits_total", dimensions: [("cache", "credentials")])
    private let misses = Counter(label: "jarvis_cache_misses_total", dimensions: [("cache", "credentials")])
    private let evictions = Counter(label: "jarvis_cache_evictions_total", dimensions: [("cache", "credentials")])
    private let renewals = (
        extended: Counter(label: "jarvis_cache_renewals_total", dimensions: [("cache", "credentials"), ("how", "extended")]),
        reloaded: Counter(label: "jarvis_cache_renewals_total", dimensions: [("cache", "credentials"), ("how", "reloaded")])
    )
    private let feed: ChangeFeed?
    /// `maxAge` in whole seconds; renewal starts `renewAfter` seconds into an entry's life, plus up
    /// to `renewSpread` by key.
    let lifetime: UInt32
    let renewAfter: UInt32
    let renewSpread: UInt64
    /// After a background reload fails (the database away), none is tried for this long.
    static let reloadPause: Int64 = 10
    // Locking rule: read and written alone.
    private let reloadsPausedUntil = Atomic<Int64>(0)

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
        feed = changes
        lifetime = UInt32(max(maxAge, 0))
        renewAfter = lifetime / 2
        renewSpread = UInt64(max(maxAge, 4) / 4)
        // Each shard's table at its full size from the start: grown by doubling, it left every
        // smaller table it outgrew behind in the heap. A table's untouched pages are not resident.
        entries.forEachShard { $0.reserveCapacity(capacityPerShard) }
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
        let now = UInt32(truncatingIfNeeded: CoarseClock.seconds())
        guard let entry = entries[key], entry.until > now else { return nil }
        hits.increment()
        return entry.caller
    }

    /// `cached(_:)`, renewing the entry when it is due (see the type's notes): `renewed` is told
    /// of an extension, and `makeLoad` is called only for a background reload, so a hit allocates
    /// nothing.
    @inline(__always)
    public func cached(_ key: Key, renewed: (Caller) -> Void, reloading makeLoad: () -> Load) -> Caller? {
        let now = UInt32(truncatingIfNeeded: CoarseClock.seconds())
        guard let entry = entries[key], entry.until > now else { return nil }
        hits.increment()
        // The spread (a division) is worked out only once the earliest renewal time has passed.
        let earliest = entry.until &- lifetime &+ renewAfter
        if now >= earliest, entry.until < entry.validUntil, now >= earliest &+ UInt32(key.low % renewSpread) {
            renew(key, entry, now: now, renewed: renewed, reloading: makeLoad)
        }
        return entry.caller
    }

    private func renew(_ key: Key, _ entry: Entry, now: UInt32, renewed: (Caller) -> Void, reloading makeLoad: () -> Load) {
        if let feed, feed.unbroken(since: Int64(entry.until &- lifetime)) {
            // Extended once: whoever finds the entry as it was moves it on.
            let extended = entries.withExisting(key) { stored -> Bool in
                guard stored.until == entry.until else { return false }
                stored.until = min(stored.validUntil, now &+ lifetime)
                return true
            } ?? false
            if extended {
                renewals.extended.increment()
                renewed(entry.caller)
            }
            return
        }
        guard !loads.isRunning(Flight(key: key, epoch: epochs.withLock { $0.now })), Int64(now) >= reloadsPausedUntil.load(ordering: .relaxed) else { return }
        let load = makeLoad()
        Task { await self.reload(key, load) }
    }

    /// The background reload: a fresh answer replaces the entry, a refusal removes it (and is
    /// kept), and a failure (the database away) leaves it to answer until it expires and pauses
    /// reloads for a while, so a database that is down is not asked once per hit.
    func reload(_ key: Key, _ load: @escaping Load) async {
        renewals.reloaded.increment()
        let started = epochs.withLock { $0.now }
        do {
            let (caller, validUntil) = try await loads.run(Flight(key: key, epoch: started), load)
            store(caller, validUntil: validUntil, key: key, started: started)
        } catch let refused as any CachedRefusal {
            entries.withValue(key) { $0 = nil }
            keep(refused, key: key, started: started)
        } catch {
            reloadsPausedUntil.store(CoarseClock.seconds() + Self.reloadPause, ordering: .relaxed)
        }
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
    public func caller(key: Key, load: @escaping Load) async throws -> Caller {
        if let hit = cached(key) { return hit }
        misses.increment()
        let started = epochs.withLock { $0.now }
        let caller: Caller
        let validUntil: Date
        do {
            (caller, validUntil) = try await loads.run(Flight(key: key, epoch: started), load)
        } catch let refused as any CachedRefusal {
            keep(refused, key: key, started: started)
            throw refused
        }
        store(caller, validUntil: validUntil, key: key, started: started)
        return caller
    }

    /// Keeps a loaded caller, unless its tenant changed since the load `started` (epochs).
    private func store(_ caller: Caller, validUntil: Date, key: Key, started: Int) {
        let now = CoarseClock.seconds()
        // Rounded down: an entry never outlives its credential.
        let valid = min(validUntil.timeIntervalSince1970.rounded(.down), Double(UInt32.max))
        let until = min(Int64(valid), now + Int64(maxAge))
        // A change to this tenant committed while the load ran: its answer may predate it.
        let fresh = epochs.withLock { $0.isFresh(tenantID: caller.tenantID, since: started) }
        guard fresh, until > now else { return }
        let entry = Entry(caller: caller, until: UInt32(truncatingIfNeeded: until), validUntil: UInt32(valid))
        // Each shard keeps to its share of the capacity: a full one gives up an entry.
        let evicted = entries.withShard(of: key) { values -> Bool in
            var evicted = false
            if values[key] == nil, values.count >= capacityPerShard, let victim = values.keys.first {
                values[victim] = nil
                evicted = true
            }
            values[key] = entry
            return evicted
        }
        if evicted { evictions.increment() }
    }

    private func keep(_ refused: any CachedRefusal, key: Key, started: Int) {
        let fresh = epochs.withLock { $0.isFresh(tenantID: refused.tenantID, since: started) }
        guard fresh else { return }
        let refusal = Refusal(error: refused, until: CoarseClock.seconds() + refusalAge)
        refusals.withShard(of: key) { values in
            if values[key] == nil, values.count >= refusalsPerShard, let victim = values.keys.first { values[victim] = nil }
            values[key] = refusal
        }
    }

    /// Drops every entry of `tenantID` (a principal, key, role, binding or the tenant changed).
    public func invalidate(tenantID: UUID) {
        epochs.withLock { $0.invalidate(tenantID) }
        // A walk of every entry (23 ms with a million cached, one shard locked at a time). A mark
        // per tenant that its entries share, revoked by its change, made this O(1) but cost 44 more
        // bytes per cached key and 38 ns per cached decision (`jarvis bench-decision`): not taken.
        entries.removeAll { _, entry in entry.caller.tenantID == tenantID }
        refusals.removeAll { _, refusal in refusal.error.tenantID == tenantID }
    }

    /// Drops everything (notifications may have been missed).
    public func flush() {
        epochs.withLock { $0.flush() }
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
