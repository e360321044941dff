public import struct Foundation.UUID
public import struct Foundation.Date
public import JarvisAccess

/// A user or a service account of one tenant.
public struct Principal: Sendable, Equatable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case active, disabled
    }

    public let id: UUID
    public let tenantID: UUID
    public let kind: Caller.Kind
    /// Users only.
    public var email: String?
    /// A user's display name, or a service account's name.
    public var name: String
    public var description: String
    /// Usage the principal reports or is named in is attributed to it (an API key's own wins).
    public var costCenter: String?
    public var status: Status
    public let createdAt: Date
    public var updatedAt: Date
}
