import Foundation
import HTTPTypes
import JarvisCrypto
import JarvisIdentity
import JarvisStore
import Testing

@Suite struct CryptoTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test func sha256MatchesTheFIPSExample() {
        #expect(Self.hex(SHA256.hash("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // Two parts hashed as one input, whatever the split (an empty side included).
        #expect(Self.hex(SHA256.hash(Array("a".utf8), Array("bc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hash([], Array("abc".utf8)) == SHA256.hash("abc") && SHA256.hash(Array("abc".utf8), []) == SHA256.hash("abc"))
        let long = (0..<1_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(SHA256.hash(Array(long[..<333]), Array(long[333...])) == SHA256.hash(long))
    }

    @Test func hmacSHA256MatchesRFC4231TestCase2() {
        let mac = HMACSHA256.authenticate(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(Self.hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    /// The reference implementation's known answer for Argon2id v1.3, t=2, m=64 MiB, p=1.
    @Test func argon2idMatchesTheReferenceKnownAnswer() throws {
        let params = Argon2id(memoryKiB: 1 << 16, iterations: 2, parallelism: 1)
        let encoded = try params.hash(password: Array("password".utf8), salt: Array("somesalt".utf8))
        #expect(encoded == "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
        #expect(try Argon2id.verify(password: Array("password".utf8), encoded: encoded))
        #expect(try !Argon2id.verify(password: Array("passwore".utf8), encoded: encoded))
        #expect(Argon2id.parameters(of: encoded) == params)
    }

    @Test func argon2idRejectsGarbageHashes() {
        #expect(throws: CryptoError.self) { try Argon2id.verify(password: [1], encoded: "$argon2id$nonsense") }
    }

    @Test func constantTimeCompareDistinguishesLengthAndContent() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
    }

    @Test func base64URLRoundTripsAndRejectsNonCanonicalText() {
        for length in 0..<40 {
            let bytes = SecureRandom.bytes(length)
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
        #expect(Base64URL.encode(Array("hi?>".utf8)) == "aGk_Pg")
        #expect(Base64URL.decode("aGk_Pg==") == nil)
        #expect(Base64URL.decode("aGk_Ph") == nil)  // non-zero padding bits
        #expect(Base64URL.decode("a") == nil)
    }

    @Test func randomBase62SecretsHaveTheRequestedLengthAndAlphabet() {
        let secrets = (0..<200).map { _ in Base62.random(length: 43) }
        #expect(Set(secrets).count == secrets.count)
        #expect(secrets.allSatisfy { $0.count == 43 && Base62.isValid($0) })
    }

    @Test func apiKeyTokensParseOnlyTheirOwnFormat() throws {
        let token = APIKeyToken.generate()
        #expect(token.text.hasPrefix("jvs_"))
        #expect(APIKeyToken(parsing: token.text) == token)
        #expect(APIKeyToken(parsing: token.text + "x") == nil)
        #expect(APIKeyToken(parsing: token.text.replacingOccurrences(of: "jvs_", with: "jvx_")) == nil)
        #expect(APIKeyToken(parsing: String(token.text.dropLast()) + "!") == nil)
        #expect(APIKeyToken(parsing: "jvs_") == nil)
    }

    @Test func timestampsParseRFC3339AndPostgresTextAndRefuseImpossibleDates() throws {
        let date = try #require(Timestamp.parse("2026-11-22T02:14:59.123456Z"))
        #expect(Timestamp.format(date) == "2026-11-22T02:14:59.123456Z")
        #expect(Timestamp.parse("2026-11-22 03:14:59.123456+01") == date)
        #expect(Timestamp.parse("2026-11-22T04:14:59.123456+02:00") == date)
        #expect(Timestamp.parse("2026-02-31T00:00:00Z") == nil)
        #expect(Timestamp.parse("2026-11-22T02:14:59") == nil)
        #expect(Timestamp.parse("yesterday") == nil)
    }

    @Test func uuidv7IdsIncreaseWithinOneProcess() {
        let ids = (0..<5000).map { _ in UUIDv7.make().lowercasedString }
        #expect(ids == ids.sorted())
        #expect(ids.allSatisfy { $0.dropFirst(14).first == "7" })
    }
}
