internal import Synchronization

/// A counter whose values come out scrambled: each draw is the next count passed through
/// SplitMix64's finalizer under a random seed. Distinct counts give distinct bits (the finalizer is
/// a bijection), spread evenly, with no system call — for ids that must be unique and well mixed
/// but grant nothing by being guessed (span ids, per-reservation ids). Not for secrets.
public final class SpreadCounter: Sendable {
    private let counter = Atomic<UInt64>(0)
    private let seed: UInt64

    public init() {
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { SecureRandom.fill($0) }
        seed = value
    }

    /// The next count (from 1) and its scrambled bits.
    public func next() -> (count: UInt64, bits: UInt64) {
        let count = counter.add(1, ordering: .relaxed).newValue
        return (count, Self.mix(count &+ seed))
    }

    private static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
