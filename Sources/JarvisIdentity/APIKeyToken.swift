internal import JarvisCrypto

/// The text of an API key: `jvs_<key id>_<secret>`, both base62. The key id (16 characters,
/// ~95 bits) finds the row; the secret (43 characters, ~256 bits) is checked against its HMAC.
public struct APIKeyToken: Sendable, Equatable {
    public static let prefix = "jvs_"
    static let keyIDLength = 16
    static let secretLength = 43

    public let keyID: String
    public let secret: String

    /// A new key with a fresh id and secret from OpenSSL's RNG.
    public static func generate() -> APIKeyToken {
        APIKeyToken(keyID: Base62.random(length: keyIDLength), secret: Base62.random(length: secretLength))
    }

    /// - Returns: nil unless `text` has exactly the key format.
    public init?(parsing text: some StringProtocol) {
        guard text.utf8.count == Self.prefix.utf8.count + Self.keyIDLength + 1 + Self.secretLength,
            text.hasPrefix(Self.prefix)
        else { return nil }
        let body = text.dropFirst(Self.prefix.count)
        let keyID = body.prefix(Self.keyIDLength)
        let rest = body.dropFirst(Self.keyIDLength)
        guard rest.first == "_" else { return nil }
        let secret = rest.dropFirst()
        guard Base62.isValid(keyID), Base62.isValid(secret) else { return nil }
        self.keyID = String(keyID)
        self.secret = String(secret)
    }

    init(keyID: String, secret: String) {
        self.keyID = keyID
        self.secret = secret
    }

    /// The whole key, as shown to its owner exactly once.
    public var text: String { Self.prefix + keyID + "_" + secret }

    /// HMAC-SHA256(pepper, secret): what is stored. A database leak alone does not let anyone
    /// test guesses offline without the pepper.
    public func secretHash(pepper: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticate(key: pepper, message: Array(secret.utf8))
    }
}
