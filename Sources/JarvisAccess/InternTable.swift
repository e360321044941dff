internal import Synchronization

/// Hash-consing: equal values built by different loads become one shared object, so a hundred
/// thousand cached callers of a few hundred roles sets hold a few hundred permission sets.
/// Keyed by content, never by identity, so a shared object can never be stale. Bounded: past
/// `limit` entries the table starts over (objects already handed out stay valid).
final class InternTable<Key: Hashable & Sendable, Value: AnyObject & Sendable>: Sendable {
    private let values = Mutex<[Key: Value]>([:])
    private let limit: Int

    init(limit: Int = 16_384) { self.limit = limit }

    func intern(_ key: Key, make: () -> Value) -> Value {
        values.withLock { values in
            if let existing = values[key] { return existing }
            if values.count >= limit { values.removeAll(keepingCapacity: true) }
            let value = make()
            values[key] = value
            return value
        }
    }
}
