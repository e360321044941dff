internal import Hummingbird
internal import NIOCore
internal import Foundation
internal import JarvisAccess
internal import JarvisQuota
internal import JarvisStore
internal import JarvisTenancy

/// `POST /v1/usage` (report usage, `usage:write`; answered after commit) and
/// `GET /v1/tenants/{tenant}/usage` (summaries, `usage:read`).
struct UsageController {
    let services: AppServices
    let writer: UsageWriter
    let quotas: QuotaEngine

    /// How far back and ahead an event's time may be: late reports are normal, far-off ones are mistakes.
    static let maxAge: TimeInterval = 35 * 86_400
    static let maxSkew: TimeInterval = 300

    func addIngestRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: ingest)
    }

    func addReportRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(use: summary)
    }

    func addStorageRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: reportStorage)
    }

    /// `POST /v1/storage`: the owning service reports a storage gauge, as an absolute `value` or a
    /// `delta` (usage:write). Checks for writes that would pass the tenant's limit are then refused.
    @Sendable func reportStorage(_ request: Request, context: JarvisRequestContext) async throws -> StorageGaugeBody {
        let caller = try context.requireCaller()
        guard caller.isSuperAdmin || caller.allows("usage:write") else { throw AccessError.forbidden("usage:write") }
        let body = try await JSONBody.read(request, context: context, allowed: ["tenant_id", "metric", "value", "delta"])
        let platformCaller = caller.tenantID == PlatformTenant.id
        let tenantID: UUID
        if let given = try body.uuid("tenant_id") {
            guard platformCaller || given == caller.tenantID else { throw Problem.invalid("tenant_id: a tenant's credential reports for its own tenant only") }
            tenantID = given
        } else {
            guard !platformCaller else { throw Problem.invalid("tenant_id: is required for platform callers") }
            tenantID = caller.tenantID
        }
        guard let metric = QuotaMetric(rawValue: try body.requiredString("metric", maxLength: 64)), metric.isGauge else {
            throw Problem.invalid("metric: must be storage_documents, storage_vectors or storage_bytes")
        }
        let value = try body.integer("value", in: 0...1_000_000_000_000_000)
        let delta = try body.integer("delta", in: -1_000_000_000_000_000...1_000_000_000_000_000)
        guard (value == nil) != (delta == nil) else { throw Problem.invalid("give either value or delta") }
        if platformCaller, try await services.tenants.get(tenantID.lowercasedString) == nil {
            throw Problem.invalid("tenant_id: no tenant \(tenantID.lowercasedString)")
        }
        let gauge = try await services.app.withTenant(tenantID) { tx in
            try await StorageGauges.report(tx, tenantID: tenantID, metric: metric, value: value, delta: delta, actor: context.auditActor)
        }
        quotas.setGauge(tenantID: tenantID, metric: metric, value: gauge.value)
        return StorageGaugeBody(
            tenantId: tenantID.lowercasedString, metric: metric.rawValue, value: gauge.value, updatedAt: gauge.updatedAt)
    }

    @Sendable func ingest(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let platformCaller = caller.tenantID == PlatformTenant.id
        guard caller.isSuperAdmin || caller.allows("usage:write") else {
            throw AccessError.forbidden("usage:write")
        }
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let parsed: UsageRequest
        do {
            parsed = try UsageRequest.parse(Array(body.readableBytesView))
        } catch .invalid(let message) {
            throw Problem.invalid(message)
        }
        let now = Date()
        let events = try parsed.events.enumerated().map { index, fields in
            try Self.event(fields, label: parsed.batch ? "events[\(index)]." : "", caller: caller, platformCaller: platformCaller, now: now)
        }
        if platformCaller {
            // Events name their tenant: every one must exist (and not be deleted).
            let named = Set(events.map(\.tenantID))
            let live = try await services.platform.query(
                "SELECT id FROM tenants WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL",
                [TextArray(named.map(\.lowercasedString))], idempotent: true)
            let found = Set(try live.all.map { try $0.uuid("id") })
            if let missing = named.subtracting(found).first { throw Problem.invalid("tenant_id: no tenant \(missing.lowercasedString)") }
        }
        // Events may name any principal of their tenant; the caller itself needs no lookup.
        let named = Set(events.compactMap { event in
            event.principalID.flatMap { $0 == caller.principalID && event.tenantID == caller.tenantID ? nil : PrincipalDirectory.Member(tenantID: event.tenantID, principalID: $0) }
        })
        if !named.isEmpty, let unknown = try await services.principals.firstUnknown(named) {
            throw Problem.invalid("principal_id: no principal \(unknown.principalID.lowercasedString) in tenant \(unknown.tenantID.lowercasedString)")
        }
        let outcomes = try await writer.submit(events)
        // Written by hand: a thousand results through JSONEncoder cost more than storing them.
        var out: [UInt8] = []
        out.reserveCapacity(64 + events.count * 64)
        out += #"{"accepted":"#.utf8
        out += String(outcomes.count { $0 == .accepted }).utf8
        out += #","duplicates":"#.utf8
        out += String(outcomes.count { $0 == .duplicate }).utf8
        out += #","results":["#.utf8
        for (index, (event, outcome)) in zip(events, outcomes).enumerated() {
            if index > 0 { out.append(44) }
            out += #"{"idempotency_key":"#.utf8
            JSONOutput.appendString(event.idempotencyKey, to: &out)
            out += outcome == .accepted ? #","status":"accepted"}"#.utf8 : #","status":"duplicate"}"#.utf8
        }
        out += "]}".utf8
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: out)))
    }

    static func event(_ fields: UsageRequest.Fields, label: String, caller: Caller, platformCaller: Bool, now: Date) throws -> UsageEvent {
        func fail(_ detail: String) -> Problem { Problem.invalid(label + detail) }
        func string(_ name: String, required: Bool = false, maxLength: Int) throws -> String? {
            guard let value = fields.strings[name] else {
                if required { throw fail("\(name): is required") }
                return nil
            }
            guard value.unicodeScalars.count <= maxLength else { throw fail("\(name): must be at most \(maxLength) characters") }
            // Checked here, before the event joins a group commit: PostgreSQL refuses NUL, and one
            // request's bad text must never fail the others it would share a transaction with.
            guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw fail("\(name): must not contain control characters")
            }
            return value
        }
        func uuid(_ name: String) throws -> UUID? {
            guard let text = fields.strings[name] else { return nil }
            guard let id = UUID(uuidString: text) else { throw fail("\(name): must be a UUID") }
            return id
        }
        let tenantID: UUID
        if let given = try uuid("tenant_id") {
            guard platformCaller || given == caller.tenantID else {
                throw fail("tenant_id: a tenant's credential reports usage for its own tenant only")
            }
            tenantID = given
        } else {
            guard !platformCaller else { throw fail("tenant_id: is required for platform callers") }
            tenantID = caller.tenantID
        }
        guard let key = try string("idempotency_key", required: true, maxLength: 200), !key.isEmpty else {
            throw fail("idempotency_key: must not be empty")
        }
        guard let model = try string("model", required: true, maxLength: 200), !model.isEmpty else { throw fail("model: must not be empty") }
        let status = try string("status", required: true, maxLength: 32)!
        guard status.utf8.first.map({ $0 >= 97 && $0 <= 122 }) == true,
            status.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 })
        else { throw fail("status: lowercase letters, digits and _ (such as success or error)") }
        var occurredAt = now
        if let text = fields.strings["timestamp"] {
            guard let date = Timestamp.parse(text) else { throw fail("timestamp: must be an RFC 3339 time such as 2030-01-31T12:00:00Z") }
            occurredAt = date
        }
        guard occurredAt >= now.addingTimeInterval(-maxAge), occurredAt <= now.addingTimeInterval(maxSkew) else {
            throw fail("timestamp: must be within the last 35 days and not in the future")
        }
        guard let input = fields.integers["input_tokens"] else { throw fail("input_tokens: is required") }
        guard let output = fields.integers["output_tokens"] else { throw fail("output_tokens: is required") }
        if let latency = fields.integers["latency_ms"], latency > 86_400_000 { throw fail("latency_ms: at most 86400000") }
        return UsageEvent(
            tenantID: tenantID, principalID: try uuid("principal_id"), model: model,
            modelVersion: try string("model_version", maxLength: 100), promptVersion: try string("prompt_version", maxLength: 100),
            inputTokens: input, outputTokens: output, latencyMs: fields.integers["latency_ms"].map { Int($0) }, status: status,
            occurredAt: occurredAt, idempotencyKey: key, reservationID: try uuid("reservation_id"))
    }

    @Sendable func summary(_ request: Request, context: JarvisRequestContext) async throws -> UsageSummaryBody {
        let scope = try await services.scope(context, permission: "usage:read")
        let query = request.uri.queryParameters
        let today = Self.day(Date())
        let monthStart = String(today.prefix(8)) + "01"
        let from = try query["from"].map { try Self.checkedDay(String($0), "from") } ?? monthStart
        let to = try query["to"].map { try Self.checkedDay(String($0), "to") } ?? today
        guard from <= to else { throw Problem.invalid("from: must not be after to") }
        let grouping: UsageReport.Grouping
        if let text = query["group_by"] {
            guard let value = UsageReport.Grouping(rawValue: String(text)) else { throw Problem.invalid("group_by: must be day, model or principal") }
            grouping = value
        } else {
            grouping = .day
        }
        let lines = try await services.app.withTenant(scope.tenantID) { tx in
            try await UsageReport.summary(tx, tenantID: scope.tenantID, from: from, to: to, by: grouping)
        }
        return UsageSummaryBody(
            tenantId: scope.tenantID.lowercasedString, from: from, to: to, groupBy: grouping.rawValue,
            items: lines.map { .init(key: $0.key, events: $0.events, inputTokens: $0.inputTokens, outputTokens: $0.outputTokens) })
    }

    static func day(_ date: Date) -> String { String(Timestamp.format(date).prefix(10)) }

    /// A `YYYY-MM-DD` that is a real date.
    static func checkedDay(_ text: String, _ name: String) throws -> String {
        guard text.utf8.count == 10, let date = Timestamp.parse(text + "T00:00:00Z"), day(date) == text else {
            throw Problem.invalid("\(name): must be a date such as 2026-11-01")
        }
        return text
    }
}

struct StorageGaugeBody: ResponseEncodable, Sendable {
    let tenantId: String
    let metric: String
    let value: Int64
    let updatedAt: Date
}

struct UsageSummaryBody: ResponseEncodable, Sendable {
    struct Item: Encodable, Sendable {
        /// Null for usage without a principal (`group_by=principal`): encoded, not left out.
        let key: String?
        let events: Int64

        enum CodingKeys: String, CodingKey { case key, events, inputTokens, outputTokens }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(key, forKey: .key)
            try container.encode(events, forKey: .events)
            try container.encode(inputTokens, forKey: .inputTokens)
            try container.encode(outputTokens, forKey: .outputTokens)
        }
        let inputTokens: Int64
        let outputTokens: Int64
    }

    let tenantId: String
    let from: String
    let to: String
    let groupBy: String
    let items: [Item]
}
