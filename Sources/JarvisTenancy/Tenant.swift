public import struct Foundation.UUID
public import struct Foundation.Date

/// An organisation on the platform; every other object belongs to exactly one.
public struct Tenant: Sendable, Equatable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case active, suspended
    }

    public let id: UUID
    public var slug: String
    public var name: String
    public var plan: String
    public var status: Status
    public let createdAt: Date
    public var updatedAt: Date
}
