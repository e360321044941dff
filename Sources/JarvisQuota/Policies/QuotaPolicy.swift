public import struct Foundation.UUID
public import struct Foundation.Date

/// A limit on one metric for one subject of a tenant.
public struct QuotaPolicy: Sendable, Equatable {
    public let id: UUID
    public let tenantID: UUID
    public let subject: QuotaSubject
    public let metric: QuotaMetric
    /// Requests per second, or tokens per window.
    public let limit: Int64
    /// Requests only: the bucket's size (defaults to `limit`, at least 1).
    public let burst: Int64?
    /// A warning is raised at this share of the limit.
    public let warnAtPercent: Int
    public let createdAt: Date
    public let updatedAt: Date
    /// False for a plan's default, which has no row.
    public let stored: Bool

    public init(
        id: UUID, tenantID: UUID, subject: QuotaSubject, metric: QuotaMetric, limit: Int64, burst: Int64?,
        warnAtPercent: Int, createdAt: Date, updatedAt: Date, stored: Bool = true
    ) {
        self.id = id
        self.tenantID = tenantID
        self.subject = subject
        self.metric = metric
        self.limit = limit
        self.burst = burst
        self.warnAtPercent = warnAtPercent
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.stored = stored
    }

    /// The bucket size of a `requests` policy.
    public var capacity: Int64 { max(burst ?? limit, 1) }
}
