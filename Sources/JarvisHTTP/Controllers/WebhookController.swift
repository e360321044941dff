internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisQuota
internal import JarvisStore

/// `/v1/tenants/{tenant}/webhooks`: where quota warnings are posted (admin:config, audited), and
/// each webhook's delivery log.
struct WebhookController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.delete(":id", use: delete)
        group.get(":id/deliveries", use: deliveries)
    }

    struct Create: RequestBody {
        let url: String
        enum CodingKeys: String, CodingKey, CaseIterable { case url }
    }

    @Sendable func create(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<WebhookBody> {
        let scope = try await services.scope(context, permission: "admin:config")
        let body = try await RequestDecoder.decode(Create.self, from: request, context: context)
        let (webhook, secret) = try await services.webhooks.create(url: body.url, in: scope)
        return EditedResponse(
            status: .created, headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/webhooks/\(webhook.id.lowercasedString)"],
            response: WebhookBody(webhook, secret: secret))
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<WebhookBody> {
        let scope = try await services.scope(context, permission: "admin:config")
        return Page(all: try await services.webhooks.list(in: scope)) { WebhookBody($0, secret: nil) }
    }

    @Sendable func delete(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try await services.scope(context, permission: "admin:config")
        try await services.webhooks.delete(try context.uuidParameter("id"), in: scope)
        return Response(status: .noContent)
    }

    @Sendable func deliveries(_ request: Request, context: JarvisRequestContext) async throws -> Page<DeliveryBody> {
        let scope = try await services.scope(context, permission: "admin:config")
        return Page(all: try await services.webhooks.deliveries(of: try context.uuidParameter("id"), in: scope), map: DeliveryBody.init)
    }
}

struct WebhookBody: ResponseEncodable, Sendable {
    let id: String
    let tenantId: String
    let url: String
    let events: [String]
    let createdAt: Date
    /// Only in the answer to the creation: the signing secret is shown once.
    let secret: String?

    init(_ w: Webhook, secret: String?) {
        id = w.id.lowercasedString
        tenantId = w.tenantID.lowercasedString
        url = w.url
        events = w.events
        createdAt = w.createdAt
        self.secret = secret
    }
}

struct DeliveryBody: Encodable, Sendable {
    let id: String
    let webhookId: String
    let event: String
    let status: String
    let attempts: Int
    let nextAttemptAt: Date
    let lastStatus: Int?
    let lastError: String?
    let createdAt: Date
    let deliveredAt: Date?

    init(_ d: WebhookDelivery) {
        id = d.id.lowercasedString
        webhookId = d.webhookID.lowercasedString
        event = d.event
        status = d.status
        attempts = d.attempts
        nextAttemptAt = d.nextAttemptAt
        lastStatus = d.lastStatus
        lastError = d.lastError
        createdAt = d.createdAt
        deliveredAt = d.deliveredAt
    }
}
