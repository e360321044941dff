import Foundation
@testable import JarvisQuota
import JarvisStore
import Synchronization
import Testing

/// The quota engine's per-check bookkeeping: reservation ids and the queue their expiry is swept from.
@Suite struct ReservationBookkeepingTests {
    @Test func reservationIdsAreDistinctVersion7AndTimeOrdered() throws {
        let start = Date()
        let ids = (0..<200_000).map { _ in UUIDv7.makeUnique() }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(1_000) {
            #expect(id.uuid.6 >> 4 == 7, "version 7")
            #expect(id.uuid.8 >> 6 == 0b10, "RFC 9562 variant")
        }
        let first = try #require(UUIDv7.timestamp(of: ids[0]))
        let last = try #require(UUIDv7.timestamp(of: ids[ids.count - 1]))
        #expect(first.timeIntervalSince(start) > -0.002 && last >= first && last.timeIntervalSinceNow < 0.002)
    }

    @Test func dueReservationsLeaveInExpiryOrderAndOnlyWhenDue() {
        var queue = ExpiryQueue()
        let ids = (0..<5).map { _ in UUID() }
        for (n, id) in ids.enumerated() { queue.append(id, expires: UInt64(100 + n * 10)) }
        #expect(queue.popDue(now: 99).isEmpty)
        #expect(queue.popDue(now: 120) == Array(ids[0...2]))
        #expect(queue.popDue(now: 120).isEmpty)
        #expect(queue.popDue(now: 1_000) == Array(ids[3...4]))
        #expect(queue.count == 0)
    }

    @Test func settledReservationsDoNotPileUpInTheQueue() {
        var queue = ExpiryQueue()
        var open: Set<UUID> = []
        // A gateway that reports usage for all but one check in a thousand.
        for n in 0..<100_000 {
            let id = UUID()
            queue.append(id, expires: 1_000_000)
            if n % 1_000 == 0 { open.insert(id) }
            queue.compact(open: open.count) { open.contains($0) }
        }
        #expect(open.count == 100)
        #expect(queue.count <= 2 * open.count + 1_025)
        #expect(Set(queue.popDue(now: 1_000_000)).isSuperset(of: open))
    }
}

/// The takes of checks that ran short share statements, and instances never deadlock on them.
@Suite struct AllowanceGrantTests {
    static func key(_ tenant: UUID, _ n: Int) -> GlobalAllowances.Key {
        .init(tenantID: tenant, subject: .tenant, metric: .requests, window: Int64(n))
    }

    @Test func concurrentTakesShareStatementsAndEachGetsItsOwnGrant() async throws {
        let batches = Mutex<[Int]>([])
        let batcher = GrantBatcher { requests in
            batches.withLock { $0.append(requests.count) }
            try await Task.sleep(for: .milliseconds(5))  // a round trip
            return requests.map { $0.wanted * 2 }
        }
        let tenant = UUID()
        let granted = try await withThrowingTaskGroup(of: (Int, Double).self) { group in
            for n in 1...200 { group.addTask { (n, try await batcher.grant((Self.key(tenant, n), .init(rate: 1, limit: 1), 0, Double(n)))) } }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(granted.count == 200 && granted.allSatisfy { $0.value == Double($0.key * 2) })
        let sizes = batches.withLock { $0 }
        #expect(sizes.reduce(0, +) == 200)
        #expect(sizes.count < 100, "200 concurrent takes went in \(sizes.count) statements")
    }

    @Test func aFailedStatementFailsItsTakesOnly() async throws {
        let calls = Mutex(0)
        let batcher = GrantBatcher { requests in
            if calls.withLock({ $0 += 1; return $0 }) == 1 { throw StoreError.connectionLost("gone") }
            return requests.map(\.wanted)
        }
        await #expect(throws: StoreError.self) { try await batcher.grant((Self.key(UUID(), 1), .init(rate: 1, limit: 1), 0, 3)) }
        #expect(try await batcher.grant((Self.key(UUID(), 2), .init(rate: 1, limit: 1), 0, 3)) == 3)
    }

    /// Two instances granting the same limits in opposite orders, at once, many times: rows are
    /// locked in one order whatever the caller's, so PostgreSQL never has to break a deadlock.
    @Test func instancesGrantingOverlappingLimitsNeverDeadlock() async throws {
        let tenant = try #require(UUID(uuidString: try await Fixture.withAPI { api in try await api.seedTenant(prefix: "qlock").tenantID }))
        let keys = (0..<40).map { Self.key(tenant, $0) }
        let spec = GlobalAllowances.Spec(rate: 1_000_000, limit: 1_000_000)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for round in 0..<20 {
                let ordered = round % 2 == 0 ? keys : keys.reversed()
                group.addTask { _ = try await GlobalAllowances.grant(ordered.map { ($0, spec, 0, 1) }, on: Fixture.platform) }
                group.addTask { _ = try await GlobalAllowances.grant(ordered.reversed().map { ($0, spec, 0, 1) }, on: Fixture.platform) }
            }
            try await group.waitForAll()
        }
    }
}
