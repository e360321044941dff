internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisBilling
internal import JarvisQuota
internal import JarvisStore

/// `/v1/tenants/{tenant}/prices` and the tenant's unpriced usage. Prices are the platform's to set
/// (super admins: in the platform tenant a platform-wide price, in another tenant its override);
/// reading needs `billing:read`.
struct PriceController {
    let services: AppServices

    func addPriceRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: create)
        group.get(use: list)
    }

    func addUsageRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get("unpriced", use: unpriced)
        group.post("rerate", use: rerate)
    }

    struct Create: RequestBody {
        let model: String
        let modelVersion: String?
        let plan: String?
        let currency: String
        let inputMicrosPerMillion: WholeNumber
        let outputMicrosPerMillion: WholeNumber
        let effectiveFrom: String
        enum CodingKeys: String, CodingKey, CaseIterable {
            case model, modelVersion = "model_version", plan, currency, inputMicrosPerMillion = "input_micros_per_million"
            case outputMicrosPerMillion = "output_micros_per_million", effectiveFrom = "effective_from"
        }
    }

    struct Body: ResponseEncodable, Sendable {
        let id: String
        let tenantId: String
        let model: String
        let modelVersion: String
        let plan: String
        let currency: String
        let inputMicrosPerMillion: Int64
        let outputMicrosPerMillion: Int64
        let effectiveFrom: Date
        let createdAt: Date

        init(_ p: Price) {
            id = p.id.lowercasedString
            tenantId = p.tenantID.lowercasedString
            model = p.model
            modelVersion = p.modelVersion
            plan = p.plan
            currency = p.currency
            inputMicrosPerMillion = p.inputMicrosPerMillion
            outputMicrosPerMillion = p.outputMicrosPerMillion
            effectiveFrom = p.effectiveFrom
            createdAt = p.createdAt
        }
    }

    struct UnpricedBody: Encodable, Sendable {
        let model: String
        let modelVersion: String?
        let events: Int64
        let inputTokens: Int64
        let outputTokens: Int64
        let first: Date
        let last: Date
    }

    struct Rerated: ResponseEncodable, Sendable {
        let events: Int64
        let costMicros: Int64
    }

    @Sendable func create(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<Body> {
        // Tenants never price themselves, whatever permissions they register: the platform does.
        _ = try services.requireSuperAdmin(context, permission: "billing:admin")
        let scope = try await services.scope(context, permission: "billing:admin")
        let body = try await RequestDecoder.decode(Create.self, from: request, context: context)
        guard let effectiveFrom = Timestamp.parse(body.effectiveFrom) else {
            throw Problem.invalid("effective_from: an RFC 3339 time such as 2026-12-01T00:00:00Z")
        }
        let price = try await services.prices.add(
            .init(
                model: body.model, modelVersion: body.modelVersion ?? "", plan: body.plan ?? "", currency: body.currency,
                inputMicrosPerMillion: try body.inputMicrosPerMillion.checked("input_micros_per_million", in: 0...PriceBook.maxMicrosPerMillion),
                outputMicrosPerMillion: try body.outputMicrosPerMillion.checked("output_micros_per_million", in: 0...PriceBook.maxMicrosPerMillion),
                effectiveFrom: effectiveFrom), in: scope)
        return EditedResponse(
            status: .created, headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/prices/\(price.id.lowercasedString)"],
            response: Body(price))
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<Body> {
        let scope = try await services.scope(context, permission: "billing:read")
        return Page(all: try await services.prices.list(model: request.query("model"), in: scope), map: Body.init)
    }

    @Sendable func unpriced(_ request: Request, context: JarvisRequestContext) async throws -> Page<UnpricedBody> {
        let scope = try await services.scope(context, permission: "billing:read")
        return Page(all: try await services.usageReports.unpriced(in: scope)) {
            UnpricedBody(
                model: $0.model, modelVersion: $0.modelVersion, events: $0.events, inputTokens: $0.inputTokens, outputTokens: $0.outputTokens,
                first: $0.first, last: $0.last)
        }
    }

    @Sendable func rerate(_ request: Request, context: JarvisRequestContext) async throws -> Rerated {
        _ = try services.requireSuperAdmin(context, permission: "billing:admin")
        let scope = try await services.scope(context, permission: "billing:admin")
        let result = try await services.prices.rerate(in: scope)
        return Rerated(events: result.events, costMicros: result.costMicros)
    }
}
