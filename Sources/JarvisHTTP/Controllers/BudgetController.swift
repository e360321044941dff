internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisBilling
internal import JarvisStore

/// `/v1/tenants/{tenant}/budgets`: monthly budgets in money, per tenant or cost center. Read with
/// `billing:read`; made, changed and removed with `budget:write`.
struct BudgetController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(use: list)
        group.post(use: create)
        group.get(":id", use: get)
        group.patch(":id", use: update)
        group.delete(":id", use: delete)
    }

    struct Create: RequestBody {
        let costCenter: String?
        let amountMicros: WholeNumber
        let thresholds: [WholeNumber]?
        let hardStop: Bool?
        let checkReservationMicros: WholeNumber?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case costCenter = "cost_center", amountMicros = "amount_micros", thresholds, hardStop = "hard_stop"
            case checkReservationMicros = "check_reservation_micros"
        }
    }

    struct Update: RequestBody {
        let amountMicros: WholeNumber?
        let thresholds: [WholeNumber]?
        let hardStop: Bool?
        let checkReservationMicros: WholeNumber?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case amountMicros = "amount_micros", thresholds, hardStop = "hard_stop", checkReservationMicros = "check_reservation_micros"
        }
    }

    struct Body: ResponseEncodable, Sendable {
        struct Alert: Encodable, Sendable {
            let thresholdPercent: Int
            let spentMicros: Int64
            let amountMicros: Int64
            let raisedAt: Date
        }

        let id: String
        let tenantId: String
        /// Absent for the whole tenant's budget.
        let costCenter: String?
        let amountMicros: Int64
        let currency: String
        let thresholds: [Int]
        let hardStop: Bool
        let checkReservationMicros: Int64
        let period: String
        let spentMicros: Int64
        let remainingMicros: Int64
        let alerts: [Alert]
        let createdAt: Date
        let updatedAt: Date

        init(_ b: Budget) {
            id = b.id.lowercasedString
            tenantId = b.tenantID.lowercasedString
            costCenter = b.costCenter
            amountMicros = b.amountMicros
            currency = b.status.currency
            thresholds = b.thresholds
            hardStop = b.hardStop
            checkReservationMicros = b.checkReservationMicros
            period = b.status.period
            spentMicros = b.status.spentMicros
            remainingMicros = max(b.amountMicros - b.status.spentMicros, 0)
            alerts = b.status.alerts.map { .init(thresholdPercent: $0.threshold, spentMicros: $0.spentMicros, amountMicros: $0.amountMicros, raisedAt: $0.raisedAt) }
            createdAt = b.createdAt
            updatedAt = b.updatedAt
        }
    }

    static func thresholds(_ values: [WholeNumber]?) throws -> [Int]? {
        try values.map { try $0.map { Int(try $0.checked("thresholds", in: 1...1000)) } }
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<Body> {
        let scope = try await services.scope(context, permission: "billing:read")
        return Page(all: try await services.budgets.list(in: scope), map: Body.init)
    }

    @Sendable func get(_ request: Request, context: JarvisRequestContext) async throws -> Body {
        let scope = try await services.scope(context, permission: "billing:read")
        return Body(try await services.budgets.get(try context.uuidParameter("id"), in: scope))
    }

    @Sendable func create(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<Body> {
        let scope = try await services.scope(context, permission: "budget:write")
        let body = try await RequestDecoder.decode(Create.self, from: request, context: context)
        let budget = try await services.budgets.create(
            .init(
                costCenter: body.costCenter, amountMicros: try body.amountMicros.checked("amount_micros", in: 1...Budgets.maxMicros),
                thresholds: try Self.thresholds(body.thresholds), hardStop: body.hardStop,
                checkReservationMicros: try body.checkReservationMicros?.checked("check_reservation_micros", in: 0...Budgets.maxMicros)),
            in: scope)
        return EditedResponse(
            status: .created, headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/budgets/\(budget.id.lowercasedString)"],
            response: Body(budget))
    }

    @Sendable func update(_ request: Request, context: JarvisRequestContext) async throws -> Body {
        let scope = try await services.scope(context, permission: "budget:write")
        let id = try context.uuidParameter("id")
        let body = try await RequestDecoder.decode(Update.self, from: request, context: context)
        return Body(try await services.budgets.update(
            id,
            .init(
                amountMicros: try body.amountMicros?.checked("amount_micros", in: 1...Budgets.maxMicros), thresholds: try Self.thresholds(body.thresholds),
                hardStop: body.hardStop, checkReservationMicros: try body.checkReservationMicros?.checked("check_reservation_micros", in: 0...Budgets.maxMicros)),
            in: scope))
    }

    @Sendable func delete(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try await services.scope(context, permission: "budget:write")
        try await services.budgets.delete(try context.uuidParameter("id"), in: scope)
        return Response(status: .noContent)
    }
}
