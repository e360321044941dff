public import struct Foundation.UUID
public import JarvisStore
internal import Synchronization

/// Answers "is this principal one of this tenant's?" for callers that name principals in data they
/// report (usage events). Principals are never deleted, so a yes is remembered; only ids not seen
/// before cost a query.
public final class PrincipalDirectory: Sendable {
    public struct Member: Hashable, Sendable {
        public let tenantID: UUID
        public let principalID: UUID
        public init(tenantID: UUID, principalID: UUID) {
            self.tenantID = tenantID
            self.principalID = principalID
        }
    }

    let platform: Database
    let capacity: Int
    // Locking rule: the set is only read and written under this lock.
    private let known = Mutex<Set<Member>>([])

    public init(platform: Database, capacity: Int = 200_000) {
        self.platform = platform
        self.capacity = capacity
    }

    /// - Returns: one of `members` the database does not have, or nil when all exist.
    public func firstUnknown(_ members: Set<Member>) async throws -> Member? {
        let unseen = known.withLock { set in members.subtracting(set) }
        if unseen.isEmpty { return nil }
        let list = Array(unseen)
        let rows = try await platform.query(
            """
            SELECT p.tenant_id, p.id FROM principals p
            JOIN unnest($1::uuid[], $2::uuid[]) AS m(tenant_id, id) ON p.tenant_id = m.tenant_id AND p.id = m.id
            """,
            [TextArray(list.map(\.tenantID.lowercasedString)), TextArray(list.map(\.principalID.lowercasedString))], idempotent: true)
        let found = Set(try rows.all.map { Member(tenantID: try $0.uuid("tenant_id"), principalID: try $0.uuid("id")) })
        known.withLock { set in
            if set.count + found.count > capacity { set.removeAll(keepingCapacity: true) }
            set.formUnion(found)
        }
        return unseen.first { !found.contains($0) }
    }
}
