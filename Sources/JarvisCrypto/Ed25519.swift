internal import COpenSSL

/// Ed25519 signatures (RFC 8032) through OpenSSL's EVP interface, keys as raw 32-byte values.
public enum Ed25519 {
    public static let keyLength = 32
    public static let signatureLength = 64

    /// A new key pair from OpenSSL's RNG.
    /// - Returns: the raw private key (seed) and public key.
    public static func generate() throws(CryptoError) -> (privateKey: [UInt8], publicKey: [UInt8]) {
        guard let context = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nil) else { throw .openSSL(lastError()) }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_keygen(context, &key) == 1, let key else {
            throw .openSSL(lastError())
        }
        defer { EVP_PKEY_free(key) }
        return (try raw(key, isPrivate: true), try raw(key, isPrivate: false))
    }

    /// The public key belonging to a raw private key.
    public static func publicKey(privateKey: [UInt8]) throws(CryptoError) -> [UInt8] {
        let key = try load(privateKey: privateKey)
        defer { EVP_PKEY_free(key) }
        return try raw(key, isPrivate: false)
    }

    /// - Returns: the 64-byte signature of `message`.
    public static func sign(_ message: [UInt8], privateKey: [UInt8]) throws(CryptoError) -> [UInt8] {
        try Key(privateKey: privateKey).sign(message)
    }

    /// - Returns: true only for a valid signature of `message` by `publicKey`; malformed input is false.
    public static func verify(_ signature: [UInt8], of message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard let key = try? Key(publicKey: publicKey) else { return false }
        return key.verify(signature, of: message)
    }

    fileprivate static func load(privateKey: [UInt8]) throws(CryptoError) -> OpaquePointer {
        guard privateKey.count == keyLength,
            let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, privateKey, keyLength)
        else { throw .openSSL("not an Ed25519 private key: \(lastError())") }
        return key
    }

    private static func raw(_ key: OpaquePointer, isPrivate: Bool) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: keyLength)
        var length = keyLength
        let ok = isPrivate ? EVP_PKEY_get_raw_private_key(key, &out, &length) : EVP_PKEY_get_raw_public_key(key, &out, &length)
        guard ok == 1, length == keyLength else { throw .openSSL(lastError()) }
        return out
    }
}

/// The newest OpenSSL error on this thread, as text, clearing the queue.
func lastError() -> String {
    let code = ERR_get_error()
    ERR_clear_error()
    guard code != 0 else { return "unknown OpenSSL error" }
    var buffer = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &buffer, buffer.count)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

extension Ed25519 {
    /// A parsed key kept alive, so signing and verifying skip re-reading (and, for a private key,
    /// re-deriving) the raw bytes each time.
    ///
    /// `@unchecked Sendable`: the EVP_PKEY is never changed after creation, and OpenSSL allows one
    /// key to be used from many threads as long as each operation has its own EVP_MD_CTX.
    public final class Key: @unchecked Sendable {
        private let pkey: OpaquePointer
        public let isPrivate: Bool

        public init(privateKey: [UInt8]) throws(CryptoError) {
            pkey = try Ed25519.load(privateKey: privateKey)
            isPrivate = true
        }

        public init(publicKey: [UInt8]) throws(CryptoError) {
            guard publicKey.count == keyLength, let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, publicKey, keyLength) else {
                throw .openSSL("not an Ed25519 public key")
            }
            pkey = key
            isPrivate = false
        }

        deinit { EVP_PKEY_free(pkey) }

        public func sign(_ message: [UInt8]) throws(CryptoError) -> [UInt8] {
            guard isPrivate else { throw .openSSL("signing needs a private key") }
            guard let context = EVP_MD_CTX_new() else { throw .openSSL(lastError()) }
            defer { EVP_MD_CTX_free(context) }
            guard EVP_DigestSignInit(context, nil, nil, nil, pkey) == 1 else { throw .openSSL(lastError()) }
            var signature = [UInt8](repeating: 0, count: signatureLength)
            var length = signatureLength
            let ok = message.withUnsafeBufferPointer { EVP_DigestSign(context, &signature, &length, $0.baseAddress, $0.count) }
            guard ok == 1, length == signatureLength else { throw .openSSL(lastError()) }
            return signature
        }

        public func verify(_ signature: [UInt8], of message: [UInt8]) -> Bool {
            guard signature.count == signatureLength, let context = EVP_MD_CTX_new() else { return false }
            defer { EVP_MD_CTX_free(context) }
            guard EVP_DigestVerifyInit(context, nil, nil, nil, pkey) == 1 else { return false }
            let ok = message.withUnsafeBufferPointer { EVP_DigestVerify(context, signature, signature.count, $0.baseAddress, $0.count) }
            ERR_clear_error()
            return ok == 1
        }
    }
}
