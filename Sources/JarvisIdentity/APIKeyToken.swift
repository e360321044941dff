internal import JarvisCrypto

/// The text of an API key: `jvs_<key id>_<secret><tag>`, all base62. The key id (16 characters,
/// ~95 bits) finds the row; the secret (43 characters, ~256 bits) is checked against its HMAC;
/// the tag (6 characters, ~35 bits) is a MAC of both under a key derived from the pepper, so a
/// credential that was never issued is refused without a database lookup — a random or forged one
/// passes with odds of 1 in 5.7·10¹⁰, where a plain checksum (GitHub's CRC32) stops only typos.
/// Keys issued before tags (`jvs_<key id>_<secret>`, 64 characters) stay valid: `LegacyKeyIDs`
/// knows which ids those are.
public struct APIKeyToken: Sendable, Equatable {
    public static let prefix = "jvs_"
    static let keyIDLength = 16
    static let secretLength = 43
    static let tagLength = 6

    public let keyID: String
    public let secret: String
    /// nil for a key issued before tags (and for refresh tokens, which share the format).
    public let tag: String?

    /// A new id and secret from OpenSSL's RNG, untagged (a refresh token; `tagged` makes a key).
    public static func generate() -> APIKeyToken {
        APIKeyToken(keyID: Base62.random(length: keyIDLength), secret: Base62.random(length: secretLength), tag: nil)
    }

    /// A new API key: fresh id and secret, tagged under `pepper`.
    public static func generateKey(pepper: [UInt8]) -> APIKeyToken { generate().tagged(tagKey: tagKey(pepper: pepper)) }

    /// - Returns: nil unless `text` has exactly the format (with or without a tag).
    public init?(parsing text: some StringProtocol) {
        let untagged = Self.prefix.utf8.count + Self.keyIDLength + 1 + Self.secretLength
        let length = text.utf8.count
        guard length == untagged || length == untagged + Self.tagLength, text.hasPrefix(Self.prefix) else { return nil }
        let body = text.dropFirst(Self.prefix.count)
        let keyID = body.prefix(Self.keyIDLength)
        let rest = body.dropFirst(Self.keyIDLength)
        guard rest.first == "_" else { return nil }
        let secret = rest.dropFirst().prefix(Self.secretLength)
        let tag = rest.dropFirst(1 + Self.secretLength)
        guard Base62.isValid(keyID), Base62.isValid(secret), Base62.isValid(tag) else { return nil }
        self.keyID = String(keyID)
        self.secret = String(secret)
        self.tag = tag.isEmpty ? nil : String(tag)
    }

    init(keyID: String, secret: String, tag: String?) {
        self.keyID = keyID
        self.secret = secret
        self.tag = tag
    }

    /// The whole key, as shown to its owner exactly once.
    public var text: String { Self.prefix + keyID + "_" + secret + (tag ?? "") }

    /// The key tags are made with: derived from the pepper, apart from the secret hash's use of it.
    public static func tagKey(pepper: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticate(key: pepper, message: Array("jarvis api key tag v1".utf8))
    }

    /// This id and secret with their tag.
    public func tagged(tagKey: [UInt8]) -> APIKeyToken {
        APIKeyToken(keyID: keyID, secret: secret, tag: Self.tag(keyID: keyID, secret: secret, tagKey: tagKey))
    }

    /// True when the key carries the tag `tagKey` gives it, compared in constant time.
    public func hasValidTag(tagKey: [UInt8]) -> Bool {
        guard let tag else { return false }
        return ConstantTime.equals(Array(tag.utf8), Array(Self.tag(keyID: keyID, secret: secret, tagKey: tagKey).utf8))
    }

    /// Six base62 digits of HMAC-SHA256(tag key, "<key id>_<secret>").
    static func tag(keyID: String, secret: String, tagKey: [UInt8]) -> String {
        let mac = HMACSHA256.authenticate(key: tagKey, message: Array((keyID + "_" + secret).utf8))
        var value = mac.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        var digits: [UInt8] = []
        for _ in 0..<tagLength {
            digits.append(Base62.alphabet[Int(value % 62)])
            value /= 62
        }
        return String(decoding: digits, as: UTF8.self)
    }

    /// HMAC-SHA256(pepper, secret): what is stored. A database leak alone does not let anyone
    /// test guesses offline without the pepper.
    public func secretHash(pepper: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticate(key: pepper, message: Array(secret.utf8))
    }
}
