public import struct Foundation.UUID

extension UUID {
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Calls `put` with each byte of the lowercase 8-4-4-4-12 form.
    @inline(__always)
    private func forEachLowercasedByte(_ put: (UInt8) -> Void) {
        withUnsafeBytes(of: uuid) { bytes in
            for (index, byte) in bytes.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 { put(45) }
                put(Self.hexDigits[Int(byte >> 4)])
                put(Self.hexDigits[Int(byte & 15)])
            }
        }
    }

    /// Appends the lowercase form to `out` without making a String.
    public func appendLowercased(to out: inout [UInt8]) {
        forEachLowercasedByte { out.append($0) }
    }

    /// The lowercase form, made in one allocation.
    public var lowercasedText: String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            var count = 0
            forEachLowercasedByte { byte in
                buffer[count] = byte
                count += 1
            }
            return count
        }
    }
}
