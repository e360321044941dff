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

    /// The first 128 bits of the digest of `string`'s UTF-8, as two big-endian words, computed
    /// without allocating or locking: the credential cache's key. OpenSSL 3's one-shot `SHA256`
    /// and `EVP_Digest` fetch the method under a lock on every call (most of the cost for a short
    /// input); the low-level context on the stack does not.
    public static func prefix128(_ string: some StringProtocol) -> (UInt64, UInt64) {
        if let digest = string.utf8.withContiguousStorageIfAvailable({ prefix128(bytes: $0) }) { return digest }
        return Array(string.utf8).withUnsafeBufferPointer { prefix128(bytes: $0) }
    }

    /// The first 8 bytes of SHA-256(`a` ‖ `separator` ‖ `b`), big-endian, without joining the
    /// inputs first: sticky assignment hashes an id and a subject on every resolve.
    /// Not generic: a generic across modules runs unspecialised, through runtime metadata.
    public static func prefix64(_ a: String, _ separator: UInt8, _ b: String) -> UInt64 {
        var digest: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var context = SHA256_CTX()
        var a = a
        var b = b
        var separator = separator
        withUnsafeMutableBytes(of: &digest) { out in
            SHA256_Init(&context)
            a.withUTF8 { _ = SHA256_Update(&context, $0.baseAddress, $0.count) }
            _ = SHA256_Update(&context, &separator, 1)
            b.withUTF8 { _ = SHA256_Update(&context, $0.baseAddress, $0.count) }
            SHA256_Final(out.baseAddress!.assumingMemoryBound(to: UInt8.self), &context)
        }
        return UInt64(bigEndian: digest.0)
    }

    /// SHA-256(`a` ‖ `b`) without joining the inputs and with the context on the stack (no
    /// method fetch under a lock): a hash chain's link is the digest of the previous hash and an
    /// event, computed millions of times by a verification.
    public static func hash(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: byteCount) { out, count in
            var context = SHA256_CTX()
            SHA256_Init(&context)
            a.withUnsafeBufferPointer { _ = SHA256_Update(&context, $0.baseAddress, $0.count) }
            b.withUnsafeBufferPointer { _ = SHA256_Update(&context, $0.baseAddress, $0.count) }
            SHA256_Final(out.baseAddress, &context)
            count = byteCount
        }
    }

    private static func prefix128(bytes input: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64) {
        var digest: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var context = SHA256_CTX()
        withUnsafeMutableBytes(of: &digest) { out in
            SHA256_Init(&context)
            SHA256_Update(&context, input.baseAddress, input.count)
            SHA256_Final(out.baseAddress!.assumingMemoryBound(to: UInt8.self), &context)
        }
        return (UInt64(bigEndian: digest.0), UInt64(bigEndian: digest.1))
    }
}
