public import struct Foundation.UUID
public import JarvisStore

/// Ends sessions inside a transaction of this module's: disabling a principal or deleting a tenant
/// must end its sessions in the same commit, and sessions belong to the identity module, which
/// builds on this one. The application hands its implementation in.
public protocol SessionEnding: Sendable {
    /// Every session of one principal: refresh tokens revoked, access tokens void.
    func endSessions(_ tx: Transaction, tenantID: UUID, principalID: UUID) async throws
    /// Every session of every principal of a tenant.
    func endSessions(_ tx: Transaction, tenantID: UUID) async throws
}
