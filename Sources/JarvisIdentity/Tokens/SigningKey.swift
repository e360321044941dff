public import struct Foundation.Date
internal import JarvisCrypto

/// The JWS algorithms the server signs and verifies with. Nothing else is ever accepted.
public enum JWTAlgorithm: String, Sendable, Codable, CaseIterable {
    case eddsa = "EdDSA"
    case hs256 = "HS256"
}

/// One signing key: Ed25519 (published in the JWKS) or an HMAC secret (never published).
public struct SigningKey: Sendable, Equatable {
    public static func == (a: SigningKey, b: SigningKey) -> Bool {
        a.kid == b.kid && a.algorithm == b.algorithm && a.secret == b.secret && a.status == b.status && a.verifyUntil == b.verifyUntil
    }

    public enum Status: String, Sendable, Codable {
        /// Signs new tokens (exactly one key is active).
        case active
        /// No longer signs, still verifies until `verifyUntil` (its last token's expiry).
        case verifying
        case retired
    }

    public let kid: String
    public let algorithm: JWTAlgorithm
    /// Ed25519 seed, or the HMAC secret.
    let secret: [UInt8]
    /// Ed25519 public key; nil for HS256.
    public let publicKey: [UInt8]?
    public var status: Status
    public let createdAt: Date
    public var verifyUntil: Date?
    /// The parsed Ed25519 key (private: signs and verifies), made once.
    private let parsed: Ed25519.Key?

    init(kid: String, algorithm: JWTAlgorithm, secret: [UInt8], publicKey: [UInt8]?, status: Status, createdAt: Date, verifyUntil: Date?) {
        self.kid = kid
        self.algorithm = algorithm
        self.secret = secret
        self.publicKey = publicKey
        self.status = status
        self.createdAt = createdAt
        self.verifyUntil = verifyUntil
        parsed = algorithm == .eddsa ? try? Ed25519.Key(privateKey: secret) : nil
    }

    /// A fresh key of `algorithm`.
    public static func generate(_ algorithm: JWTAlgorithm, now: Date = Date()) throws -> SigningKey {
        let kid = Base62.random(length: 16)
        switch algorithm {
        case .eddsa:
            let pair = try Ed25519.generate()
            return SigningKey(kid: kid, algorithm: .eddsa, secret: pair.privateKey, publicKey: pair.publicKey, status: .active, createdAt: now, verifyUntil: nil)
        case .hs256:
            return SigningKey(kid: kid, algorithm: .hs256, secret: SecureRandom.bytes(32), publicKey: nil, status: .active, createdAt: now, verifyUntil: nil)
        }
    }

    func sign(_ input: [UInt8]) throws -> [UInt8] {
        switch algorithm {
        case .eddsa:
            guard let parsed else { throw CryptoError.openSSL("unusable Ed25519 key \(kid)") }
            return try parsed.sign(input)
        case .hs256: return HMACSHA256.authenticate(key: secret, message: input)
        }
    }

    func verify(_ signature: [UInt8], of input: [UInt8]) -> Bool {
        switch algorithm {
        case .eddsa: return parsed?.verify(signature, of: input) ?? false
        case .hs256: return ConstantTime.equals(signature, HMACSHA256.authenticate(key: secret, message: input))
        }
    }

    /// Still good for verifying at `now`.
    func verifies(at now: Date) -> Bool {
        switch status {
        case .active: return true
        case .verifying: return (verifyUntil ?? .distantPast) > now
        case .retired: return false
        }
    }
}

extension SigningKey {
    /// A key brought from outside: an Ed25519 private key (32 bytes) or an HMAC secret (≥ 32 bytes).
    public static func imported(kid: String, algorithm: JWTAlgorithm, material: [UInt8], now: Date = Date()) throws -> SigningKey {
        switch algorithm {
        case .eddsa:
            let publicKey = try Ed25519.publicKey(privateKey: material)
            return SigningKey(kid: kid, algorithm: .eddsa, secret: material, publicKey: publicKey, status: .active, createdAt: now, verifyUntil: nil)
        case .hs256:
            guard material.count >= 32 else { throw CryptoError.invalidEncoding }
            return SigningKey(kid: kid, algorithm: .hs256, secret: material, publicKey: nil, status: .active, createdAt: now, verifyUntil: nil)
        }
    }
}
