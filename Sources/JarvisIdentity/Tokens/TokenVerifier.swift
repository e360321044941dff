public import Foundation
internal import JarvisCrypto
internal import Synchronization

/// Verifies access tokens, remembering verified ones by SHA-256 digest until they expire, so a
/// hot token costs one signature check per instance.
public final class TokenVerifier: Sendable {
    let ring: SigningKeyRing
    let configuration: IdentityConfiguration
    let capacity: Int
    // Locking rule: the cache is read and written only under this lock.
    private let cache = Mutex<[[UInt8]: (claims: AccessTokenClaims, until: Date)]>([:])

    public init(ring: SigningKeyRing, configuration: IdentityConfiguration, capacity: Int = 100_000) {
        self.ring = ring
        self.configuration = configuration
        self.capacity = capacity
    }

    public func verify(_ token: String, now: Date = Date()) async throws -> AccessTokenClaims {
        let digest = SHA256.hash(token)
        if let hit = cache.withLock({ $0[digest] }), hit.until > now { return hit.claims }
        let header = try JWT.keyID(of: token)
        guard let key = try await ring.key(header.kid) else { throw TokenError.unknownKey }
        let claims = try JWT.verify(
            token, header: header, key: key, issuer: configuration.issuer, audience: configuration.audience, now: now,
            leeway: configuration.leeway)
        // Cached no longer than the token lives and its key verifies.
        let until = min(claims.expiresAt.addingTimeInterval(configuration.leeway), key.verifyUntil ?? .distantFuture)
        cache.withLock { entries in
            if entries.count >= capacity {
                // Expired entries go first; if that frees nothing, start over rather than grow.
                entries = entries.filter { $0.value.until > now }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[digest] = (claims, until)
        }
        return claims
    }
}
