internal import Foundation

/// Default policies a tenant's plan carries, applied where the tenant has no policy of its own
/// for that metric. Configured per deployment (`JARVIS_PLAN_QUOTAS`), e.g.
/// `free:requests=20/40,tokens_daily=100000;team:requests=200,tokens_monthly=50000000`
/// (`requests=<per second>/<burst>`). Plans not named carry none.
public struct PlanQuotas: Sendable, Equatable {
    public struct Limit: Sendable, Equatable {
        public let metric: QuotaMetric
        public let limit: Int64
        public let burst: Int64?
    }

    public let plans: [String: [Limit]]

    public static let none = PlanQuotas(plans: [:])

    public init(plans: [String: [Limit]]) { self.plans = plans }

    /// - Throws: `QuotaError.invalid` naming the part it could not read.
    public init(parsing text: String) throws(QuotaError) {
        var plans: [String: [Limit]] = [:]
        for entry in text.split(separator: ";") where !entry.trimmingCharacters(in: .whitespaces).isEmpty {
            let parts = entry.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { throw .invalid("plan quotas: '\(entry)' is not <plan>:<limits>") }
            let plan = parts[0].trimmingCharacters(in: .whitespaces)
            var limits: [Limit] = []
            for item in parts[1].split(separator: ",") {
                let pair = item.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, let metric = QuotaMetric(rawValue: pair[0].trimmingCharacters(in: .whitespaces)), metric != .concurrentWorkflows, metric.isPolicyMetric else {
                    throw .invalid("plan quotas: '\(item)' is not <metric>=<limit>")
                }
                let numbers = pair[1].split(separator: "/").map { Int64($0.trimmingCharacters(in: .whitespaces)) }
                guard let limit = numbers.first ?? nil, limit >= 0, numbers.count <= 2,
                    numbers.count == 1 || (metric == .requests && (numbers[1] ?? 0) >= 1)
                else { throw .invalid("plan quotas: bad limit in '\(item)'") }
                limits.append(Limit(metric: metric, limit: limit, burst: numbers.count == 2 ? numbers[1] : nil))
            }
            plans[plan] = limits
        }
        self.plans = plans
    }
}
