import Foundation
@testable import JarvisQuota
import JarvisStore
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
