public import Foundation
public import JarvisStore
internal import Synchronization

/// What changed in a tenant's releases, after a cursor, for clients that want changes pushed:
/// `GET /v1/resolve/changes?since=` answers at once when there is something newer, else waits
/// (long poll) until the change feed says the tenant changed, or until its wait runs out.
///
/// Long polling rather than server-sent events: every proxy and gateway passes a plain request,
/// the cursor makes a dropped connection lose nothing, each answer is one complete JSON document,
/// and the server keeps no stream state beyond a waiting request.
public final class ReleaseChanges: Sendable {
    let platform: Database
    // Locking rule: waiters are added, woken and removed under this lock, resumed after it.
    private let waiters = Mutex<[UUID: [UUID: CheckedContinuation<Void, Never>]]>([:])

    public init(platform: Database, changes: ChangeFeed?) {
        self.platform = platform
        changes?.subscribe { [weak self] change in
            switch change {
            case .tenant(let id): self?.wake(id)
            case .everything: self?.wakeAll()
            }
        }
    }

    public struct Change: Sendable {
        public let seq: Int64
        public let kind: String
        public let operation: String
        public let at: Date
    }

    /// - Parameters:
    ///   - since: the cursor of the last answer; nil asks for the current cursor only.
    ///   - wait: how long to hold the request when nothing is newer.
    /// - Returns: the changes after `since` (at most 500) and the cursor to send next.
    public func changes(tenantID: UUID, since: Int64?, wait: Duration) async throws -> (changes: [Change], cursor: Int64) {
        guard let since else { return ([], try await latest(tenantID)) }
        let first = try await read(tenantID, after: since)
        if !first.isEmpty || wait == .zero { return (first, first.last?.seq ?? since) }
        await sleep(tenantID, upTo: wait)
        let second = try await read(tenantID, after: since)
        return (second, second.last?.seq ?? since)
    }

    func read(_ tenantID: UUID, after: Int64) async throws -> [Change] {
        try await platform.query(
            "SELECT seq, kind, name, created_at FROM release_changes WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT 500",
            [tenantID, after], idempotent: true
        ).all.map { row in
            Change(seq: Int64(try row.int("seq")), kind: try row.string("kind"), operation: try row.string("name").lowercased(), at: try row.date("created_at"))
        }
    }

    func latest(_ tenantID: UUID) async throws -> Int64 {
        Int64(try await platform.query(
            "SELECT COALESCE(max(seq), 0) AS seq FROM release_changes WHERE tenant_id = $1", [tenantID], idempotent: true
        ).first?.int("seq") ?? 0)
    }

    /// Returns when the tenant changes or `wait` passes, whichever is first. The waiter is
    /// registered before the timer starts, and whoever takes it out resumes it: exactly once.
    func sleep(_ tenantID: UUID, upTo wait: Duration) async {
        let id = UUID()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            waiters.withLock { $0[tenantID, default: [:]][id] = continuation }
            Task {
                try? await Task.sleep(for: wait)
                self.resume(tenantID, id)
            }
        }
    }

    private func resume(_ tenantID: UUID, _ id: UUID) {
        let waiter = waiters.withLock { all in all[tenantID]?.removeValue(forKey: id) }
        waiter?.resume()
    }

    func wake(_ tenantID: UUID) {
        let woken = waiters.withLock { all in all.removeValue(forKey: tenantID) ?? [:] }
        for waiter in woken.values { waiter.resume() }
    }

    func wakeAll() {
        let woken = waiters.withLock { all in
            defer { all.removeAll() }
            return all.values.flatMap(\.values)
        }
        for waiter in woken { waiter.resume() }
    }
}
