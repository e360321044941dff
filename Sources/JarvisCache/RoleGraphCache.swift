public import Foundation
public import JarvisAccess
public import JarvisStore
internal import Metrics
internal import Synchronization

/// Each tenant's custom role graph, as credential loads read it: a tenant's ten keys loaded one
/// after another read its roles and permissions once, not ten times (a graph costs a transaction and
/// two queries; the key itself one query). Under the credential cache's rules: a tenant's graph goes
/// when the change feed says it changed, everything when anything may have, and a load that began
/// before such a change is not kept. Entries live a minute at most, so a graph stays no older than
/// that while the feed is down; few are kept (`capacity`), as they only serve loads.
public final class RoleGraphCache: Sendable {
    struct Entry: Sendable {
        let graph: RoleGraph
        let until: Int64
    }

    private let entries = ShardedMap<UUID, Entry>(minimumShards: 16, spread: ShardBits.uuid)
    /// Once per tenant and epoch, as the credential cache's loads (`CredentialCache.Flight`).
    struct Flight: Hashable, Sendable {
        let tenantID: UUID
        let epoch: Int
    }
    private let loads = SingleFlight<Flight, RoleGraph>()
    // Locking rule: read when a load starts and ends, written by invalidations; never held with a shard lock.
    private let epochs = Mutex(InvalidationEpochs())
    let capacityPerShard: Int
    let maxAge: Int64
    private let hits = Counter(label: "jarvis_cache_hits_total", dimensions: [("cache", "role_graphs")])
    private let misses = Counter(label: "jarvis_cache_misses_total", dimensions: [("cache", "role_graphs")])

    public init(capacity: Int = 10_000, maxAge: Int64 = 60, changes: ChangeFeed) {
        capacityPerShard = entries.perShard(capacity)
        self.maxAge = maxAge
        changes.subscribe { [weak self] change in
            switch change {
            case .tenant(let id): self?.invalidate(tenantID: id)
            case .everything: self?.flush()
            }
        }
    }

    /// The tenant's graph: kept, or `load`'s answer (loaded once however many ask at once).
    public func graph(tenantID: UUID, load: @escaping @Sendable () async throws -> RoleGraph) async throws -> RoleGraph {
        let now = CoarseClock.seconds()
        if let entry = entries[tenantID], entry.until > now {
            hits.increment()
            return entry.graph
        }
        misses.increment()
        let started = epochs.withLock { $0.now }
        let graph = try await loads.run(Flight(tenantID: tenantID, epoch: started), load)
        guard epochs.withLock({ $0.isFresh(tenantID: tenantID, since: started) }) else { return graph }
        entries.withShard(of: tenantID) { values in
            if values[tenantID] == nil, values.count >= capacityPerShard, let victim = values.keys.first { values[victim] = nil }
            values[tenantID] = Entry(graph: graph, until: now + maxAge)
        }
        return graph
    }

    public func invalidate(tenantID: UUID) {
        epochs.withLock { $0.invalidate(tenantID) }
        entries.withValue(tenantID) { $0 = nil }
    }

    public func flush() {
        epochs.withLock { $0.flush() }
        entries.forEachShard { $0.removeAll(keepingCapacity: true) }
    }

    public var count: Int { entries.count }
}
