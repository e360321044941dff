public import struct Foundation.UUID
public import struct Foundation.Date

/// An API key's record, never its secret.
public struct APIKey: Sendable, Equatable {
    public let id: UUID
    public let tenantID: UUID
    /// The public part of the key text, shown in lists so owners can tell keys apart.
    public let keyID: String
    public let principalID: UUID
    public let name: String
    /// The key's usage is attributed to it (before its principal's).
    public let costCenter: String?
    public let createdBy: UUID?
    public let createdAt: Date
    public let expiresAt: Date?
    public let revokedAt: Date?
    public let lastUsedAt: Date?
}
