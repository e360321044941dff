public import struct Foundation.UUID

/// Who did something, and from where: recorded with every audit event.
public struct AuditActor: Sendable {
    public enum Kind: String, Sendable, Codable {
        case user
        case serviceAccount = "service_account"
        case system
    }

    public var id: UUID?
    public var kind: Kind
    public var requestID: String?
    public var clientIP: String?

    public init(id: UUID?, kind: Kind, requestID: String?, clientIP: String?) {
        self.id = id
        self.kind = kind
        self.requestID = requestID
        self.clientIP = clientIP
    }

    /// The server itself (bootstrap, migrations, background jobs).
    public static let system = AuditActor(id: nil, kind: .system, requestID: nil, clientIP: nil)
}
