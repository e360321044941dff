/// Base62 (`0-9A-Za-z`) text for random tokens: no characters that need quoting in URLs, headers or shells.
public enum Base62 {
    package static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// - Returns: `length` characters drawn uniformly from the alphabet with OpenSSL's RNG.
    ///   Each character carries log2(62) ≈ 5.95 bits, so 33 characters exceed 192 bits.
    public static func random(length: Int) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(length)
        while out.count < length {
            for byte in SecureRandom.bytes(length * 2) where out.count < length {
                // Rejection sampling: 248 = 4 × 62, so the accepted range maps uniformly.
                if byte < 248 { out.append(alphabet[Int(byte % 62)]) }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// - Returns: true when every character of `text` is in the alphabet.
    public static func isValid(_ text: some StringProtocol) -> Bool {
        text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }
    }
}
