public import struct Foundation.UUID
public import struct Foundation.Date
internal import Synchronization
internal import JarvisCrypto

/// Time-ordered UUIDs (RFC 9562 version 7): new rows land at the end of their indexes,
/// and ids made by one process strictly increase, so ordering by id is ordering by creation.
public enum UUIDv7 {
    // Locking rule: the last millisecond and the 12-bit counter within it change together.
    private static let state = Mutex<(millis: UInt64, counter: UInt16)>((0, 0))

    public static func make(now: Date = Date()) -> UUID {
        let wallMillis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        // One draw of random bytes, on the stack: this runs for every reservation of the hot path.
        var uuid = zero
        withUnsafeMutableBytes(of: &uuid) { SecureRandom.fill($0) }
        let (millis, counter) = state.withLock { s -> (UInt64, UInt16) in
            if wallMillis > s.millis {
                // A random start leaves room to count up within the millisecond.
                s = (wallMillis, (UInt16(uuid.6) << 8 | UInt16(uuid.7)) & 0x03FF)
            } else if s.counter < 0x0FFF {
                s.counter += 1
            } else {
                s = (s.millis + 1, 0)
            }
            return (s.millis, s.counter)
        }
        stamp(&uuid, millis: millis)
        uuid.6 = 0x70 | UInt8((counter >> 8) & 0x0F)
        uuid.7 = UInt8(counter & 0xFF)
        uuid.8 = 0x80 | (uuid.8 & 0x3F)
        return UUID(uuid: uuid)
    }

    /// A version-7 id that is unique (within the process by construction, across processes by 64
    /// random-looking bits) and time-ordered, but predictable to whoever knows the process's seed:
    /// for ids that grant nothing by being known, made too often for `RAND_bytes` (a quota
    /// reservation per check).
    public static func makeUnique(now: Date = Date()) -> UUID {
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        // A bijection of the counter under the seed: distinct counters give distinct bits.
        let (n, bits) = sequence.next()
        let high = bits >> 52  // 12 bits beside the version
        var uuid = zero
        stamp(&uuid, millis: millis)
        uuid.6 = 0x70 | UInt8(truncatingIfNeeded: high >> 8) & 0x0F
        uuid.7 = UInt8(truncatingIfNeeded: high)
        // The variant's two bits, then the counter's 52 low mixed bits and 10 more of the counter itself.
        uuid.8 = 0x80 | UInt8(truncatingIfNeeded: n >> 4) & 0x3F
        uuid.9 = UInt8(truncatingIfNeeded: (n << 4) | (bits >> 48) & 0x0F)
        uuid.10 = UInt8(truncatingIfNeeded: bits >> 40)
        uuid.11 = UInt8(truncatingIfNeeded: bits >> 32)
        uuid.12 = UInt8(truncatingIfNeeded: bits >> 24)
        uuid.13 = UInt8(truncatingIfNeeded: bits >> 16)
        uuid.14 = UInt8(truncatingIfNeeded: bits >> 8)
        uuid.15 = UInt8(truncatingIfNeeded: bits)
        return UUID(uuid: uuid)
    }

    private typealias Bytes = (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)
    private static let zero: Bytes = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    /// The 48-bit big-endian millisecond timestamp a version-7 id starts with.
    private static func stamp(_ uuid: inout Bytes, millis: UInt64) {
        uuid.0 = UInt8(truncatingIfNeeded: millis >> 40)
        uuid.1 = UInt8(truncatingIfNeeded: millis >> 32)
        uuid.2 = UInt8(truncatingIfNeeded: millis >> 24)
        uuid.3 = UInt8(truncatingIfNeeded: millis >> 16)
        uuid.4 = UInt8(truncatingIfNeeded: millis >> 8)
        uuid.5 = UInt8(truncatingIfNeeded: millis)
    }

    private static let sequence = SpreadCounter()

    /// The creation time a version-7 id carries (millisecond precision), or nil for other ids.
    public static func timestamp(of id: UUID) -> Date? {
        let u = id.uuid
        guard u.6 >> 4 == 7 else { return nil }
        let millis = [u.0, u.1, u.2, u.3, u.4, u.5].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Date(timeIntervalSince1970: Double(millis) / 1000)
    }
}
