internal import COpenSSL

/// Comparison whose running time does not depend on where the inputs differ.
public enum ConstantTime {
    /// - Returns: true when `a` and `b` have the same length and bytes. The length is not secret.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 }
        }
    }
}
