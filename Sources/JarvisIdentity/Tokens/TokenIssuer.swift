public import Foundation
public import JarvisAccess
internal import JarvisCrypto
internal import JarvisStore

/// Signs access tokens with the ring's active key.
public struct TokenIssuer: Sendable {
    let ring: SigningKeyRing
    let configuration: IdentityConfiguration

    public init(ring: SigningKeyRing, configuration: IdentityConfiguration) {
        self.ring = ring
        self.configuration = configuration
    }

    /// - Returns: the compact JWT and its lifetime in seconds.
    public func issue(
        subject: UUID, tenantID: UUID, kind: Caller.Kind, roles: [String], scope: String? = nil, now: Date = Date()
    ) async throws -> (token: String, expiresIn: Int) {
        let key = try await ring.activeKey()
        let issuedAt = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let claims = AccessTokenClaims(
            issuer: configuration.issuer, audience: configuration.audience, subject: subject, tenantID: tenantID,
            kind: kind.rawValue, roles: roles.sorted(), scope: scope, issuedAt: issuedAt, notBefore: issuedAt,
            expiresAt: issuedAt.addingTimeInterval(configuration.accessTokenTTL), tokenID: UUIDv7.make().lowercasedString)
        return (try JWT.sign(claims, with: key), Int(configuration.accessTokenTTL))
    }
}
