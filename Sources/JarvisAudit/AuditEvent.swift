public import struct Foundation.UUID
public import struct Foundation.Date

/// One audited action. `details` holds only non-secret facts: callers pass what they choose,
/// and `AuditLog` drops any key that names a secret as a second line of defence.
public struct AuditEvent: Sendable, Equatable {
    public var id: UUID
    public var tenantID: UUID
    public var occurredAt: Date
    public var actorID: UUID?
    public var actorKind: AuditActor.Kind
    /// `resource.verb`, such as `tenant.create` or `api_key.revoke`.
    public var action: String
    public var targetType: String
    public var targetID: String?
    public var requestID: String?
    public var clientIP: String?
    public var outcome: Outcome
    public var details: [String: AuditValue]

    public enum Outcome: String, Sendable, Codable {
        case success, failure, denied
    }

    public init(
        id: UUID, tenantID: UUID, occurredAt: Date, actorID: UUID?, actorKind: AuditActor.Kind,
        action: String, targetType: String, targetID: String?, requestID: String?, clientIP: String?,
        outcome: Outcome, details: [String: AuditValue]
    ) {
        self.id = id
        self.tenantID = tenantID
        self.occurredAt = occurredAt
        self.actorID = actorID
        self.actorKind = actorKind
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.requestID = requestID
        self.clientIP = clientIP
        self.outcome = outcome
        self.details = details
    }
}

/// A detail value: the JSON scalars and lists of strings.
public enum AuditValue: Sendable, Equatable, Codable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case strings([String])
    case null

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int.self) { self = .int(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else { self = .strings(try container.decode([String].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let v): try container.encode(v)
        case .int(let v): try container.encode(v)
        case .bool(let v): try container.encode(v)
        case .strings(let v): try container.encode(v)
        case .null: try container.encodeNil()
        }
    }
}

extension AuditValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension AuditValue {
    /// `.null` for nil, so optional fields can be recorded as they are.
    public static func optional(_ value: String?) -> AuditValue { value.map { .string($0) } ?? .null }
}
