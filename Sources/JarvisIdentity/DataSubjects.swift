public import Foundation
public import JarvisStore
public import JarvisAccess
internal import JarvisAudit

/// Data-subject rights for a tenant's users: export everything held about one, and erase their
/// personal data. The audit log keeps each personal value beside its event, salted (migration
/// 0022), and the chain covers only the digest, so erasure deletes the values and every link still
/// verifies.
public struct DataSubjects: Sendable {
    let app: Database

    public init(app: Database) {
        self.app = app
    }

    /// The most audit events an export lists (newest first); it says when there were more.
    static let auditLimit = 50_000

    /// Everything held about the user, as one JSON document: the record, role bindings, API keys
    /// and sessions (never secrets), failed sign-ins, usage by month and model, and the audit
    /// events by or about them with their personal values.
    public func export(_ userID: UUID, in scope: TenantScope) async throws -> [UInt8] {
        try await app.withTenant(scope.tenantID) { tx in
            try await Self.requireUser(tx, scope.tenantID, userID)
            let row = try await tx.query(
                """
                WITH subject AS (
                    SELECT * FROM principals WHERE tenant_id = $1 AND id = $2
                ), events AS (
                    SELECT e.* FROM audit_events e
                    WHERE e.tenant_id = $1 AND (e.actor_id = $2 OR (e.target_type = 'user' AND e.target_id = $2::text))
                    ORDER BY e.id DESC LIMIT $3
                )
                SELECT json_build_object(
                    'exported_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                    'user', (SELECT json_build_object('id', id, 'email', email, 'name', name, 'description', description,
                                                      'status', status, 'cost_center', cost_center, 'created_at', created_at,
                                                      'updated_at', updated_at, 'password_changed_at', password_changed_at,
                                                      'has_password', password_hash IS NOT NULL) FROM subject),
                    'role_bindings', (SELECT COALESCE(json_agg(json_build_object('role', role, 'created_at', created_at) ORDER BY role), '[]')
                                      FROM role_bindings WHERE tenant_id = $1 AND principal_id = $2),
                    'api_keys', (SELECT COALESCE(json_agg(json_build_object('id', id, 'name', name, 'created_at', created_at,
                                                                            'expires_at', expires_at, 'revoked_at', revoked_at,
                                                                            'last_used_at', last_used_at) ORDER BY id), '[]')
                                 FROM api_keys WHERE tenant_id = $1 AND principal_id = $2),
                    'sessions', (SELECT COALESCE(json_agg(json_build_object('family_id', family_id, 'created_at', created_at,
                                                                            'expires_at', expires_at, 'used_at', used_at,
                                                                            'revoked_at', revoked_at) ORDER BY created_at), '[]')
                                 FROM refresh_tokens WHERE tenant_id = $1 AND principal_id = $2),
                    'failed_sign_ins', (SELECT json_build_object('failures', failures, 'last_failure_at', last_failure_at,
                                                                 'locked_until', locked_until)
                                        FROM login_failures f, subject s WHERE f.tenant_id = $1 AND f.email_key = lower(s.email)),
                    'usage', (SELECT COALESCE(json_agg(u ORDER BY u.month, u.model), '[]') FROM (
                                  SELECT to_char(day, 'YYYY-MM') AS month, model, sum(events) AS requests, sum(input_tokens) AS input_tokens,
                                         sum(output_tokens) AS output_tokens, sum(cost_micros) AS cost_micros
                                  FROM usage_daily WHERE tenant_id = $1 AND principal_id = $2 GROUP BY 1, 2) u),
                    'audit_events', (SELECT COALESCE(json_agg(json_build_object(
                                         'id', e.id, 'occurred_at', e.occurred_at, 'actor_id', e.actor_id, 'action', e.action,
                                         'target_type', e.target_type,
                                         'target_id', COALESCE((SELECT value FROM audit_personal p WHERE p.tenant_id = $1 AND p.event_id = e.id AND p.field = 'target_id'), e.target_id),
                                         'client_ip', COALESCE((SELECT value FROM audit_personal p WHERE p.tenant_id = $1 AND p.event_id = e.id AND p.field = 'client_ip'), e.client_ip),
                                         'outcome', e.outcome,
                                         'details', e.details || COALESCE((SELECT jsonb_object_agg(substr(p.field, 9), p.value) FROM audit_personal p
                                                                           WHERE p.tenant_id = $1 AND p.event_id = e.id AND p.field LIKE 'details.%'), '{}'))
                                         ORDER BY e.id DESC), '[]') FROM events e),
                    'audit_events_truncated', (SELECT count(*) FROM events) >= $3
                )::text AS document
                """, [scope.tenantID, userID, Self.auditLimit]
            ).first
            guard let document = try row?.string("document") else { throw IdentityError.notFound("user \(userID.lowercasedString)") }
            try await AuditLog.record(tx, tenantID: scope.tenantID, actor: scope.actor, action: "user.data_export", targetType: "user",
                                      targetID: userID.lowercasedString)
            return Array(document.utf8)
        }
    }

    /// What an erasure removed.
    public struct Erasure: Sendable, Encodable {
        public let userId: String
        public let auditValuesErased: Int
        public let sessionsRevoked: Int
        public let apiKeysRevoked: Int
        public let storedResponsesDeleted: Int
    }

    /// Erases the user's personal data: their email, name and description become placeholders, the
    /// password goes, the account is disabled with every session and key ended, their failed
    /// sign-ins and the stored responses of requests that showed them are deleted, and their
    /// personal values beside the audit log are removed. The audit events and the chain stay
    /// exactly as sealed. The user must be covered by the caller's roles, as for disabling.
    public func erase(_ userID: UUID, in scope: TenantScope) async throws -> Erasure {
        try await app.withTenant(scope.tenantID) { tx in
            let email = try await Self.requireUser(tx, scope.tenantID, userID)
            try await PrincipalGuard.requireCovered(tx, tenantID: scope.tenantID, principalID: userID, by: scope.caller)
            let row = try await tx.query(
                """
                WITH erased AS (
                    DELETE FROM audit_personal WHERE tenant_id = $1 AND (subject_id = $2 OR (field = 'details.email' AND lower(value) = lower($3)))
                    RETURNING 1
                ), sessions AS (
                    UPDATE refresh_tokens SET revoked_at = now() WHERE tenant_id = $1 AND principal_id = $2 AND revoked_at IS NULL RETURNING 1
                ), keys AS (
                    UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND principal_id = $2 AND revoked_at IS NULL RETURNING 1
                ), failures AS (
                    DELETE FROM login_failures WHERE tenant_id = $1 AND email_key = lower($3) RETURNING 1
                ), responses AS (
                    DELETE FROM idempotency_keys
                    WHERE tenant_id = $1 AND (principal_id = $2 OR strpos(lower(convert_from(response_body, 'UTF8')), lower($3)) > 0)
                    RETURNING 1
                ), person AS (
                    UPDATE principals SET email = 'erased-' || id || '@erased.invalid', name = 'erased', description = '', password_hash = NULL,
                                          status = 'disabled', tokens_valid_after = now(), updated_at = now()
                    WHERE tenant_id = $1 AND id = $2 RETURNING 1
                )
                SELECT (SELECT count(*) FROM erased) AS erased, (SELECT count(*) FROM sessions) AS sessions,
                       (SELECT count(*) FROM keys) AS keys, (SELECT count(*) FROM responses) AS responses,
                       (SELECT count(*) FROM failures) AS failures, (SELECT count(*) FROM person) AS person
                """, [scope.tenantID, userID, email]
            ).first
            // Sessions and cached credentials of this principal end on every instance.
            tx.noteChange(scope.tenantID)
            let erasure = Erasure(
                userId: userID.lowercasedString, auditValuesErased: try row?.int("erased") ?? 0, sessionsRevoked: try row?.int("sessions") ?? 0,
                apiKeysRevoked: try row?.int("keys") ?? 0, storedResponsesDeleted: try row?.int("responses") ?? 0)
            try await AuditLog.record(
                tx, tenantID: scope.tenantID, actor: scope.actor, action: "user.erase", targetType: "user", targetID: userID.lowercasedString,
                details: ["audit_values_erased": .int(erasure.auditValuesErased), "sessions_revoked": .int(erasure.sessionsRevoked),
                          "api_keys_revoked": .int(erasure.apiKeysRevoked)])
            return erasure
        }
    }

    /// - Returns: the user's email. - Throws: `notFound` unless `userID` is a user of the tenant.
    @discardableResult
    static func requireUser(_ tx: Transaction, _ tenantID: UUID, _ userID: UUID) async throws -> String {
        let row = try await tx.query("SELECT email FROM principals WHERE tenant_id = $1 AND id = $2 AND kind = 'user'", [tenantID, userID]).first
        guard let email = try row?.optionalString("email") else { throw IdentityError.notFound("user \(userID.lowercasedString)") }
        return email
    }
}
