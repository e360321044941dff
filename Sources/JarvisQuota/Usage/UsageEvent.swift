public import struct Foundation.UUID
public import struct Foundation.Date

/// One metered use of a model, as the reporting service sends it.
public struct UsageEvent: Sendable, Equatable {
    public var tenantID: UUID
    public var principalID: UUID?
    public var model: String
    public var modelVersion: String?
    /// The prompt (by name) and its version, when the use followed one of the tenant's prompts.
    public var prompt: String?
    public var promptVersion: String?
    public var inputTokens: Int64
    public var outputTokens: Int64
    public var latencyMs: Int?
    public var status: String
    public var occurredAt: Date
    /// Required: a repeated key is acknowledged and never counted twice (per tenant).
    public var idempotencyKey: String
    /// Settles the reservation a check made, when given.
    public var reservationID: UUID?
    /// The API key (its record's id) the use was made with: its cost center, else the principal's,
    /// is the event's.
    public var apiKeyID: UUID?

    public init(
        tenantID: UUID, principalID: UUID?, model: String, modelVersion: String?, promptVersion: String?,
        inputTokens: Int64, outputTokens: Int64, latencyMs: Int?, status: String, occurredAt: Date,
        idempotencyKey: String, reservationID: UUID?, prompt: String? = nil, apiKeyID: UUID? = nil
    ) {
        self.apiKeyID = apiKeyID
        self.prompt = prompt
        self.tenantID = tenantID
        self.principalID = principalID
        self.model = model
        self.modelVersion = modelVersion
        self.promptVersion = promptVersion
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.latencyMs = latencyMs
        self.status = status
        self.occurredAt = occurredAt
        self.idempotencyKey = idempotencyKey
        self.reservationID = reservationID
    }

    public var tokens: Int64 { inputTokens + outputTokens }
}

/// What became of one submitted event.
public enum UsageOutcome: String, Sendable {
    /// Stored now, and counted.
    case accepted
    /// Its idempotency key was stored before (by an earlier request or earlier in this one).
    case duplicate
}
