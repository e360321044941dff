internal import Foundation
public import JarvisAccess
public import JarvisTenancy
internal import JarvisStore
internal import JarvisIdentity

/// Usage reports in: every event checked in full (fields, tenant, principal) before any joins a
/// group commit, then written durably by the `UsageWriter`; the answer comes after the commit.
public struct UsageIngest: Sendable {
    let writer: UsageWriter
    let tenants: Tenants
    let principals: PrincipalDirectory

    /// How far back and ahead an event's time may be: late reports are normal, far-off ones are mistakes.
    static let maxAge: TimeInterval = 35 * 86_400
    static let maxSkew: TimeInterval = 300

    public init(writer: UsageWriter, tenants: Tenants, principals: PrincipalDirectory) {
        self.writer = writer
        self.tenants = tenants
        self.principals = principals
    }

    /// One event as the request carried it: text and whole-number fields by name, not yet checked.
    public struct Draft: Sendable {
        public var strings: [String: String] = [:]
        public var integers: [String: Int64] = [:]
        public init() {}
    }

    /// Checks and stores `drafts` reported by `caller` (who holds `usage:write`). All or nothing:
    /// one bad event refuses the request, naming it (`label(index)`).
    /// - Returns: the events, and for each whether it was stored now or seen before.
    public func submit(_ drafts: [Draft], caller: Caller, label: (Int) -> String) async throws -> [(UsageEvent, UsageOutcome)] {
        let platformCaller = caller.tenantID == PlatformTenant.id
        let now = Date()
        let events = try drafts.enumerated().map { index, draft in
            try Self.event(draft, label: label(index), caller: caller, platformCaller: platformCaller, now: now)
        }
        if platformCaller {
            // Events name their tenant: every one must exist (and not be deleted).
            let named = Set(events.map(\.tenantID))
            if let missing = named.subtracting(try await tenants.live(named)).first {
                throw QuotaError.invalid("tenant_id: no tenant \(missing.lowercasedString)")
            }
        }
        // Events may name any principal of their tenant; the caller itself needs no lookup.
        let named = Set(events.compactMap { event in
            event.principalID.flatMap { $0 == caller.principalID && event.tenantID == caller.tenantID ? nil : PrincipalDirectory.Member(tenantID: event.tenantID, principalID: $0) }
        })
        if !named.isEmpty, let unknown = try await principals.firstUnknown(named) {
            throw QuotaError.invalid("principal_id: no principal \(unknown.principalID.lowercasedString) in tenant \(unknown.tenantID.lowercasedString)")
        }
        // A named key must be the tenant's, and the named principal's when both are given.
        let keys = Set(events.compactMap { event in event.apiKeyID.map { APIKeyStore.Owned(tenantID: event.tenantID, keyID: $0) } })
        if !keys.isEmpty {
            let owners = try await APIKeyStore.owners(of: keys, platform: writer.platform)
            for event in events {
                guard let keyID = event.apiKeyID else { continue }
                guard let owner = owners[APIKeyStore.Owned(tenantID: event.tenantID, keyID: keyID)] else {
                    throw QuotaError.invalid("api_key_id: no API key \(keyID.lowercasedString) in tenant \(event.tenantID.lowercasedString)")
                }
                if let principalID = event.principalID, principalID != owner {
                    throw QuotaError.invalid("api_key_id: key \(keyID.lowercasedString) is not principal \(principalID.lowercasedString)'s")
                }
            }
        }
        return Array(zip(events, try await writer.submit(events)))
    }

    static func event(_ draft: Draft, label: String, caller: Caller, platformCaller: Bool, now: Date) throws -> UsageEvent {
        func fail(_ detail: String) -> QuotaError { .invalid(label + detail) }
        func string(_ name: String, required: Bool = false, maxLength: Int) throws -> String? {
            guard let value = draft.strings[name] else {
                if required { throw fail("\(name): is required") }
                return nil
            }
            // Plain ASCII (nearly every field) is judged by its bytes; the Unicode properties
            // lookup only for the rest (it was the most expensive step of a batch's parse).
            let ascii = value.utf8.allSatisfy { $0 < 0x80 }
            guard ascii ? value.utf8.count <= maxLength : value.unicodeScalars.count <= maxLength else {
                throw fail("\(name): must be at most \(maxLength) characters")
            }
            // Checked here, before the event joins a group commit: PostgreSQL refuses NUL, and one
            // request's bad text must never fail the others it would share a transaction with.
            let control = ascii
                ? value.utf8.contains { $0 < 0x20 || $0 == 0x7F }
                : value.unicodeScalars.contains { $0.properties.generalCategory == .control }
            guard !control else { throw fail("\(name): must not contain control characters") }
            return value
        }
        func uuid(_ name: String) throws -> UUID? {
            guard let text = draft.strings[name] else { return nil }
            guard let id = UUID.parse(text) else { throw fail("\(name): must be a UUID") }
            return id
        }
        let tenantID: UUID
        if let given = try uuid("tenant_id") {
            guard platformCaller || given == caller.tenantID else {
                throw fail("tenant_id: a tenant's credential reports usage for its own tenant only")
            }
            tenantID = given
        } else {
            guard !platformCaller else { throw fail("tenant_id: is required for platform callers") }
            tenantID = caller.tenantID
        }
        guard let key = try string("idempotency_key", required: true, maxLength: 200), !key.isEmpty else {
            throw fail("idempotency_key: must not be empty")
        }
        guard let model = try string("model", required: true, maxLength: 200), !model.isEmpty else { throw fail("model: must not be empty") }
        let status = try string("status", required: true, maxLength: 32)!
        guard status.utf8.first.map({ $0 >= 97 && $0 <= 122 }) == true,
            status.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 })
        else { throw fail("status: lowercase letters, digits and _ (such as success or error)") }
        var occurredAt = now
        if let text = draft.strings["timestamp"] {
            guard let date = Timestamp.parse(text) else { throw fail("timestamp: must be an RFC 3339 time such as 2030-01-31T12:00:00Z") }
            occurredAt = date
        }
        guard occurredAt >= now.addingTimeInterval(-maxAge), occurredAt <= now.addingTimeInterval(maxSkew) else {
            throw fail("timestamp: must be within the last 35 days and not in the future")
        }
        guard let input = draft.integers["input_tokens"] else { throw fail("input_tokens: is required") }
        guard let output = draft.integers["output_tokens"] else { throw fail("output_tokens: is required") }
        if let latency = draft.integers["latency_ms"], latency > 86_400_000 { throw fail("latency_ms: at most 86400000") }
        return UsageEvent(
            tenantID: tenantID, principalID: try uuid("principal_id"), model: model,
            modelVersion: try string("model_version", maxLength: 100), promptVersion: try string("prompt_version", maxLength: 100),
            inputTokens: input, outputTokens: output, latencyMs: draft.integers["latency_ms"].map { Int($0) }, status: status,
            occurredAt: occurredAt, idempotencyKey: key, reservationID: try uuid("reservation_id"), prompt: try string("prompt", maxLength: 100),
            apiKeyID: try uuid("api_key_id"))
    }
}
