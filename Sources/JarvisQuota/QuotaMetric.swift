public import struct Foundation.UUID

/// What a quota limits. The engine enforces `requests` (token bucket) and the token budgets in
/// memory; `concurrent_workflows` is enforced by leases in PostgreSQL (`LeaseStore`). Storage
/// gauges are in the schema but not yet enforced, so the API refuses policies for them rather
/// than accept a limit nothing checks.
public enum QuotaMetric: String, Sendable, CaseIterable, Codable {
    case requests
    case tokensDaily = "tokens_daily"
    case tokensMonthly = "tokens_monthly"
    case concurrentWorkflows = "concurrent_workflows"

    /// The reason code a denial by this metric carries.
    public var denialReason: String { "quota_" + rawValue }

    public var isTokens: Bool { self == .tokensDaily || self == .tokensMonthly }

    /// Decided by the in-memory engine (the others by leases).
    public var isHotPath: Bool { self != .concurrentWorkflows }
}

/// Who a policy limits: the whole tenant, one principal, or one API key.
public enum QuotaSubject: Hashable, Sendable {
    case tenant
    case principal(UUID)
    case apiKey(UUID)

    public enum Kind: String, Sendable, CaseIterable {
        case tenant
        case principal
        case apiKey = "api_key"
    }

    public var kind: Kind {
        switch self {
        case .tenant: return .tenant
        case .principal: return .principal
        case .apiKey: return .apiKey
        }
    }

    public var id: UUID? {
        switch self {
        case .tenant: return nil
        case .principal(let id), .apiKey(let id): return id
        }
    }

    public init?(kind: Kind, id: UUID?) {
        switch (kind, id) {
        case (.tenant, nil): self = .tenant
        case (.principal, let id?): self = .principal(id)
        case (.apiKey, let id?): self = .apiKey(id)
        default: return nil
        }
    }
}
