import Foundation
import JarvisCrypto
import JarvisIdentity
import JarvisStore
import Testing

/// Our JWS code on its own: what it signs verifies, and every forgery fails.
@Suite struct JWTTests {
    static let now = Date()

    static func claims(expires: TimeInterval = 300, notBefore: TimeInterval = 0) -> AccessTokenClaims {
        AccessTokenClaims(
            issuer: "jarvis", audience: "jarvis", subject: UUIDv7.make(), tenantID: UUIDv7.make(), kind: "user",
            roles: ["viewer"], scope: nil, issuedAt: now, notBefore: now.addingTimeInterval(notBefore),
            expiresAt: now.addingTimeInterval(expires), tokenID: "t1")
    }

    static func verify(_ token: String, _ key: SigningKey, issuer: String = "jarvis", audience: String = "jarvis") throws(TokenError) -> AccessTokenClaims {
        try JWT.verify(token, key: key, issuer: issuer, audience: audience, now: now, leeway: 5)
    }

    static func segments(_ token: String) -> [String] { token.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }

    @Test(arguments: JWTAlgorithm.allCases)
    func signedTokensVerifyAndCarryTheirClaims(algorithm: JWTAlgorithm) throws {
        let key = try SigningKey.generate(algorithm)
        let claims = Self.claims()
        let token = try JWT.sign(claims, with: key)
        let verified = try Self.verify(token, key)
        #expect(verified.subject == claims.subject && verified.tenantID == claims.tenantID && verified.roles == ["viewer"])
    }

    @Test func claimsWithCharactersThatNeedEscapingSurviveTheRoundTrip() throws {
        let key = try SigningKey.generate(.hs256)
        var claims = Self.claims()
        claims.issuer = "we\"ird\\issuer\n\u{1}é"
        claims.roles = ["a\"b", "c"]
        claims.scope = "documents:read tenant:read"
        let verified = try JWT.verify(try JWT.sign(claims, with: key), key: key, issuer: claims.issuer, audience: "jarvis", now: Self.now, leeway: 5)
        #expect(verified.roles == ["a\"b", "c"] && verified.scope == claims.scope)
    }

    @Test func expiredAndNotYetValidTokensAreRefused() throws {
        let key = try SigningKey.generate(.eddsa)
        #expect(throws: TokenError.expired) { try Self.verify(try JWT.sign(Self.claims(expires: -60), with: key), key) }
        #expect(throws: TokenError.notYetValid) { try Self.verify(try JWT.sign(Self.claims(notBefore: 60), with: key), key) }
        // Within the leeway both pass.
        _ = try Self.verify(try JWT.sign(Self.claims(expires: -2), with: key), key)
    }

    @Test func wrongIssuerOrAudienceIsRefused() throws {
        let key = try SigningKey.generate(.eddsa)
        let token = try JWT.sign(Self.claims(), with: key)
        #expect(throws: TokenError.wrongIssuer) { try Self.verify(token, key, issuer: "someone-else") }
        #expect(throws: TokenError.wrongAudience) { try Self.verify(token, key, audience: "another-api") }
    }

    @Test func aFlippedSignatureBitOrAlteredPayloadIsRefused() throws {
        let key = try SigningKey.generate(.eddsa)
        let token = try JWT.sign(Self.claims(), with: key)
        var parts = Self.segments(token)
        var signature = try #require(Base64URL.decode(parts[2]))
        signature[10] ^= 0x01
        parts[2] = Base64URL.encode(signature)
        #expect(throws: TokenError.badSignature) { try Self.verify(parts.joined(separator: "."), key) }

        var payload = Self.segments(token)
        let body = String(decoding: try #require(Base64URL.decode(payload[1])), as: UTF8.self).replacingOccurrences(of: "viewer", with: "tenant_admin")
        payload[1] = Base64URL.encode(Array(body.utf8))
        #expect(throws: TokenError.badSignature) { try Self.verify(payload.joined(separator: "."), key) }
    }

    @Test func algNoneAndAlgorithmSwapsAreRefused() throws {
        let key = try SigningKey.generate(.eddsa)
        let token = try JWT.sign(Self.claims(), with: key)
        let parts = Self.segments(token)
        let none = Base64URL.encode(Array(#"{"alg":"none","kid":"\#(key.kid)","typ":"JWT"}"#.utf8))
        #expect(throws: TokenError.self) { try Self.verify("\(none).\(parts[1]).", key) }
        // HS256 keyed with the public key bytes: the classic confusion attack.
        let hs = Base64URL.encode(Array(#"{"alg":"HS256","kid":"\#(key.kid)","typ":"JWT"}"#.utf8))
        let input = Array("\(hs).\(parts[1])".utf8)
        let mac = HMACSHA256.authenticate(key: try #require(key.publicKey), message: input)
        #expect(throws: TokenError.unsupportedAlgorithm("HS256")) { try Self.verify("\(hs).\(parts[1]).\(Base64URL.encode(mac))", key) }
    }

    @Test(arguments: ["", "a.b", "a.b.c.d", "!!!.???.###", String(repeating: "a", count: 9000)])
    func malformedTokensAreRefused(token: String) throws {
        let key = try SigningKey.generate(.hs256)
        #expect(throws: TokenError.self) { try Self.verify(token, key) }
    }

    @Test func aTokenNamingAnotherKeyIsRefused() throws {
        let signer = try SigningKey.generate(.eddsa)
        let other = try SigningKey.generate(.eddsa)
        #expect(throws: TokenError.unknownKey) { try Self.verify(try JWT.sign(Self.claims(), with: signer), other) }
    }

    @Test func ed25519AndAESGCMRoundTripAndDetectTampering() throws {
        let pair = try Ed25519.generate()
        let signature = try Ed25519.sign(Array("hello".utf8), privateKey: pair.privateKey)
        #expect(Ed25519.verify(signature, of: Array("hello".utf8), publicKey: pair.publicKey))
        #expect(!Ed25519.verify(signature, of: Array("hellO".utf8), publicKey: pair.publicKey))
        #expect(try Ed25519.publicKey(privateKey: pair.privateKey) == pair.publicKey)

        let key = SecureRandom.bytes(32)
        let sealed = try AESGCM.seal(Array("secret".utf8), key: key, associatedData: Array("kid1".utf8))
        #expect(try AESGCM.open(sealed, key: key, associatedData: Array("kid1".utf8)) == Array("secret".utf8))
        #expect(throws: CryptoError.self) { try AESGCM.open(sealed, key: key, associatedData: Array("kid2".utf8)) }
        var altered = sealed
        altered[14] ^= 1
        #expect(throws: CryptoError.self) { try AESGCM.open(altered, key: key, associatedData: Array("kid1".utf8)) }
        #expect(throws: CryptoError.self) { try AESGCM.open(sealed, key: SecureRandom.bytes(32), associatedData: Array("kid1".utf8)) }
    }

    /// RFC 8032 §7.1, test 1: the empty message.
    @Test func ed25519MatchesRFC8032TestVector1() throws {
        func bytes(_ hex: String) -> [UInt8] {
            var out: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex {
                let next = hex.index(index, offsetBy: 2)
                out.append(UInt8(hex[index..<next], radix: 16)!)
                index = next
            }
            return out
        }
        let secret = bytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        #expect(try Ed25519.publicKey(privateKey: secret) == bytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        #expect(try Ed25519.sign([], privateKey: secret) == bytes(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"))
    }
}
