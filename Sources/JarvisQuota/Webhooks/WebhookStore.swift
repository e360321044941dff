public import Foundation
public import JarvisStore
public import JarvisAudit
internal import JarvisCrypto

/// A tenant's webhook: where quota warnings are posted, signed with its secret.
public struct Webhook: Sendable {
    public let id: UUID
    public let tenantID: UUID
    public let url: String
    public let events: [String]
    public let createdAt: Date
}

/// One attempt record of the delivery log.
public struct WebhookDelivery: Sendable {
    public let id: UUID
    public let webhookID: UUID
    public let event: String
    public let status: String
    public let attempts: Int
    public let nextAttemptAt: Date
    public let lastStatus: Int?
    public let lastError: String?
    public let createdAt: Date
    public let deliveredAt: Date?
}

/// Webhooks and their delivery log, inside a tenant transaction. The secret is made here, shown
/// once (the caller returns it), and stored sealed under the master key.
public enum WebhookStore {
    public static let events = ["quota.warning", "rollout.aborted", "budget.threshold", "security.alert"]

    /// How long a finished delivery (delivered or failed) stays in the log.
    static let deliveryRetentionSeconds = 30 * 86_400

    /// Forgets finished deliveries past `deliveryRetentionSeconds`; pending ones stay until they finish.
    package static func deliveryExpiry(platform: Database) -> ExpirySweep {
        ExpirySweep(
            table: "webhook_deliveries", timeColumn: "created_at", keep: .seconds(deliveryRetentionSeconds), also: "status <> 'pending'",
            platform: platform)
    }

    /// Queues `event` for every webhook of the tenant that takes it, in the caller's transaction.
    package static func enqueue(_ tx: Transaction, tenantID: UUID, event: String, payload: [String: String]) async throws {
        var body = payload
        body["tenant_id"] = tenantID.lowercasedString
        try await enqueue(tx, tenantID: tenantID, event: event, body: body)
    }

    /// Queues `event` with `body` (JSON, snake_case keys, sorted) for every webhook of the tenant that takes it.
    package static func enqueue(_ tx: Transaction, tenantID: UUID, event: String, body: some Encodable) async throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try await tx.query(
            """
            INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event, payload)
            SELECT tenant_id, $2::uuid, id, $3, $4 FROM webhooks WHERE tenant_id = $1 AND $3 = ANY(events)
            """, [tenantID, UUIDv7.make(), event, String(decoding: try encoder.encode(body), as: UTF8.self)])
    }

    /// Adds a webhook to a target already vetted (`WebhookTargetPolicy.vet`): the lookup is not
    /// done inside the transaction.
    public static func create(_ tx: Transaction, tenantID: UUID, target: WebhookTarget, masterKey: [UInt8], actor: AuditActor) async throws -> (Webhook, secret: String) {
        let url = target.url
        let count = try await tx.query("SELECT count(*) AS n FROM webhooks WHERE tenant_id = $1", [tenantID]).first?.int("n") ?? 0
        guard count < 10 else { throw QuotaError.conflict("a tenant has at most 10 webhooks") }
        let id = UUIDv7.make()
        let secret = "whsec_" + Base62.random(length: 40)
        let sealed = try AESGCM.seal(Array(secret.utf8), key: masterKey, associatedData: Array(id.lowercasedString.utf8))
        let rows = try await tx.query(
            """
            INSERT INTO webhooks (tenant_id, id, url, sealed_secret, created_by) VALUES ($1, $2, $3, $4, $5)
            RETURNING id, tenant_id, url, events, created_at
            """, [tenantID, id, url, ByteaValue(sealed), actor.id])
        guard let row = rows.first else { throw StoreError.decoding("insert returned no row") }
        let webhook = try decode(row)
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "webhook.create", targetType: "webhook", targetID: id.lowercasedString,
            details: ["url": .string(url)])
        return (webhook, secret)
    }

    static func decode(_ row: Row) throws -> Webhook {
        Webhook(id: try row.uuid("id"), tenantID: try row.uuid("tenant_id"), url: try row.string("url"),
                events: try row.stringArray("events"), createdAt: try row.date("created_at"))
    }

    public static func list(_ tx: Transaction, tenantID: UUID) async throws -> [Webhook] {
        try await tx.query("SELECT id, tenant_id, url, events, created_at FROM webhooks WHERE tenant_id = $1 ORDER BY id", [tenantID]).all.map(decode)
    }

    public static func delete(_ tx: Transaction, tenantID: UUID, id: UUID, actor: AuditActor) async throws {
        let rows = try await tx.query("DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2 RETURNING url", [tenantID, id])
        guard let row = rows.first else { throw QuotaError.notFound("webhook \(id.lowercasedString)") }
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "webhook.delete", targetType: "webhook", targetID: id.lowercasedString,
            details: ["url": .string(try row.string("url"))])
    }

    /// - Throws: `QuotaError.notFound` for a webhook the tenant does not have.
    public static func deliveries(_ tx: Transaction, tenantID: UUID, webhookID: UUID, limit: Int) async throws -> [WebhookDelivery] {
        guard try await !tx.query("SELECT 1 FROM webhooks WHERE tenant_id = $1 AND id = $2", [tenantID, webhookID]).isEmpty else {
            throw QuotaError.notFound("webhook \(webhookID.lowercasedString)")
        }
        let rows = try await tx.query(
            """
            SELECT id, webhook_id, event, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at
            FROM webhook_deliveries WHERE tenant_id = $1 AND webhook_id = $2 ORDER BY id DESC LIMIT $3
            """, [tenantID, webhookID, limit])
        return try rows.all.map { row in
            WebhookDelivery(
                id: try row.uuid("id"), webhookID: try row.uuid("webhook_id"), event: try row.string("event"), status: try row.string("status"),
                attempts: try row.int("attempts"), nextAttemptAt: try row.date("next_attempt_at"), lastStatus: try row.optionalInt("last_status"),
                lastError: try row.optionalString("last_error"), createdAt: try row.date("created_at"), deliveredAt: try row.optionalDate("delivered_at"))
        }
    }
}
