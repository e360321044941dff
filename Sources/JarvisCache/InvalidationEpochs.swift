internal import Foundation

/// Invalidation history for a cache filled by loads that run outside its lock: a counter bumped by
/// every invalidation, the last value that touched each tenant, and the last flush. A load notes
/// `now` when it starts; its answer is kept only if nothing touched its tenant since, so an answer
/// read before a change committed is never stored after the change's invalidation ran.
struct InvalidationEpochs: Sendable {
    private(set) var now = 0
    private var flushed = 0
    private var tenants: [UUID: Int] = [:]

    /// Whether nothing invalidated `tenantID` (or everything) since `started`; with no tenant, only
    /// a flush counts.
    func isFresh(tenantID: UUID?, since started: Int) -> Bool {
        flushed <= started && (tenantID.map { (tenants[$0] ?? 0) <= started } ?? true)
    }

    mutating func invalidate(_ tenantID: UUID) {
        now += 1
        tenants[tenantID] = now
    }

    mutating func flush() {
        now += 1
        flushed = now
        tenants.removeAll()
    }
}
