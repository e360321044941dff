public import Foundation

/// A monthly budget in money: for the whole tenant (`costCenter` nil) or one cost center. With
/// `hardStop`, the quota engine refuses checks once the month's spend and holds reach it.
public struct Budget: Sendable {
    public let id: UUID
    public let tenantID: UUID
    public let costCenter: String?
    public let amountMicros: Int64
    public let thresholds: [Int]
    public let hardStop: Bool
    public let checkReservationMicros: Int64
    public let createdAt: Date
    public let updatedAt: Date
    /// This month (UTC) so far.
    public let status: Status

    public struct Status: Sendable {
        /// `YYYY-MM`.
        public let period: String
        public let currency: String
        /// Rated usage in the budget's scope this month (unpriced use counts once it is priced).
        public let spentMicros: Int64
        public let alerts: [Alert]
    }

    /// A threshold the month's spend reached, raised once.
    public struct Alert: Sendable {
        public let threshold: Int
        public let spentMicros: Int64
        public let amountMicros: Int64
        public let raisedAt: Date
    }
}
