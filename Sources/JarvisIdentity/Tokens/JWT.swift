public import Foundation
internal import JarvisCrypto
internal import JarvisStore

/// Compact JWS (RFC 7515/7519) for access tokens: signing, and verification that accepts only
/// the algorithm of the key named by `kid` — never `none`, never an algorithm the header chooses.
public enum JWT {
    /// Longer tokens are refused before any parsing.
    static let maxLength = 8 * 1024

    /// - Returns: `header.payload.signature`.
    public static func sign(_ claims: AccessTokenClaims, with key: SigningKey) throws -> String {
        let header = #"{"alg":"\#(key.algorithm.rawValue)","kid":"\#(jsonString(key.kid))","typ":"JWT"}"#
        // Written by hand: the claims are a fixed, flat shape, and Foundation's JSON costs more
        // than the signature.
        var body = #"{"aud":"\#(jsonString(claims.audience))","exp":\#(Int(claims.expiresAt.timeIntervalSince1970)),"#
        body += #""iat":\#(Int(claims.issuedAt.timeIntervalSince1970)),"iss":"\#(jsonString(claims.issuer))","#
        body += #""jti":"\#(jsonString(claims.tokenID))","kind":"\#(jsonString(claims.kind))","#
        body += #""nbf":\#(Int(claims.notBefore.timeIntervalSince1970)),"roles":["#
        body += claims.roles.map { "\"\(jsonString($0))\"" }.joined(separator: ",")
        body += "]"
        if let scope = claims.scope { body += #","scope":"\#(jsonString(scope))""# }
        body += #","sub":"\#(claims.subject.lowercasedString)","tid":"\#(claims.tenantID.lowercasedString)"}"#
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(body.utf8))
        return input + "." + Base64URL.encode(try key.sign(Array(input.utf8)))
    }

    /// `text` escaped for a JSON string literal (RFC 8259 §7).
    static func jsonString(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The header's `kid`, for finding the key before verifying.
    static func keyID(of token: String) throws(TokenError) -> (kid: String, alg: String) {
        guard token.utf8.count <= maxLength else { throw .malformed("token too long") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("not three segments") }
        guard let headerBytes = Base64URL.decode(parts[0]),
            let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any]
        else { throw .malformed("header is not base64url JSON") }
        guard let alg = header["alg"] as? String else { throw .malformed("no alg") }
        guard JWTAlgorithm(rawValue: alg) != nil else { throw .unsupportedAlgorithm(alg) }
        if let crit = header["crit"] { _ = crit; throw .malformed("crit is not supported") }
        guard let kid = header["kid"] as? String, !kid.isEmpty, kid.utf8.count <= 64 else { throw .unknownKey }
        return (kid, alg)
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

        guard let payloadBytes = Base64URL.decode(parts[1]),
            let payload = try? JSONSerialization.jsonObject(with: Data(payloadBytes)) as? [String: Any]
        else { throw .malformed("payload is not base64url JSON") }
        func number(_ name: String) throws(TokenError) -> Date {
            // JSON booleans also arrive as NSNumber (objCType "c"); a time must be a number.
            guard let value = payload[name] as? NSNumber, String(cString: value.objCType) != "c" else {
                throw .malformed("\(name) missing or not a number")
            }
            return Date(timeIntervalSince1970: value.doubleValue)
        }
        let expiresAt = try number("exp")
        let issuedAt = (try? number("iat")) ?? now
        let notBefore = (try? number("nbf")) ?? issuedAt
        guard now.timeIntervalSince(expiresAt) < leeway else { throw .expired }
        guard notBefore.timeIntervalSince(now) <= leeway else { throw .notYetValid }
        guard payload["iss"] as? String == issuer else { throw .wrongIssuer }
        switch payload["aud"] {
        case let single as String where single == audience: break
        case let many as [Any] where many.contains(where: { ($0 as? String) == audience }): break
        default: throw .wrongAudience
        }
        guard let sub = (payload["sub"] as? String).flatMap(UUID.init(uuidString:)),
            let tid = (payload["tid"] as? String).flatMap(UUID.init(uuidString:))
        else { throw .malformed("sub and tid must be UUIDs") }
        return AccessTokenClaims(
            issuer: issuer, audience: audience, subject: sub, tenantID: tid, kind: payload["kind"] as? String ?? "user",
            roles: payload["roles"] as? [String] ?? [], scope: payload["scope"] as? String,
            issuedAt: issuedAt, notBefore: notBefore, expiresAt: expiresAt, tokenID: payload["jti"] as? String ?? "")
    }
}
