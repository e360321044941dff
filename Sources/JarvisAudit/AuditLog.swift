public import Foundation
public import JarvisStore

/// Writes operation events inside the caller's transaction (so an event exists exactly when
/// its change committed) and reads them back for a tenant.
public enum AuditLog {
    /// Keys never stored in details, whatever a caller passes.
    static let secretKeys: Set<String> = ["password", "secret", "key", "token", "refresh_token", "private_key", "secret_hash", "password_hash"]

    /// Records `action` by `actor` on a target, in `transaction`.
    /// - Returns: the stored event.
    @discardableResult
    public static func record(
        _ transaction: Transaction, tenantID: UUID, actor: AuditActor, action: String,
        targetType: String, targetID: String?, outcome: AuditEvent.Outcome = .success,
        details: [String: AuditValue] = [:]
    ) async throws -> AuditEvent {
        let event = AuditEvent(
            id: UUIDv7.make(), tenantID: tenantID, occurredAt: Date(), actorID: actor.id, actorKind: actor.kind,
            action: action, targetType: targetType, targetID: targetID, requestID: actor.requestID,
            clientIP: actor.clientIP, outcome: outcome, details: details.filter { !secretKeys.contains($0.key) }
        )
        try await insert(transaction, event)
        return event
    }

    /// Stores a prepared event.
    static func insert(_ transaction: Transaction, _ event: AuditEvent) async throws {
        try await transaction.query(
            """
            INSERT INTO audit_events (tenant_id, id, occurred_at, actor_id, actor_kind, action, target_type,
                                      target_id, request_id, client_ip, outcome, details)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb)
            """,
            [
                event.tenantID, event.id, event.occurredAt, event.actorID, event.actorKind.rawValue, event.action,
                event.targetType, event.targetID, event.requestID, event.clientIP, event.outcome.rawValue,
                JSONText(try encodeDetails(event.details)),
            ])
    }

    /// What to list: every filter is optional.
    public struct Filter: Sendable {
        /// `security` (sign-ins, lockouts, token reuse, refused access), `access` (the hot path's
        /// decisions per minute, the admin API's reads) or `operation` (everything else).
        public enum Category: String, Sendable, CaseIterable {
            case security, access, operation
        }

        public var action: String?
        /// A regular expression the action matches (the compliance report's sections).
        var actionPattern: String?
        public var category: Category?
        public var outcome: AuditEvent.Outcome?
        public var targetType: String?
        public var targetID: String?
        /// Text anywhere in the details, case-insensitive.
        public var text: String?
        public var actorID: UUID?
        public var since: Date?
        public var until: Date?
        /// Events older than this id (the cursor: lists run newest first).
        public var before: UUID?
        public var limit: Int

        public init(action: String? = nil, actorID: UUID? = nil, since: Date? = nil, until: Date? = nil, before: UUID? = nil, limit: Int = 50) {
            self.action = action
            self.actorID = actorID
            self.since = since
            self.until = until
            self.before = before
            self.limit = limit
        }
    }

    /// Lists a tenant's events, newest first; reads `limit + 1` so the caller knows whether more follow.
    public static func list(_ transaction: Transaction, tenantID: UUID, filter: Filter) async throws -> [AuditEvent] {
        let rows = try await transaction.query(
            """
            SELECT tenant_id, id, occurred_at, actor_id, actor_kind, action, target_type, target_id,
                   request_id, client_ip, outcome, details::text AS details
            FROM audit_events
            WHERE tenant_id = $1
              AND ($2::text IS NULL OR action = $2)
              AND ($3::uuid IS NULL OR actor_id = $3)
              AND ($4::timestamptz IS NULL OR occurred_at >= $4)
              AND ($5::timestamptz IS NULL OR occurred_at < $5)
              AND ($6::uuid IS NULL OR id < $6)
              AND ($8::text IS NULL OR $8 = CASE WHEN action LIKE 'auth.%' OR action = 'access.denied' THEN 'security'
                                                 WHEN action LIKE 'access.%' OR action LIKE 'api.%' THEN 'access' ELSE 'operation' END)
              AND ($9::text IS NULL OR outcome = $9)
              AND ($10::text IS NULL OR target_type = $10)
              AND ($11::text IS NULL OR target_id = $11)
              AND ($12::text IS NULL OR strpos(lower(details::text), lower($12)) > 0)
              AND ($13::text IS NULL OR action ~ $13)
            ORDER BY id DESC
            LIMIT $7
            """,
            [tenantID, filter.action, filter.actorID, filter.since, filter.until, filter.before, filter.limit + 1, filter.category?.rawValue,
             filter.outcome?.rawValue, filter.targetType, filter.targetID, filter.text, filter.actionPattern])
        let events = try rows.all.map { row in
            AuditEvent(
                id: try row.uuid("id"), tenantID: try row.uuid("tenant_id"), occurredAt: try row.date("occurred_at"),
                actorID: try row.optionalUUID("actor_id"),
                actorKind: AuditActor.Kind(rawValue: try row.string("actor_kind")) ?? .system,
                action: try row.string("action"), targetType: try row.string("target_type"),
                targetID: try row.optionalString("target_id"), requestID: try row.optionalString("request_id"),
                clientIP: try row.optionalString("client_ip"),
                outcome: AuditEvent.Outcome(rawValue: try row.string("outcome")) ?? .success,
                details: try JSONDecoder().decode([String: AuditValue].self, from: Data(try row.string("details").utf8))
            )
        }
        return try await AuditPersonal.reveal(transaction, tenantID: tenantID, events)
    }

    static func encodeDetails(_ details: [String: AuditValue]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(details), as: UTF8.self)
    }
}
