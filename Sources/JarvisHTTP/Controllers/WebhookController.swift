internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisQuota
internal import JarvisStore

/// `/v1/tenants/{tenant}/webhooks`: where quota warnings are posted (admin:config, audited), and
/// each webhook's delivery log.
struct WebhookController {
    let services: AppServices
    let masterKey: [UInt8]
    let targets: WebhookTargetPolicy

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.delete(":id", use: delete)
        group.get(":id/deliveries", use: deliveries)
    }

    @Sendable func create(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<WebhookBody> {
        let scope = try await services.scope(context, permission: "admin:config")
        let body = try await JSONBody.read(request, context: context, allowed: ["url"])
        let url = try body.requiredString("url", maxLength: 2000)
        let target: WebhookTarget
        do {
            target = try WebhookTarget(parsing: url)
            _ = try await targets.vet(target)
        } catch .malformed(let reason) {
            throw Problem.invalid("url: \(reason)")
        } catch .unresolvable {
            throw Problem.invalid("url: the host does not resolve")
        } catch .forbiddenAddress(let address) {
            throw Problem.invalid("url: the host resolves to \(address), which is not a public address; webhooks may only reach the public internet")
        }
        let (webhook, secret) = try await services.app.withTenant(scope.tenantID) { tx in
            try await WebhookStore.create(tx, tenantID: scope.tenantID, target: target, masterKey: masterKey, actor: scope.actor)
        }
        return EditedResponse(
            status: .created, headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/webhooks/\(webhook.id.lowercasedString)"],
            response: WebhookBody(webhook, secret: secret))
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<WebhookBody> {
        let scope = try await services.scope(context, permission: "admin:config")
        let hooks = try await services.app.withTenant(scope.tenantID) { tx in try await WebhookStore.list(tx, tenantID: scope.tenantID) }
        return Page(all: hooks) { WebhookBody($0, secret: nil) }
    }

    @Sendable func delete(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try await services.scope(context, permission: "admin:config")
        let id = try context.uuidParameter("id")
        try await services.app.withTenant(scope.tenantID) { tx in try await WebhookStore.delete(tx, tenantID: scope.tenantID, id: id, actor: scope.actor) }
        return Response(status: .noContent)
    }

    @Sendable func deliveries(_ request: Request, context: JarvisRequestContext) async throws -> Page<DeliveryBody> {
        let scope = try await services.scope(context, permission: "admin:config")
        let id = try context.uuidParameter("id")
        let list = try await services.app.withTenant(scope.tenantID) { tx in
            try await WebhookStore.deliveries(tx, tenantID: scope.tenantID, webhookID: id, limit: 100)
        }
        return Page(all: list, map: DeliveryBody.init)
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
