public import struct Foundation.UUID

/// A hard-stop budget as the quota engine enforces it: at most `amountMicros` of spend per UTC
/// month, for the whole tenant or one cost center. The billing module owns budgets; the engine
/// only asks for the hard-stop ones of a tenant when it loads the tenant.
public struct SpendLimit: Sendable, Equatable {
    public let budgetID: UUID
    /// nil: every use of the tenant counts.
    public let costCenter: String?
    public let amountMicros: Int64
    /// What a reserving check without a cost estimate holds (0: it only asks whether any is left).
    public let checkReservationMicros: Int64

    public init(budgetID: UUID, costCenter: String?, amountMicros: Int64, checkReservationMicros: Int64) {
        self.budgetID = budgetID
        self.costCenter = costCenter
        self.amountMicros = amountMicros
        self.checkReservationMicros = checkReservationMicros
    }

    func applies(to costCenter: String?) -> Bool { self.costCenter == nil || self.costCenter == costCenter }
}

/// A tenant's hard-stop budgets, and — when one of them is a cost center's — whose use is that
/// cost center's: an API key's cost center, else its principal's (as usage ingestion attributes it).
public struct TenantSpendLimits: Sendable {
    public var limits: [SpendLimit]
    public var principalCostCenters: [UUID: String]
    public var keyCostCenters: [UUID: String]

    public init(limits: [SpendLimit] = [], principalCostCenters: [UUID: String] = [:], keyCostCenters: [UUID: String] = [:]) {
        self.limits = limits
        self.principalCostCenters = principalCostCenters
        self.keyCostCenters = keyCostCenters
    }

    func costCenter(of caller: QuotaCaller) -> String? {
        caller.apiKeyID.flatMap { keyCostCenters[$0] } ?? principalCostCenters[caller.principalID]
    }
}

/// Where the engine reads a tenant's hard-stop budgets (the billing module).
public protocol SpendLimitSource: Sendable {
    func spendLimits(tenantID: UUID) async throws -> TenantSpendLimits
}
