internal import Hummingbird
internal import JarvisAccess
internal import Foundation
internal import JarvisAudit
internal import JarvisStore
internal import JarvisCrypto
internal import NIOCore

/// `GET /v1/tenants/{tenant}/audit-events`: newest first, filtered by action, actor and time.
struct AuditController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(use: list)
        group.get("export", use: export)
    }

    func addVerifyRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get("verify", use: verify)
        group.get("report", use: report)
    }

    struct Report: ResponseEncodable, Sendable {
        struct Section: Encodable, Sendable {
            let name: String
            let count: Int
            let events: [Body]
        }

        let tenantId: String
        let from: Date
        let to: Date
        let chain: Verification
        let sections: [Section]
    }

    /// `GET …/audit/report?from=&to=&format=json|csv`: the compliance report of a period (default:
    /// the last 30 days).
    @Sendable func report(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try await services.scope(context, permission: "audit:read")
        let format = request.query("format") ?? "json"
        guard format == "json" || format == "csv" else { throw Problem.invalid("format: json or csv") }
        let to = try request.query("to").map { try Timestamps.parse($0, "to") } ?? Date()
        let from = try request.query("from").map { try Timestamps.parse($0, "from") } ?? to.addingTimeInterval(-30 * 86_400)
        guard from < to else { throw Problem.invalid("from: must be before to") }
        let report = try await services.complianceReports.report(tenantID: scope.tenantID, from: from, to: to)
        if format == "csv" {
            return Response(
                status: .ok,
                headers: [.contentType: "text/csv; charset=utf-8; header=present", .cacheControl: "no-store",
                          .contentDisposition: "attachment; filename=\"compliance-\(scope.tenantID.lowercasedString).csv\""],
                body: .init(byteBuffer: ByteBuffer(string: Self.csv(report))))
        }
        let body = Report(
            tenantId: report.tenantID.lowercasedString, from: report.from, to: report.to, chain: Verification(report.chain),
            sections: report.sections.map { Report.Section(name: $0.name, count: $0.count, events: $0.events.map(Body.init)) })
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: try JSONCoding.encoder.encode(body))))
    }

    /// One row per listed event, RFC 4180: the section first, the details as JSON.
    static func csv(_ report: ComplianceReport) -> String {
        func field(_ value: String?) -> String {
            guard let value else { return "" }
            guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        var out = "section,occurred_at,action,outcome,actor_kind,actor_id,target_type,target_id,request_id,client_ip,details\r\n"
        for section in report.sections {
            for event in section.events {
                let details = (try? JSONCoding.encoder.encode(event.details)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
                out += [section.name, Timestamp.format(event.occurredAt), event.action, event.outcome.rawValue, event.actorKind.rawValue,
                        event.actorID?.lowercasedString, event.targetType, event.targetID, event.requestID, event.clientIP, details]
                    .map(field).joined(separator: ",") + "\r\n"
            }
        }
        return out
    }

    func addPublicRoutes(to router: RecordingRouter) {
        router.get(".well-known/jarvis-audit-keys.json", use: publicKeys)
    }

    struct PublicKeys: Encodable {
        struct Key: Encodable {
            let kid: String
            let alg = "Ed25519"
            /// The raw 32-byte key, base64url without padding (as a JWK's `x`).
            let x: String
            let status: String
            let createdAt: Date
            let retiredAt: Date?
        }

        let keys: [Key]
    }

    /// The public keys that verify audit checkpoints, retired ones included (old checkpoints stay verifiable).
    @Sendable func publicKeys(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let keys = try await services.auditKeys.published().map {
            PublicKeys.Key(kid: $0.kid, x: Base64URL.encode($0.publicKey), status: $0.status, createdAt: $0.createdAt, retiredAt: $0.retiredAt)
        }
        var response = try OAuthController.json(.ok, PublicKeys(keys: keys))
        response.headers[.cacheControl] = "public, max-age=60"
        return response
    }

    struct Verification: ResponseEncodable, Sendable {
        struct Break: Encodable, Sendable {
            let seq: Int64
            let eventId: String?
            let kind: String
        }

        let tenantId: String
        let intact: Bool
        let firstSeq: Int64
        let checked: Int64
        let headSeq: Int64
        let headHash: String
        let archived: Int64
        let unsealed: Int64
        let checkpoints: Int64
        let lastCheckpointSeq: Int64
        let firstBreak: Break?

        init(_ r: AuditVerifier.Report) {
            tenantId = r.tenantID.lowercasedString
            intact = r.intact
            firstSeq = r.firstSeq
            checked = r.checked
            headSeq = r.headSeq
            headHash = r.headHash
            archived = r.archived
            unsealed = r.unsealed
            checkpoints = r.checkpoints
            lastCheckpointSeq = r.lastCheckpointSeq
            firstBreak = r.firstBreak.map { Break(seq: $0.seq, eventId: $0.eventID?.lowercasedString, kind: $0.kind.rawValue) }
        }
    }

    /// `GET …/audit/verify`: the tenant's chain recomputed, with the first broken link if any.
    @Sendable func verify(_ request: Request, context: JarvisRequestContext) async throws -> Verification {
        let scope = try await services.scope(context, permission: "audit:read")
        let from = try request.query("from").map { try Timestamps.parse($0, "from") }
        let to = try request.query("to").map { try Timestamps.parse($0, "to") }
        if let from, let to, from >= to { throw Problem.invalid("from: must be before to") }
        return Verification(try await services.auditVerifier.verify(tenantID: scope.tenantID, from: from, to: to))
    }

    struct Body: ResponseEncodable, Sendable {
        let id: String
        let tenantId: String
        let occurredAt: Date
        let actorId: String?
        let actorKind: String
        let action: String
        let targetType: String
        let targetId: String?
        let requestId: String?
        let clientIp: String?
        let outcome: String
        let details: [String: AuditValue]

        init(_ e: AuditEvent) {
            id = e.id.lowercasedString
            tenantId = e.tenantID.lowercasedString
            occurredAt = e.occurredAt
            actorId = e.actorID?.lowercasedString
            actorKind = e.actorKind.rawValue
            action = e.action
            targetType = e.targetType
            targetId = e.targetID
            requestId = e.requestID
            clientIp = e.clientIP
            outcome = e.outcome.rawValue
            details = e.details
        }
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<Body> {
        let scope = try await services.scope(context, permission: "audit:read")
        let page = try PageRequest(request)
        var filter = AuditLog.Filter(before: page.after, limit: page.limit)
        if let action = request.query("action") {
            guard (1...100).contains(action.unicodeScalars.count) else { throw Problem.invalid("action: must be 1-100 characters") }
            filter.action = action
        }
        filter.actorID = try request.uuidQuery("actor_id")
        filter.category = try request.query("category").map { text in
            guard let category = AuditLog.Filter.Category(rawValue: text) else { throw Problem.invalid("category: security, access or operation") }
            return category
        }
        filter.outcome = try request.query("outcome").map { text in
            guard let outcome = AuditEvent.Outcome(rawValue: text) else { throw Problem.invalid("outcome: success, failure or denied") }
            return outcome
        }
        for (name, value) in [("target_type", request.query("target_type")), ("target_id", request.query("target_id")), ("q", request.query("q"))] {
            guard let value else { continue }
            guard (1...200).contains(value.unicodeScalars.count), !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else { throw Problem.invalid("\(name): 1-200 characters, no control characters") }
        }
        filter.targetType = request.query("target_type")
        filter.targetID = request.query("target_id")
        filter.text = request.query("q")
        filter.since = try request.query("since").map { try Timestamps.parse($0, "since") }
        filter.until = try request.query("until").map { try Timestamps.parse($0, "until") }
        let rows = try await services.audit.list(tenantID: scope.tenantID, filter)
        return Page(rows: rows, limit: page.limit, id: \.id, map: Body.init)
    }

    /// `GET …/audit-events/export?from=&to=&format=ndjson`: the sealed events of the range with their
    /// links, checkpoints and keys, streamed; `scripts/verify-audit-export.py` checks it offline.
    @Sendable func export(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try await services.scope(context, permission: "audit:read")
        guard (request.query("format") ?? "ndjson") == "ndjson" else { throw Problem.invalid("format: ndjson (the only format with its proofs)") }
        let to = try request.query("to").map { try Timestamps.parse($0, "to") } ?? Date()
        let from = try request.query("from").map { try Timestamps.parse($0, "from") } ?? to.addingTimeInterval(-30 * 86_400)
        guard from < to else { throw Problem.invalid("from: must be before to") }
        let exports = services.auditExport
        let tenantID = scope.tenantID
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/x-ndjson", .cacheControl: "no-store",
                .contentDisposition: "attachment; filename=\"audit-\(tenantID.lowercasedString).ndjson\"",
            ],
            body: ResponseBody { writer in
                try await exports.export(tenantID: tenantID, from: from, to: to) { chunk in try await writer.write(ByteBuffer(bytes: chunk)) }
                try await writer.finish(nil)
            })
    }
}
