public import Foundation
internal import JarvisCrypto
internal import JarvisStore
internal import JarvisJSON

/// Compact JWS (RFC 7515/7519) for access tokens: signing, and verification that accepts only
/// the algorithm of the key named by `kid` — never `none`, never an algorithm the header chooses.
public enum JWT {
    /// Longer tokens are refused before any parsing.
    static let maxLength = 8 * 1024

    /// - Returns: `header.payload.signature`.
    public static func sign(_ claims: AccessTokenClaims, with key: SigningKey) throws -> String {
        let header = #"{"alg":"\#(key.algorithm.rawValue)","kid":\#(JSONWriter.string(key.kid)),"typ":"JWT"}"#
        // Written by hand: the claims are a fixed, flat shape, and Foundation's JSON costs more
        // than the signature.
        var body = #"{"aud":\#(JSONWriter.string(claims.audience)),"exp":\#(Int(claims.expiresAt.timeIntervalSince1970)),"#
        body += #""iat":\#(Int(claims.issuedAt.timeIntervalSince1970)),"iss":\#(JSONWriter.string(claims.issuer)),"#
        body += #""jti":\#(JSONWriter.string(claims.tokenID)),"kind":\#(JSONWriter.string(claims.kind)),"#
        body += #""nbf":\#(Int(claims.notBefore.timeIntervalSince1970)),"roles":["#
        body += claims.roles.map(JSONWriter.string).joined(separator: ",")
        body += "]"
        if let scope = claims.scope { body += #","scope":\#(JSONWriter.string(scope))"# }
        body += #","sub":"\#(claims.subject.lowercasedString)","tid":"\#(claims.tenantID.lowercasedString)"}"#
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(body.utf8))
        return input + "." + Base64URL.encode(try key.sign(Array(input.utf8)))
    }

    /// The fields of the header this verifier reads; any `crit` is refused.
    struct Header: Decodable {
        let alg: String?
        let kid: String?
        let critical: Bool

        enum CodingKeys: String, CodingKey { case alg, kid, crit }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            alg = try container.decodeIfPresent(String.self, forKey: .alg)
            kid = try container.decodeIfPresent(String.self, forKey: .kid)
            critical = container.contains(.crit)
        }
    }

    /// The header's `kid`, for finding the key before verifying.
    static func keyID(of token: String) throws(TokenError) -> (kid: String, alg: String) {
        guard token.utf8.count <= maxLength else { throw .malformed("token too long") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("not three segments") }
        guard let headerBytes = Base64URL.decode(parts[0]), let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes))
        else { throw .malformed("header is not base64url JSON") }
        guard let alg = header.alg else { throw .malformed("no alg") }
        guard JWTAlgorithm(rawValue: alg) != nil else { throw .unsupportedAlgorithm(alg) }
        guard !header.critical else { throw .malformed("crit is not supported") }
        guard let kid = header.kid, !kid.isEmpty, kid.utf8.count <= 64 else { throw .unknownKey }
        return (kid, alg)
    }

    /// The claims this verifier reads. Times are JSON numbers (a boolean is not a time); `aud` is
    /// a string or a list of them.
    struct Payload: Decodable {
        let exp: Double?
        let iat: Double?
        let nbf: Double?
        let iss: String?
        let aud: [String]
        let sub: String?
        let tid: String?
        let kind: String?
        let roles: [String]?
        let scope: String?
        let jti: String?

        enum CodingKeys: String, CodingKey { case exp, iat, nbf, iss, aud, sub, tid, kind, roles, scope, jti }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            exp = try c.decodeIfPresent(Double.self, forKey: .exp)
            iat = try c.decodeIfPresent(Double.self, forKey: .iat)
            nbf = try c.decodeIfPresent(Double.self, forKey: .nbf)
            iss = try c.decodeIfPresent(String.self, forKey: .iss)
            if let one = try? c.decodeIfPresent(String.self, forKey: .aud) {
                aud = [one]
            } else {
                aud = (try? c.decodeIfPresent([String].self, forKey: .aud)) ?? []
            }
            sub = try c.decodeIfPresent(String.self, forKey: .sub)
            tid = try c.decodeIfPresent(String.self, forKey: .tid)
            kind = try c.decodeIfPresent(String.self, forKey: .kind)
            roles = try? c.decodeIfPresent([String].self, forKey: .roles)
            scope = try c.decodeIfPresent(String.self, forKey: .scope)
            jti = try c.decodeIfPresent(String.self, forKey: .jti)
        }
    }

    /// Verifies signature and claims.
    /// - Parameters:
    ///   - key: the key named by the token's `kid`; its algorithm must be the header's.
    ///   - leeway: seconds of clock skew tolerated on `exp` and `nbf`.
    public static func verify(
        _ token: String, key: SigningKey, issuer: String, audience: String, now: Date = Date(), leeway: TimeInterval
    ) throws(TokenError) -> AccessTokenClaims {
        try verify(token, header: try keyID(of: token), key: key, issuer: issuer, audience: audience, now: now, leeway: leeway)
    }

    /// `verify` for a caller that already read the header (to find the key).
    static func verify(
        _ token: String, header: (kid: String, alg: String), key: SigningKey, issuer: String, audience: String, now: Date,
        leeway: TimeInterval
    ) throws(TokenError) -> AccessTokenClaims {
        let (kid, alg) = header
        guard kid == key.kid else { throw .unknownKey }
        guard alg == key.algorithm.rawValue else { throw .unsupportedAlgorithm(alg) }
        guard key.verifies(at: now) else { throw .unknownKey }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard let signature = Base64URL.decode(parts[2]) else { throw .malformed("signature is not base64url") }
        let input = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard key.verify(signature, of: input) else { throw .badSignature }

        guard let payloadBytes = Base64URL.decode(parts[1]), let payload = try? JSONDecoder().decode(Payload.self, from: Data(payloadBytes))
        else { throw .malformed("payload is not base64url JSON with numeric times") }
        guard let exp = payload.exp else { throw .malformed("exp missing or not a number") }
        let expiresAt = Date(timeIntervalSince1970: exp)
        let issuedAt = payload.iat.map(Date.init(timeIntervalSince1970:)) ?? now
        let notBefore = payload.nbf.map(Date.init(timeIntervalSince1970:)) ?? issuedAt
        guard now.timeIntervalSince(expiresAt) < leeway else { throw .expired }
        guard notBefore.timeIntervalSince(now) <= leeway else { throw .notYetValid }
        guard payload.iss == issuer else { throw .wrongIssuer }
        guard payload.aud.contains(audience) else { throw .wrongAudience }
        guard let sub = payload.sub.flatMap(UUID.init(uuidString:)), let tid = payload.tid.flatMap(UUID.init(uuidString:))
        else { throw .malformed("sub and tid must be UUIDs") }
        return AccessTokenClaims(
            issuer: issuer, audience: audience, subject: sub, tenantID: tid, kind: payload.kind ?? "user",
            roles: payload.roles ?? [], scope: payload.scope, issuedAt: issuedAt, notBefore: notBefore, expiresAt: expiresAt,
            tokenID: payload.jti ?? "")
    }
}
