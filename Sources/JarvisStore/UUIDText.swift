public import struct Foundation.UUID

/// UUID text without Foundation's C path: `uuidString` formats through `sprintf` and
/// `UUID(uuidString:)` parses through `sscanf`, and both ran several times per usage event (a
/// 1,000-event batch spent a tenth of its CPU there).
extension UUID {
    /// The lowercase text form used in JSON, SQL and audit records.
    public var lowercasedString: String {
        withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { out in
                let digits: StaticString = "0123456789abcdef"
                var position = 0
                for (index, byte) in bytes.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        out[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    out[position] = digits.utf8Start[Int(byte >> 4)]
                    out[position + 1] = digits.utf8Start[Int(byte & 0x0F)]
                    position += 2
                }
                return 36
            }
        }
    }

    /// The 36-character form (8-4-4-4-12 hex digits, either case), as `UUID(uuidString:)` takes it.
    public static func parse(_ text: some StringProtocol) -> UUID? { parse(bytes: text.utf8) }

    /// `parse(_:)` of UTF-8 bytes (a column as COPY wrote it). Inlinable, so callers in other
    /// modules get it specialised for their byte type (unspecialised, every byte went through
    /// generic witness calls: a fifth of audit verification's parsing).
    @inlinable
    public static func parse(bytes: some Sequence<UInt8>) -> UUID? {
        var utf8 = bytes.makeIterator()
        var bytes = UUID.zero
        let parsed = withUnsafeMutableBytes(of: &bytes) { out -> Bool in
            for index in 0..<16 {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    guard utf8.next() == UInt8(ascii: "-") else { return false }
                }
                guard let high = utf8.next().flatMap(uuidHexValue), let low = utf8.next().flatMap(uuidHexValue) else { return false }
                out[index] = high << 4 | low
            }
            return utf8.next() == nil
        }
        return parsed ? UUID(uuid: bytes) : nil
    }

    @usableFromInline static let zero: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    /// The UUID's bytes as two big-endian words: ordering by them is PostgreSQL's `uuid` order.
    public var orderKey: (UInt64, UInt64) {
        withUnsafeBytes(of: uuid) { bytes in
            (UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
             UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
    }
}

@usableFromInline
func uuidHexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
}
