public import Foundation
// Public: the hot accessors are inlinable, so callers get them specialised to their types instead
// of running the generic code through runtime metadata on every lookup.
public import Synchronization

/// A dictionary split into shards, each behind its own lock, so concurrent callers rarely meet:
/// the credential cache, the quota engine's tenants and its allowances all keep their state in one.
///
/// Locking rule: a shard's lock is held only for the closure passed in, which must not suspend nor
/// touch the same map again (another map's locks may be taken inside, always in the same order).
public final class ShardedMap<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    @usableFromInline final class Shard: Sendable {
        @usableFromInline let values = Mutex<[Key: Value]>([:])
        @usableFromInline init() {}
    }

    @usableFromInline let shards: [Shard]
    @usableFromInline let mask: Int
    /// Bits of a key that pick its shard (the low ones are used); nil: its hash value.
    @usableFromInline let spread: (@Sendable (Key) -> Int)?

    /// - Parameters:
    ///   - minimumShards: rounded up to a power of two, and to at least 4 × the cores.
    ///   - spread: the bits that pick a key's shard; by default (nil) its hash value, a seeded
    ///     SipHash the dictionary then computes again. Keys the server makes itself may pass bits
    ///     they already carry (`ShardBits.uuid`); never for keys a caller can choose.
    public init(minimumShards: Int = 16, spread: (@Sendable (Key) -> Int)? = nil) {
        var count = 1
        while count < max(minimumShards, 4 * ProcessInfo.processInfo.activeProcessorCount) { count <<= 1 }
        shards = (0..<count).map { _ in Shard() }
        mask = count - 1
        self.spread = spread
    }

    @inlinable
    func shard(_ key: Key) -> Shard {
        // The default stays the specialised, inlined hash (the credential cache on /v1/check).
        guard let spread else { return shards[key.hashValue & mask] }
        return shards[spread(key) & mask]
    }

    /// Reads or changes `key`'s value (nil: absent) under its shard's lock.
    @inlinable
    public func withValue<R>(_ key: Key, _ body: (inout Value?) throws -> R) rethrows -> R {
        // In place (the dictionary's modify accessor moves the value out and back): a copy taken
        // with `values[key]` would share the value's buffers with the one still stored, so every
        // change to a collection inside it would copy the whole collection.
        try shard(key).values.withLock { values in try body(&values[key]) }
    }

    /// Changes `key`'s value in place under its shard's lock, if there is one.
    /// - Returns: what `body` returned, or nil when `key` has no value.
    @inlinable
    public func withExisting<R>(_ key: Key, _ body: (inout Value) throws -> R) rethrows -> R? {
        try shard(key).values.withLock { values in
            guard let index = values.index(forKey: key) else { return nil }
            return try body(&values.values[index])
        }
    }

    /// Reads or changes the whole shard `key` falls in (to keep it within a share of a capacity).
    public func withShard<R>(of key: Key, _ body: (inout [Key: Value]) throws -> R) rethrows -> R {
        try shard(key).values.withLock { try body(&$0) }
    }

    /// The value of `key`, if any.
    @inlinable
    public subscript(key: Key) -> Value? { shard(key).values.withLock { $0[key] } }

    /// Changes every value in place, shard by shard. (Walked by index: a `for … in` loop over the
    /// dictionary would hold its storage, and the first write would copy the shard whole.)
    public func modifyAll(_ body: (inout Value) -> Void) {
        for shard in shards {
            shard.values.withLock { values in
                var index = values.startIndex
                while index != values.endIndex {
                    body(&values.values[index])
                    values.formIndex(after: &index)
                }
            }
        }
    }

    /// Drops every value `body` picks, shard by shard. The picked keys are gathered first and then
    /// removed: writing while iterating made each shard's dictionary copy itself whole (the loop
    /// still held its storage), which cost a million-entry cache 0.3 s per call.
    public func removeAll(where body: (Key, Value) -> Bool) {
        var picked: [Key] = []
        for shard in shards {
            shard.values.withLock { values in
                picked.removeAll(keepingCapacity: true)
                for (key, value) in values where body(key, value) { picked.append(key) }
                for key in picked { values[key] = nil }
            }
        }
    }

    /// Runs `body` on each shard's dictionary under that shard's lock.
    public func forEachShard(_ body: (inout [Key: Value]) -> Void) {
        for shard in shards { shard.values.withLock { body(&$0) } }
    }

    public var count: Int { shards.reduce(0) { total, shard in total + shard.values.withLock { $0.count } } }

    /// How many values one shard may hold for the map to hold `total`.
    public func perShard(_ total: Int) -> Int { max(1, total / shards.count) }
}

/// One run of `work` per key at a time: callers that ask for a key while its work runs wait for
/// that run instead of starting another (a cache miss loads once, not once per waiting request).
public final class SingleFlight<Key: Hashable & Sendable, Result: Sendable>: Sendable {
    private let flights = ShardedMap<Key, Task<Result, any Error>>()

    public init() {}

    public func run(_ key: Key, _ work: @escaping @Sendable () async throws -> Result) async throws -> Result {
        let task = flights.withValue(key) { running -> Task<Result, any Error> in
            if let running { return running }
            let task = Task { try await work() }
            running = task
            return task
        }
        defer { flights.withValue(key) { running in if running == task { running = nil } } }
        return try await task.value
    }

    /// True while `key`'s work runs.
    public func isRunning(_ key: Key) -> Bool { flights[key] != nil }
}

/// Shard-picking bits for keys the server makes itself (see `ShardedMap.init`).
public enum ShardBits {
    /// A UUID's last two bytes: random in the ids the server makes (version 4 and 7), so they spread
    /// keys over the shards without hashing the id once more than the dictionary does.
    public static let uuid: @Sendable (UUID) -> Int = { Int($0.uuid.14) << 8 | Int($0.uuid.15) }
}
