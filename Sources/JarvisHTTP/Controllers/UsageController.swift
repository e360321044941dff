internal import Hummingbird
internal import NIOCore
internal import Foundation
internal import JarvisAccess
internal import JarvisJSON
internal import JarvisQuota
internal import JarvisStore

/// `POST /v1/usage` (report usage, `usage:write`; answered after commit), `POST /v1/storage`
/// (storage gauges, `usage:write`) and `GET /v1/tenants/{tenant}/usage` (summaries, `usage:read`).
struct UsageController {
    let services: AppServices

    func addIngestRoutes(to group: RouterGroup<JarvisRequestContext>) { group.post(use: ingest) }
    func addReportRoutes(to group: RouterGroup<JarvisRequestContext>) { group.get(use: summary) }
    func addStorageRoutes(to group: RouterGroup<JarvisRequestContext>) { group.post(use: reportStorage) }

    /// Usage bodies are read by the hand-written scanner (`UsageRequest`) and the answer written
    /// as bytes: with thousands of events per request, Foundation's JSON cost more than storing them.
    @Sendable func ingest(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try services.ownScope(context, permission: "usage:write")
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let parsed: UsageRequest
        do {
            parsed = try UsageRequest.parse(Array(body.readableBytesView))
        } catch .invalid(let message) {
            throw Problem.invalid(message)
        }
        let results = try await services.usage.submit(parsed.events, caller: scope.caller) { parsed.batch ? "events[\($0)]." : "" }
        var out: [UInt8] = []
        out.reserveCapacity(64 + results.count * 64)
        out += #"{"accepted":"#.utf8
        out += String(results.count { $0.1 == .accepted }).utf8
        out += #","duplicates":"#.utf8
        out += String(results.count { $0.1 == .duplicate }).utf8
        out += #","results":["#.utf8
        for (index, (event, outcome)) in results.enumerated() {
            if index > 0 { out.append(44) }
            out += #"{"idempotency_key":"#.utf8
            JSONWriter.appendString(event.idempotencyKey, to: &out)
            out += outcome == .accepted ? #","status":"accepted"}"#.utf8 : #","status":"duplicate"}"#.utf8
        }
        out += "]}".utf8
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: out)))
    }

    struct StorageReport: RequestBody {
        let tenantId: UUID?
        let metric: String
        let value: WholeNumber?
        let delta: WholeNumber?
        enum CodingKeys: String, CodingKey, CaseIterable { case tenantId = "tenant_id", metric, value, delta }
    }

    struct StorageGaugeBody: ResponseEncodable, Sendable {
        let tenantId: String
        let metric: String
        let value: Int64
        let updatedAt: Date
    }

    /// The owning service reports a storage gauge, as an absolute `value` or a `delta`. Checks
    /// for writes that would pass the tenant's limit are then refused.
    @Sendable func reportStorage(_ request: Request, context: JarvisRequestContext) async throws -> StorageGaugeBody {
        let scope = try services.ownScope(context, permission: "usage:write")
        let body = try await RequestDecoder.decode(StorageReport.self, from: request, context: context)
        try Limits.text(body.metric, "metric", max: 64)
        let gauge = try await services.storage.report(
            tenantID: body.tenantId, metric: body.metric,
            value: try body.value?.checked("value", in: 0...1_000_000_000_000_000),
            delta: try body.delta?.checked("delta", in: -1_000_000_000_000_000...1_000_000_000_000_000),
            caller: scope.caller, actor: scope.actor)
        return StorageGaugeBody(tenantId: gauge.tenantID.lowercasedString, metric: gauge.metric.rawValue, value: gauge.value, updatedAt: gauge.updatedAt)
    }

    struct SummaryBody: ResponseEncodable, Sendable {
        struct Item: Encodable, Sendable {
            /// Null for usage without a principal (`group_by=principal`): encoded, not left out.
            let key: String?
            let events: Int64
            let inputTokens: Int64
            let outputTokens: Int64
            let costMicros: Int64
            let unpricedEvents: Int64

            enum CodingKeys: String, CodingKey { case key, events, inputTokens, outputTokens, costMicros, unpricedEvents }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(key, forKey: .key)
                try container.encode(events, forKey: .events)
                try container.encode(inputTokens, forKey: .inputTokens)
                try container.encode(outputTokens, forKey: .outputTokens)
                try container.encode(costMicros, forKey: .costMicros)
                try container.encode(unpricedEvents, forKey: .unpricedEvents)
            }
        }

        let tenantId: String
        let from: String
        let to: String
        let groupBy: String
        let items: [Item]
    }

    @Sendable func summary(_ request: Request, context: JarvisRequestContext) async throws -> SummaryBody {
        let scope = try await services.scope(context, permission: "usage:read")
        let summary = try await services.usageReports.summary(
            from: request.query("from"), to: request.query("to"), groupBy: request.query("group_by"), in: scope)
        return SummaryBody(
            tenantId: scope.tenantID.lowercasedString, from: summary.from, to: summary.to, groupBy: summary.grouping.rawValue,
            items: summary.lines.map {
                .init(
                    key: $0.key, events: $0.events, inputTokens: $0.inputTokens, outputTokens: $0.outputTokens, costMicros: $0.costMicros,
                    unpricedEvents: $0.unpricedEvents)
            })
    }
}
