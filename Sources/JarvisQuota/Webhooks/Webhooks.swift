public import Foundation
public import JarvisAccess
public import JarvisStore
internal import JarvisAudit

/// A tenant's webhooks (where quota warnings are posted) and their delivery logs. A target is
/// vetted (resolved, every address public) before the transaction that adds it.
public struct Webhooks: Sendable {
    let app: Database
    let masterKey: [UInt8]
    let targets: WebhookTargetPolicy

    public init(app: Database, masterKey: [UInt8], targets: WebhookTargetPolicy) {
        self.app = app
        self.masterKey = masterKey
        self.targets = targets
    }

    /// - Returns: the webhook and its signing secret, which is never shown again.
    public func create(url: String, in scope: TenantScope) async throws -> (Webhook, secret: String) {
        let target: WebhookTarget
        do {
            target = try WebhookTarget(parsing: url)
            _ = try await targets.vet(target)
        } catch .malformed(let reason) {
            throw QuotaError.invalid("url: \(reason)")
        } catch .unresolvable {
            throw QuotaError.invalid("url: the host does not resolve")
        } catch .forbiddenAddress(let address) {
            throw QuotaError.invalid("url: the host resolves to \(address), which is not a public address; webhooks may only reach the public internet")
        }
        return try await app.withTenant(scope.tenantID) { tx in
            try await WebhookStore.create(tx, tenantID: scope.tenantID, target: target, masterKey: masterKey, actor: scope.actor)
        }
    }

    public func list(in scope: TenantScope) async throws -> [Webhook] {
        try await app.withTenant(scope.tenantID) { tx in try await WebhookStore.list(tx, tenantID: scope.tenantID) }
    }

    public func delete(_ id: UUID, in scope: TenantScope) async throws {
        try await app.withTenant(scope.tenantID) { tx in try await WebhookStore.delete(tx, tenantID: scope.tenantID, id: id, actor: scope.actor) }
    }

    /// The last 100 attempts' records, newest first.
    public func deliveries(of id: UUID, in scope: TenantScope) async throws -> [WebhookDelivery] {
        try await app.withTenant(scope.tenantID) { tx in
            try await WebhookStore.deliveries(tx, tenantID: scope.tenantID, webhookID: id, limit: 100)
        }
    }
}
