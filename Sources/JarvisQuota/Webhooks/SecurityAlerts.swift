public import JarvisStore
public import Logging
internal import Foundation
internal import JarvisAudit

/// Watches the security events of the last minutes and raises an alert — a row (once, across
/// instances, by its key), an audit event and a `security.alert` delivery to the tenant's webhooks,
/// in one transaction — for each lockout, each refresh token used twice, and each minute in which
/// one principal was refused `burst` times or more. Within one pass (`interval`) of the event.
public struct SecurityAlerts: Sendable {
    let platform: Database
    let logger: Logger
    let interval: Duration
    let burst: Int

    public init(platform: Database, logger: Logger, interval: Duration = .seconds(1), burst: Int = 10) {
        self.platform = platform
        self.logger = logger
        self.interval = interval
        self.burst = burst
    }

    public var service: PeriodicService {
        PeriodicService("security-alerts", every: interval, logger: logger) { try await self.pass() }
    }

    /// The body of a `security.alert` delivery.
    struct Payload: Encodable {
        var event = "security.alert"
        let tenantId: String
        let kind: String
        let subject: String?
        let events: Int
        let firstAt: String
        let lastAt: String
    }

    /// One pass. - Returns: how many alerts it raised.
    @discardableResult
    public func pass() async throws -> Int {
        try await platform.withTransaction { tx in
            let raised = try await tx.query(
                """
                WITH recent AS (
                    SELECT tenant_id, id, occurred_at, action, actor_id, target_id FROM audit_events
                    WHERE occurred_at > now() - interval '5 minutes'
                      AND action IN ('auth.lockout', 'auth.address_lockout', 'auth.refresh_reuse', 'access.denied')
                ), candidates AS (
                    SELECT tenant_id, CASE WHEN action = 'auth.refresh_reuse' THEN 'refresh_token_reuse' ELSE 'lockout' END AS kind,
                           id::text AS key, target_id AS subject, 1 AS events, occurred_at AS first_at, occurred_at AS last_at
                    FROM recent WHERE action <> 'access.denied'
                    UNION ALL
                    SELECT tenant_id, 'denial_burst', actor_id::text || '@' || to_char(date_trunc('minute', occurred_at), 'YYYY-MM-DD"T"HH24:MI'),
                           actor_id::text, count(*)::integer, min(occurred_at), max(occurred_at)
                    FROM recent WHERE action = 'access.denied' AND actor_id IS NOT NULL
                    GROUP BY tenant_id, actor_id, date_trunc('minute', occurred_at) HAVING count(*) >= $1
                )
                INSERT INTO security_alerts (tenant_id, kind, key, subject, events, first_at, last_at)
                SELECT * FROM candidates ORDER BY tenant_id, kind, key
                ON CONFLICT DO NOTHING
                RETURNING tenant_id, kind, subject, events, first_at, last_at
                """, [burst])
            for row in raised.all {
                let tenantID = try row.uuid("tenant_id")
                let payload = Payload(
                    tenantId: tenantID.lowercasedString, kind: try row.string("kind"), subject: try row.optionalString("subject"),
                    events: try row.int("events"), firstAt: Timestamp.format(try row.date("first_at")), lastAt: Timestamp.format(try row.date("last_at")))
                try await AuditLog.record(
                    tx, tenantID: tenantID, actor: .system, action: "security.alert", targetType: "security_alert", targetID: payload.kind,
                    details: ["subject": .optional(payload.subject), "events": .int(payload.events), "first_at": .string(payload.firstAt)])
                try await WebhookStore.enqueue(tx, tenantID: tenantID, event: "security.alert", body: payload)
            }
            return raised.count
        }
    }
}
