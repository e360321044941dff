internal import COpenSSL

/// AES-256-GCM for secrets at rest (signing keys under the master key).
/// Sealed form: 12-byte nonce ‖ ciphertext ‖ 16-byte tag.
public enum AESGCM {
    static let nonceLength = 12
    static let tagLength = 16

    /// - Parameters:
    ///   - key: 32 bytes.
    ///   - associatedData: authenticated but not encrypted (binds a ciphertext to its row).
    public static func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8] = []) throws(CryptoError) -> [UInt8] {
        guard key.count == 32 else { throw .openSSL("AES-256-GCM needs a 32-byte key") }
        let nonce = SecureRandom.bytes(nonceLength)
        guard let context = EVP_CIPHER_CTX_new() else { throw .openSSL(lastError()) }
        defer { EVP_CIPHER_CTX_free(context) }
        var length: Int32 = 0
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var tag = [UInt8](repeating: 0, count: tagLength)
        guard EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, key, nonce) == 1,
            associatedData.isEmpty || EVP_EncryptUpdate(context, nil, &length, associatedData, Int32(associatedData.count)) == 1,
            EVP_EncryptUpdate(context, &ciphertext, &length, plaintext, Int32(plaintext.count)) == 1
        else { throw .openSSL(lastError()) }
        var total = Int(length)
        let finished = ciphertext.withUnsafeMutableBufferPointer { buffer in
            EVP_EncryptFinal_ex(context, buffer.baseAddress! + total, &length)
        }
        guard finished == 1 else { throw .openSSL(lastError()) }
        total += Int(length)
        guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(tagLength), &tag) == 1 else { throw .openSSL(lastError()) }
        return nonce + ciphertext.prefix(total) + tag
    }

    /// - Throws: when the key is wrong or the sealed bytes or associated data were altered.
    public static func open(_ sealed: [UInt8], key: [UInt8], associatedData: [UInt8] = []) throws(CryptoError) -> [UInt8] {
        guard key.count == 32, sealed.count >= nonceLength + tagLength else { throw .invalidEncoding }
        let nonce = Array(sealed.prefix(nonceLength))
        let ciphertext = Array(sealed.dropFirst(nonceLength).dropLast(tagLength))
        var tag = Array(sealed.suffix(tagLength))
        guard let context = EVP_CIPHER_CTX_new() else { throw .openSSL(lastError()) }
        defer { EVP_CIPHER_CTX_free(context) }
        var length: Int32 = 0
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        guard EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, key, nonce) == 1,
            associatedData.isEmpty || EVP_DecryptUpdate(context, nil, &length, associatedData, Int32(associatedData.count)) == 1,
            EVP_DecryptUpdate(context, &plaintext, &length, ciphertext, Int32(ciphertext.count)) == 1,
            EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(tagLength), &tag) == 1
        else { throw .openSSL(lastError()) }
        var total = Int(length)
        let finished = plaintext.withUnsafeMutableBufferPointer { buffer in
            EVP_DecryptFinal_ex(context, buffer.baseAddress! + total, &length)
        }
        ERR_clear_error()
        guard finished == 1 else { throw .invalidEncoding }
        total += Int(length)
        return Array(plaintext.prefix(total))
    }
}
