internal import COpenSSL

/// HMAC-SHA256 through OpenSSL's one-shot `HMAC()`.
public enum HMACSHA256 {
    /// - Parameters:
    ///   - key: the secret key (for API keys, the server pepper).
    ///   - message: the bytes to authenticate.
    /// - Returns: the 32-byte MAC.
    public static func authenticate(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: SHA256.byteCount)
        var outLength: UInt32 = 0
        let result = key.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress, m.count, &out, &outLength)
            }
        }
        precondition(result != nil && outLength == UInt32(SHA256.byteCount), "HMAC(SHA-256) failed")
        return out
    }
}
