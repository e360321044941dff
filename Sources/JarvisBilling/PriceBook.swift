public import Foundation
public import JarvisAccess
public import JarvisStore
internal import JarvisAudit
internal import JarvisQuota

/// The price book: prices are added (audited), never changed; the database rates each usage event
/// from it when the event is stored (`jarvis_price_candidates`, migrations 0016, 0027). Platform prices are the
/// platform tenant's rows; a tenant's override is that tenant's row, added by the platform.
public struct PriceBook: Sendable {
    let app: Database
    let platform: Database

    public init(app: Database, platform: Database) {
        self.app = app
        self.platform = platform
    }

    public struct Draft: Sendable {
        public var model: String
        public var modelVersion: String
        public var plan: String
        public var currency: String
        public var inputMicrosPerMillion: Int64
        public var outputMicrosPerMillion: Int64
        public var effectiveFrom: Date

        public init(
            model: String, modelVersion: String, plan: String, currency: String, inputMicrosPerMillion: Int64, outputMicrosPerMillion: Int64,
            effectiveFrom: Date
        ) {
            self.model = model
            self.modelVersion = modelVersion
            self.plan = plan
            self.currency = currency
            self.inputMicrosPerMillion = inputMicrosPerMillion
            self.outputMicrosPerMillion = outputMicrosPerMillion
            self.effectiveFrom = effectiveFrom
        }
    }

    static let columns = """
        id, tenant_id, model, model_version, plan, currency, input_micros_per_million, output_micros_per_million, effective_from, created_at
        """
    public static let maxMicrosPerMillion: Int64 = 1_000_000_000_000
    /// The currency reports name while the price book is still empty (every cost is then zero).
    static let defaultCurrency = "USD"

    /// The price book's one currency.
    static func currency(_ platform: Database) async throws -> String {
        try await platform.query("SELECT currency FROM prices LIMIT 1", [], idempotent: true).first?.string("currency") ?? defaultCurrency
    }

    /// Adds a price to the scope's tenant (the platform tenant: a platform-wide price). The whole
    /// book is in one currency, so totals never mix currencies.
    /// - Throws: `conflict` for another currency, or a price of the same kind from the same instant.
    public func add(_ draft: Draft, in scope: TenantScope) async throws -> Price {
        try Self.validate(draft, platformWide: scope.tenantID == PlatformTenant.id)
        let currencies = try await platform.query("SELECT DISTINCT currency FROM prices LIMIT 2", [], idempotent: true).all.map { try $0.string("currency") }
        if let book = currencies.first, book != draft.currency {
            throw BillingError.conflict("currency: the price book is in \(book)")
        }
        return try await app.withTenant(scope.tenantID) { tx in
            let rows = try await tx.query(
                """
                INSERT INTO prices (tenant_id, id, model, model_version, plan, currency, input_micros_per_million, output_micros_per_million,
                                    effective_from, created_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING \(Self.columns)
                """,
                [scope.tenantID, UUIDv7.make(), draft.model, draft.modelVersion, draft.plan, draft.currency, draft.inputMicrosPerMillion,
                 draft.outputMicrosPerMillion, draft.effectiveFrom, scope.caller.principalID],
                onConflict: BillingError.conflict("a price of this model, version and plan already takes effect at that time"))
            let price = try Self.decode(rows.first!)
            try await AuditLog.record(
                tx, tenantID: scope.tenantID, actor: scope.actor, action: "price.create", targetType: "price", targetID: price.id.lowercasedString,
                details: [
                    "model": .string(price.model), "model_version": .string(price.modelVersion), "plan": .string(price.plan),
                    "currency": .string(price.currency), "input_micros_per_million": .int(Int(price.inputMicrosPerMillion)),
                    "output_micros_per_million": .int(Int(price.outputMicrosPerMillion)),
                    "effective_from": .string(Timestamp.format(price.effectiveFrom)),
                ])
            return price
        }
    }

    /// The prices that apply to the scope's tenant: its own, and the platform's (for its plan or
    /// every plan), newest first. The platform tenant sees the platform's.
    public func list(model: String?, in scope: TenantScope) async throws -> [Price] {
        if let model { try Self.text(model, "model", 1...200) }
        return try await platform.query(
            """
            SELECT \(Self.columns) FROM prices
            WHERE (tenant_id = $1 OR (tenant_id = $2 AND plan IN ('', (SELECT plan FROM tenants WHERE id = $1)))
                   OR ($1 = $2))
              AND ($3::text IS NULL OR model = $3)
            ORDER BY model, model_version, plan, effective_from DESC
            LIMIT 1000
            """, [scope.tenantID, PlatformTenant.id, model], idempotent: true
        ).all.map(Self.decode)
    }

    /// Rates the tenant's events that had no price when they arrived, with the price book as it is
    /// now (each at the price in force when it occurred). Audited with the count and amount.
    public func rerate(in scope: TenantScope) async throws -> (events: Int64, costMicros: Int64) {
        try await platform.withTenant(scope.tenantID) { tx in
            let result = try await UsageLedger.rerate(tx, tenantID: scope.tenantID)
            try await AuditLog.record(
                tx, tenantID: scope.tenantID, actor: scope.actor, action: "usage.rerate", targetType: "tenant",
                targetID: scope.tenantID.lowercasedString,
                details: ["events": .int(Int(result.events)), "cost_micros": .int(Int(result.costMicros))])
            return result
        }
    }

    static func text(_ value: String, _ name: String, _ range: ClosedRange<Int>) throws(BillingError) {
        guard range.contains(value.unicodeScalars.count), !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalid("\(name): \(range.lowerBound)-\(range.upperBound) characters, no control characters")
        }
    }

    static func validate(_ draft: Draft, platformWide: Bool) throws(BillingError) {
        try text(draft.model, "model", 1...200)
        try text(draft.modelVersion, "model_version", 0...100)
        guard draft.plan.utf8.count <= 32, draft.plan.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 || $0 == 45 }) else {
            throw .invalid("plan: up to 32 lowercase letters, digits, '_' or '-'")
        }
        guard platformWide || draft.plan.isEmpty else { throw .invalid("plan: only platform prices name a plan") }
        guard draft.currency.utf8.count == 3, draft.currency.utf8.allSatisfy({ $0 >= 65 && $0 <= 90 }) else {
            throw .invalid("currency: an ISO 4217 code such as USD")
        }
        for (value, name) in [(draft.inputMicrosPerMillion, "input_micros_per_million"), (draft.outputMicrosPerMillion, "output_micros_per_million")] {
            guard (0...maxMicrosPerMillion).contains(value) else { throw .invalid("\(name): from 0 to \(maxMicrosPerMillion)") }
        }
    }

    static func decode(_ row: Row) throws -> Price {
        Price(
            id: try row.uuid("id"), tenantID: try row.uuid("tenant_id"), model: try row.string("model"), modelVersion: try row.string("model_version"),
            plan: try row.string("plan"), currency: try row.string("currency"),
            inputMicrosPerMillion: Int64(try row.int("input_micros_per_million")), outputMicrosPerMillion: Int64(try row.int("output_micros_per_million")),
            effectiveFrom: try row.date("effective_from"), createdAt: try row.date("created_at"))
    }
}
