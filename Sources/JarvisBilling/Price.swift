public import Foundation

/// A price of the price book: per million input and output tokens, in integer micro-units of
/// `currency`, for a model (one version of it, or every version without its own price), in force
/// from `effectiveFrom` until a later price of the same kind. The platform's prices apply to every
/// tenant (or to one plan's); a tenant's own price overrides them for that tenant.
public struct Price: Sendable, Equatable {
    public let id: UUID
    public let tenantID: UUID
    public let model: String
    /// Empty: every version of the model without a price of its own.
    public let modelVersion: String
    /// Empty: every plan (platform prices only name one).
    public let plan: String
    public let currency: String
    public let inputMicrosPerMillion: Int64
    public let outputMicrosPerMillion: Int64
    public let effectiveFrom: Date
    public let createdAt: Date

    /// The cost of one event at this price, as the database computes it when it stores the event:
    /// exact, rounded half up to the micro-unit once.
    public func cost(inputTokens: Int64, outputTokens: Int64) -> Int64? {
        let (inputPart, o1) = inputTokens.multipliedReportingOverflow(by: inputMicrosPerMillion)
        let (outputPart, o2) = outputTokens.multipliedReportingOverflow(by: outputMicrosPerMillion)
        let (sum, o3) = inputPart.addingReportingOverflow(outputPart)
        guard !o1, !o2, !o3, sum <= Int64.max - 500_000 else { return nil }
        return (sum + 500_000) / 1_000_000
    }
}
