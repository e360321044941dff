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
    /// A hard-stop budget's money this month, in micro-units (set as a budget, not a policy).
    case costMonthly = "cost_monthly"

    /// The reason code a denial by this metric carries.
    public var denialReason: String { self == .costMonthly ? "budget_exhausted" : "quota_" + rawValue }

    /// What a quota policy may limit (budgets are made through the billing module).
    public var isPolicyMetric: Bool { self != .costMonthly }

    public var isTokens: Bool { self == .tokensDaily || self == .tokensMonthly }

    /// Drawn from global allowances (requests and token budgets).
    public var isAllowance: Bool { self == .requests || isTokens }

    /// Counted in a window (a day or a month) rather than refilled or reported.
    public var isWindowed: Bool { isTokens || self == .costMonthly }

    /// An absolute amount reported by the owning service.
    public var isGauge: Bool { self == .storageDocuments || self == .storageVectors || self == .storageBytes }

    // Compared and hashed by case: the defaults of a String-backed enum go through the raw string,
    // which costs a string hash in every counter and allowance lookup of the hot path.
    private var ordinal: UInt8 {
        switch self {
        case .requests: 0
        case .tokensDaily: 1
        case .tokensMonthly: 2
        case .concurrentWorkflows: 3
        case .storageDocuments: 4
        case .storageVectors: 5
        case .storageBytes: 6
        case .costMonthly: 7
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.ordinal == rhs.ordinal }

    public func hash(into hasher: inout Hasher) { hasher.combine(ordinal) }
}

/// Who a policy limits: the whole tenant, one principal, or one API key; or, for a hard-stop
/// budget's allowance, the budget.
public enum QuotaSubject: Hashable, Sendable {
    case tenant
    case principal(UUID)
    case apiKey(UUID)
    case budget(UUID)

    public enum Kind: String, Sendable, CaseIterable, Codable {
        case tenant
        case principal
        case apiKey = "api_key"
        case budget

        /// A kind a quota policy may name.
        public var isPolicySubject: Bool { self != .budget }
    }

    public var kind: Kind {
        switch self {
        case .tenant: return .tenant
        case .principal: return .principal
        case .apiKey: return .apiKey
        case .budget: return .budget
        }
    }

    public var id: UUID? {
        switch self {
        case .tenant: return nil
        case .principal(let id), .apiKey(let id), .budget(let id): return id
        }
    }

    public init?(kind: Kind, id: UUID?) {
        switch (kind, id) {
        case (.tenant, nil): self = .tenant
        case (.principal, let id?): self = .principal(id)
        case (.apiKey, let id?): self = .apiKey(id)
        case (.budget, let id?): self = .budget(id)
        default: return nil
        }
    }
}
