internal import COpenSSL

/// SHA-256 through OpenSSL's one-shot EVP digest.
public enum SHA256 {
    public static let byteCount = 32

    /// - Returns: the 32-byte digest of `data`.
    public static func hash(_ data: some Collection<UInt8>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: byteCount)
        var outLength: UInt32 = 0
        let ok = data.withContiguousStorageIfAvailable { input in
            EVP_Digest(input.baseAddress, input.count, &out, &outLength, EVP_sha256(), nil)
        } ?? Array(data).withUnsafeBufferPointer { input in
            EVP_Digest(input.baseAddress, input.count, &out, &outLength, EVP_sha256(), nil)
        }
        // EVP_Digest with SHA-256 cannot fail short of memory corruption.
        precondition(ok == 1 && outLength == UInt32(byteCount), "EVP_Digest(SHA-256) failed")
        return out
    }

    public static func hash(_ string: String) -> [UInt8] { hash(Array(string.utf8)) }
}
