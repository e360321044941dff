public import struct Foundation.UUID
public import JarvisStore
public import JarvisTenancy

/// Ending sessions for the tenancy module's changes (a principal disabled, a tenant deleted), in
/// their transactions: refresh tokens revoked and access tokens issued so far void.
public struct Sessions: SessionEnding {
    public init() {}

    public func endSessions(_ tx: Transaction, tenantID: UUID, principalID: UUID) async throws {
        try await RefreshTokenStore.revokeAll(tx, tenantID: tenantID, principalID: principalID)
    }

    public func endSessions(_ tx: Transaction, tenantID: UUID) async throws {
        try await RefreshTokenStore.revokeTenant(tx, tenantID: tenantID)
    }
}
