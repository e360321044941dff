internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisBilling
internal import JarvisStore

/// Finance: usage and cost exports (`billing:export`: the `finance` role; a platform principal's
/// covers every tenant) and monthly statements (read with `billing:read`; closed by the platform
/// with `billing:admin`).
struct FinanceController {
    let services: AppServices

    func addTenantRoutes(usage: RouterGroup<JarvisRequestContext>, statements: RouterGroup<JarvisRequestContext>) {
        usage.get("export", use: exportTenant)
        statements.get(use: listStatements)
        statements.get(":period", use: statement)
        statements.post(":period/close", use: close)
    }

    func addPlatformRoutes(to usage: RouterGroup<JarvisRequestContext>) {
        usage.get("export", use: exportAll)
    }

    static func query(_ request: Request) throws -> UsageExport.Query {
        try UsageExport.Query.parse(
            from: request.query("from"), to: request.query("to"), groupBy: request.query("group_by"), format: request.query("format"))
    }

    /// The export streams as PostgreSQL produces it; an export that fails part-way ends the
    /// connection without the final chunk, so no client mistakes a cut file for a whole one.
    static func streamed(_ format: UsageExport.Format, name: String, _ run: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void) -> Response {
        let extensionName = format == .jsonl ? "jsonl" : "csv"
        return Response(
            status: .ok,
            headers: [
                .contentType: format.mediaType, .cacheControl: "no-store",
                .contentDisposition: "attachment; filename=\"\(name).\(extensionName)\"",
            ],
            body: ResponseBody { writer in
                try await run(&writer)
                try await writer.finish(nil)
            })
    }

    @Sendable func exportTenant(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try await services.scope(context, permission: "billing:export")
        let query = try Self.query(request)
        let exports = services.exports
        return Self.streamed(query.format, name: "usage-\(scope.tenantID.lowercasedString)-\(query.from)-\(query.to)") { writer in
            try await exports.export(query, in: scope) { chunk in try await writer.write(ByteBuffer(bytes: chunk)) }
        }
    }

    @Sendable func exportAll(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        try UsageExport.requirePlatformFinance(caller)
        let query = try Self.query(request)
        let exports = services.exports
        return Self.streamed(query.format, name: "usage-all-\(query.from)-\(query.to)") { writer in
            try await exports.exportAll(query, caller: caller) { chunk in try await writer.write(ByteBuffer(bytes: chunk)) }
        }
    }

    struct StatementBody: ResponseEncodable, Sendable {
        struct Line: Encodable, Sendable {
            let kind: String
            let usagePeriod: String
            let model: String
            let modelVersion: String?
            let costCenter: String?
            let priceId: String?
            let inputMicrosPerMillion: Int64?
            let outputMicrosPerMillion: Int64?
            let requests: Int64
            let inputTokens: Int64
            let outputTokens: Int64
            let amountMicros: Int64
            let unpricedRequests: Int64
        }

        struct CostCenterTotal: Encodable, Sendable {
            let costCenter: String?
            let requests: Int64
            let amountMicros: Int64
        }

        let tenantId: String
        let period: String
        let status: String
        let currency: String
        let closedAt: Date?
        let lines: [Line]
        let costCenters: [CostCenterTotal]
        let requests: Int64
        let unpricedRequests: Int64
        let totalMicros: Int64

        init(_ s: Statement) {
            tenantId = s.tenantID.lowercasedString
            period = s.period
            status = s.status.rawValue
            currency = s.currency
            closedAt = s.closedAt
            lines = s.lines.map {
                Line(
                    kind: $0.kind.rawValue, usagePeriod: $0.usagePeriod, model: $0.model, modelVersion: $0.modelVersion, costCenter: $0.costCenter,
                    priceId: $0.priceID?.lowercasedString, inputMicrosPerMillion: $0.inputMicrosPerMillion,
                    outputMicrosPerMillion: $0.outputMicrosPerMillion, requests: $0.requests, inputTokens: $0.inputTokens,
                    outputTokens: $0.outputTokens, amountMicros: $0.amountMicros, unpricedRequests: $0.unpricedRequests)
            }
            costCenters = s.costCenters.map { CostCenterTotal(costCenter: $0.costCenter, requests: $0.requests, amountMicros: $0.amountMicros) }
            requests = s.requests
            unpricedRequests = s.unpricedRequests
            totalMicros = s.totalMicros
        }

        // Absent values are encoded as null: a statement's shape never varies.
        enum CodingKeys: String, CodingKey {
            case tenantId, period, status, currency, closedAt, lines, costCenters, requests, unpricedRequests, totalMicros
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(tenantId, forKey: .tenantId)
            try container.encode(period, forKey: .period)
            try container.encode(status, forKey: .status)
            try container.encode(currency, forKey: .currency)
            try container.encode(closedAt, forKey: .closedAt)
            try container.encode(lines, forKey: .lines)
            try container.encode(costCenters, forKey: .costCenters)
            try container.encode(requests, forKey: .requests)
            try container.encode(unpricedRequests, forKey: .unpricedRequests)
            try container.encode(totalMicros, forKey: .totalMicros)
        }
    }

    struct SummaryBody: Encodable, Sendable {
        let period: String
        let currency: String
        let requests: Int64
        let totalMicros: Int64
        let unpricedRequests: Int64
        let closedAt: Date
    }

    @Sendable func listStatements(_ request: Request, context: JarvisRequestContext) async throws -> Page<SummaryBody> {
        let scope = try await services.scope(context, permission: "billing:read")
        return Page(all: try await services.statements.closedStatements(in: scope)) {
            SummaryBody(
                period: $0.period, currency: $0.currency, requests: $0.requests, totalMicros: $0.totalMicros, unpricedRequests: $0.unpricedRequests,
                closedAt: $0.closedAt)
        }
    }

    @Sendable func statement(_ request: Request, context: JarvisRequestContext) async throws -> StatementBody {
        let scope = try await services.scope(context, permission: "billing:read")
        return StatementBody(try await services.statements.statement(try context.parameters.require("period"), in: scope))
    }

    @Sendable func close(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<StatementBody> {
        let scope = try await services.scope(context, permission: "billing:admin")
        // The platform closes its tenants' books; a tenant never closes its own.
        guard scope.caller.tenantID == PlatformTenant.id else { throw AccessError.forbidden("billing:admin") }
        let statement = try await services.statements.close(try context.parameters.require("period"), in: scope)
        return EditedResponse(status: .created, response: StatementBody(statement))
    }
}
