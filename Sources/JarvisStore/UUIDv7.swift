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
        let (millis, counter) = state.withLock { s -> (UInt64, UInt16) in
            if wallMillis > s.millis {
                // A random start leaves room to count up within the millisecond.
                let start = SecureRandom.bytes(2)
                s = (wallMillis, (UInt16(start[0]) << 8 | UInt16(start[1])) & 0x03FF)
            } else if s.counter < 0x0FFF {
                s.counter += 1
            } else {
                s = (s.millis + 1, 0)
            }
            return (s.millis, s.counter)
        }
        var bytes = SecureRandom.bytes(16)
        for i in 0..<6 { bytes[i] = UInt8((millis >> UInt64(8 * (5 - i))) & 0xFF) }
        bytes[6] = 0x70 | UInt8((counter >> 8) & 0x0F)
        bytes[7] = UInt8(counter & 0xFF)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        return UUID(uuid: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
        ))
    }

    /// The creation time a version-7 id carries (millisecond precision), or nil for other ids.
    public static func timestamp(of id: UUID) -> Date? {
        let u = id.uuid
        guard u.6 >> 4 == 7 else { return nil }
        let millis = [u.0, u.1, u.2, u.3, u.4, u.5].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Date(timeIntervalSince1970: Double(millis) / 1000)
    }
}
