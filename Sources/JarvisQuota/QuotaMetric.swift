public import struct Foundation.UUID

/// What a quota limits. The engine decides `requests` (shared token bucket), the token budgets
/// and the storage gauges in memory; `concurrent_workflows` is enforced by leases in PostgreSQL
/// (`LeaseStore`).
public enum QuotaMetric: String, Sendable, CaseIterable, Codable {
    case requests
    case tokensDaily = "tokens_daily"
    case tokensMonthly = "tokens_monthly"
    case concurrentWorkflows = "concurrent_workflows"
    case storageDocuments = "storage_documents"
    case storageVectors = "storage_vectors"
    case storageBytes = "storage_bytes"

    /// The reason code a denial by this metric carries.
    public var denialReason: String { "quota_" + rawValue }

    public var isTokens: Bool { self == .tokensDaily || self == .tokensMonthly }

    /// Drawn from global allowances (requests and token budgets).
    public var isAllowance: Bool { self == .requests || isTokens }

    /// An absolute amount reported by the owning service.
    public var isGauge: Bool { self == .storageDocuments || self == .storageVectors || self == .storageBytes }
}

/// Who a policy limits: the whole tenant, one principal, or one API key.
public enum QuotaSubject: Hashable, Sendable {
    case tenant
    case principal(UUID)
    case apiKey(UUID)

    public enum Kind: String, Sendable, CaseIterable, Codable {
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
