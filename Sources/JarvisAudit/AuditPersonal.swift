public import Foundation
public import JarvisStore

/// The personal values kept beside audit events (migration 0022): an event holds
/// `pii:sha256:<hex>` where a person's email, name or address was, and the value lives in
/// `audit_personal` until that person is erased.
public enum AuditPersonal {
    /// `events` with their personal values back in place of the digests; an erased value stays a digest.
    public static func reveal(_ tx: Transaction, tenantID: UUID, _ events: [AuditEvent]) async throws -> [AuditEvent] {
        guard !events.isEmpty else { return events }
        let rows = try await tx.query(
            "SELECT event_id, field, value FROM audit_personal WHERE tenant_id = $1 AND event_id = ANY($2::uuid[])",
            [tenantID, TextArray(events.map(\.id.lowercasedString))])
        var values: [UUID: [String: String]] = [:]
        for row in rows.all { values[try row.uuid("event_id"), default: [:]][try row.string("field")] = try row.string("value") }
        guard !values.isEmpty else { return events }
        return events.map { event in
            guard let fields = values[event.id] else { return event }
            var event = event
            for (field, value) in fields {
                switch field {
                case "client_ip": event.clientIP = value
                case "target_id": event.targetID = value
                default:
                    if field.hasPrefix("details.") { event.details[String(field.dropFirst(8))] = .string(value) }
                }
            }
            return event
        }
    }
}
