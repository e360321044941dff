internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisQuota
internal import JarvisStore

/// `POST /v1/usage` (report usage, `usage:write`; answered after commit) and
/// `GET /v1/tenants/{tenant}/usage` (summaries, `usage:read`).
struct UsageController {
    let services: AppServices
    let writer: UsageWriter

    static let maxEvents = 1_000
    static let eventFields: Set<String> = [
        "tenant_id", "principal_id", "model", "model_version", "prompt_version", "input_tokens", "output_tokens",
        "latency_ms", "status", "timestamp", "idempotency_key", "reservation_id",
    ]
    /// How far back and ahead an event's time may be: late reports are normal, far-off ones are mistakes.
    static let maxAge: TimeInterval = 35 * 86_400
    static let maxSkew: TimeInterval = 300

    func addIngestRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: ingest)
    }

    func addReportRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(use: summary)
    }

    @Sendable func ingest(_ request: Request, context: JarvisRequestContext) async throws -> UsageIngestBody {
        let caller = try context.requireCaller()
        let platformCaller = caller.tenantID == PlatformTenant.id
        guard caller.isSuperAdmin || caller.allows("usage:write") else {
            throw AccessError.forbidden("usage:write")
        }
        let body = try await JSONBody.read(request, context: context, allowed: Self.eventFields.union(["events"]))
        let objects: [[String: JSONValue]]
        if let events = body.fields["events"] {
            guard body.fields.count == 1 else { throw Problem.invalid("give either events or one event, not both") }
            guard case .array(let list) = events, !list.isEmpty, list.count <= Self.maxEvents else {
                throw Problem.invalid("events: a list of 1 to \(Self.maxEvents) events")
            }
            objects = try list.enumerated().map { index, value in
                guard case .object(let fields) = value else { throw Problem.invalid("events[\(index)]: must be an object") }
                if let unknown = fields.keys.sorted().first(where: { !Self.eventFields.contains($0) }) {
                    throw Problem.invalid("events[\(index)]: unknown field '\(unknown.prefix(64))'")
                }
                return fields
            }
        } else {
            objects = [body.fields]
        }
        let now = Date()
        let events = try objects.enumerated().map { index, fields in
            try Self.event(JSONBody(fields: fields), label: objects.count > 1 || body.fields["events"] != nil ? "events[\(index)]." : "",
                           caller: caller, platformCaller: platformCaller, now: now)
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
        let outcomes = try await writer.submit(events)
        return UsageIngestBody(
            accepted: outcomes.count { $0 == .accepted }, duplicates: outcomes.count { $0 == .duplicate },
            results: zip(events, outcomes).map { .init(idempotencyKey: $0.idempotencyKey, status: $1.rawValue) })
    }

    static func event(_ body: JSONBody, label: String, caller: Caller, platformCaller: Bool, now: Date) throws -> UsageEvent {
        func named(_ field: String) -> String { label + field }
        do {
            let tenantID: UUID
            if let given = try body.uuid("tenant_id") {
                guard platformCaller || given == caller.tenantID else {
                    throw Problem.invalid("tenant_id: a tenant's credential reports usage for its own tenant only")
                }
                tenantID = given
            } else {
                guard !platformCaller else { throw Problem.invalid("tenant_id: is required for platform callers") }
                tenantID = caller.tenantID
            }
            let key = try body.requiredString("idempotency_key", maxLength: 200)
            guard !key.isEmpty else { throw Problem.invalid("idempotency_key: must not be empty") }
            let model = try body.requiredString("model", maxLength: 200)
            guard !model.isEmpty else { throw Problem.invalid("model: must not be empty") }
            let status = try body.requiredString("status", maxLength: 32)
            guard status.utf8.first.map({ $0 >= 97 && $0 <= 122 }) == true,
                status.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 })
            else { throw Problem.invalid("status: lowercase letters, digits and _ (such as success or error)") }
            let occurredAt = try body.timestamp("timestamp") ?? now
            guard occurredAt >= now.addingTimeInterval(-maxAge), occurredAt <= now.addingTimeInterval(maxSkew) else {
                throw Problem.invalid("timestamp: must be within the last 35 days and not in the future")
            }
            return UsageEvent(
                tenantID: tenantID, principalID: try body.uuid("principal_id"), model: model,
                modelVersion: try body.string("model_version", maxLength: 100), promptVersion: try body.string("prompt_version", maxLength: 100),
                inputTokens: try body.integer("input_tokens", in: 0...1_000_000_000_000, required: true)!,
                outputTokens: try body.integer("output_tokens", in: 0...1_000_000_000_000, required: true)!,
                latencyMs: try body.integer("latency_ms", in: 0...86_400_000).map(Int.init), status: status,
                occurredAt: occurredAt, idempotencyKey: key, reservationID: try body.uuid("reservation_id"))
        } catch let problem as Problem where !label.isEmpty {
            var labelled = problem
            labelled.detail = label + problem.detail
            throw labelled
        }
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

struct UsageIngestBody: ResponseEncodable, Sendable {
    struct Result: Encodable, Sendable {
        let idempotencyKey: String
        let status: String
    }

    let accepted: Int
    let duplicates: Int
    let results: [Result]
}

struct UsageSummaryBody: ResponseEncodable, Sendable {
    struct Item: Encodable, Sendable {
        let key: String
        let events: Int64
        let inputTokens: Int64
        let outputTokens: Int64
    }

    let tenantId: String
    let from: String
    let to: String
    let groupBy: String
    let items: [Item]
}
