public import Foundation
internal import JarvisStore

/// A tenant's monthly statement: one line per model version, cost center and price in force,
/// adjustment lines for usage that arrived after an earlier period closed, subtotals per cost
/// center, and the total. Open until closed; closed, it never changes.
public struct Statement: Sendable {
    public enum Status: String, Sendable {
        case open, closed
    }

    public let tenantID: UUID
    /// `YYYY-MM`.
    public let period: String
    public let status: Status
    public let currency: String
    public let closedAt: Date?
    public let lines: [Line]

    public struct Line: Sendable, Equatable {
        public enum Kind: String, Sendable {
            /// The period's own usage.
            case usage
            /// Usage of an earlier, closed period (`usagePeriod`) that arrived or was re-rated after it closed.
            case adjustment
        }

        public let kind: Kind
        /// `YYYY-MM`: the period the usage occurred in.
        public let usagePeriod: String
        public let model: String
        public let modelVersion: String?
        public let costCenter: String?
        /// The price that rated these events; nil for events no price applied to.
        public let priceID: UUID?
        public let inputMicrosPerMillion: Int64?
        public let outputMicrosPerMillion: Int64?
        public let requests: Int64
        public let inputTokens: Int64
        public let outputTokens: Int64
        public let amountMicros: Int64
        public let unpricedRequests: Int64
    }

    public var totalMicros: Int64 { lines.reduce(0) { $0 + $1.amountMicros } }
    public var requests: Int64 { lines.reduce(0) { $0 + $1.requests } }
    public var unpricedRequests: Int64 { lines.reduce(0) { $0 + $1.unpricedRequests } }

    /// Amount and requests per cost center (nil: usage attributed to none), in name order.
    public var costCenters: [(costCenter: String?, requests: Int64, amountMicros: Int64)] {
        var sums: [String: (Int64, Int64)] = [:]
        for line in lines {
            let key = line.costCenter ?? ""
            let sum = sums[key] ?? (0, 0)
            sums[key] = (sum.0 + line.requests, sum.1 + line.amountMicros)
        }
        return sums.keys.sorted().map { key in (key.isEmpty ? nil : key, sums[key]!.0, sums[key]!.1) }
    }
}

/// A month as statements name it (`YYYY-MM`), with its neighbours and bounds.
struct Period: Comparable, Hashable, Sendable {
    let year: Int
    let month: Int

    init(year: Int, month: Int) {
        self.year = year
        self.month = month
    }

    init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 7, bytes[4] == 45, let year = Int(text.prefix(4)), let month = Int(text.suffix(2)),
            bytes.enumerated().allSatisfy({ $0.offset == 4 || ($0.element >= 48 && $0.element <= 57) }),
            (2000...9999).contains(year), (1...12).contains(month)
        else { return nil }
        self.init(year: year, month: month)
    }

    /// The month `date` falls in (UTC).
    init(containing date: Date) {
        let text = Timestamp.format(date)
        self.init(year: Int(text.prefix(4))!, month: Int(text.dropFirst(5).prefix(2))!)
    }

    var previous: Period { month == 1 ? Period(year: year - 1, month: 12) : Period(year: year, month: month - 1) }
    var next: Period { month == 12 ? Period(year: year + 1, month: 1) : Period(year: year, month: month + 1) }
    var text: String { String(format: "%04d-%02d", year, month) }
    /// The first day, as the `date` columns hold it.
    var firstDay: String { text + "-01" }
    /// The first instant, as an RFC 3339 UTC time.
    var start: String { firstDay + "T00:00:00Z" }

    static func < (a: Period, b: Period) -> Bool { (a.year, a.month) < (b.year, b.month) }
}
