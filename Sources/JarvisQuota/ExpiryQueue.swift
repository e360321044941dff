internal import struct Foundation.UUID

/// Open reservations in the order they expire, so a sweep looks only at those due instead of
/// every one open (a gateway that never reports usage leaves a reservation per check open for the
/// whole TTL: hundreds of thousands a tenant). Every reservation has the same TTL and is made
/// with the time its check started, so arrival order is expiry order within the few microseconds
/// concurrent checks overlap, and a plain FIFO is enough.
///
/// Settled reservations are not taken out (that would be a search); they are skipped when
/// reached, and dropped in one pass once they outnumber the open ones, so the queue holds at most
/// about twice the open reservations.
struct ExpiryQueue {
    private var entries: [(expires: UInt64, id: UUID)] = []
    private var head = 0

    var count: Int { entries.count - head }

    mutating func append(_ id: UUID, expires: UInt64) {
        entries.append((expires, id))
    }

    /// Removes and returns the ids due at `now` (some may be settled already: the caller checks).
    mutating func popDue(now: UInt64) -> [UUID] {
        var due: [UUID] = []
        while head < entries.count && entries[head].expires <= now {
            due.append(entries[head].id)
            head += 1
        }
        if head > 1024 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
        return due
    }

    /// Drops the entries of settled reservations when they are most of the queue.
    /// - Parameter open: how many reservations are open; `isOpen` tells one id.
    mutating func compact(open: Int, isOpen: (UUID) -> Bool) {
        guard count > 2 * open + 1024 else { return }
        entries = entries[head...].filter { isOpen($0.id) }
        head = 0
    }
}
