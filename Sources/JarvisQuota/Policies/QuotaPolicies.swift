public import Foundation
public import JarvisStore
public import JarvisAccess
internal import JarvisIdentity
internal import JarvisTenancy

/// Quota policies of one tenant, each call in its own transaction under the tenant's row-level
/// security: changes audited and announced to every instance's quota engine; standing and
/// warnings read back. A limit can lock its subject out, so a policy naming a principal or key
/// needs a caller at least as strong as that principal.
public struct QuotaPolicies: Sendable {
    let app: Database
    let engine: QuotaEngine

    public init(app: Database, engine: QuotaEngine) {
        self.app = app
        self.engine = engine
    }

    public func list(in scope: TenantScope) async throws -> [QuotaPolicy] {
        try await app.withTenant(scope.tenantID) { tx in try await QuotaPolicyStore.list(tx, tenantID: scope.tenantID) }
    }

    public func get(_ id: UUID, in scope: TenantScope) async throws -> QuotaPolicy {
        let policy = try await app.withTenant(scope.tenantID) { tx in try await QuotaPolicyStore.get(tx, tenantID: scope.tenantID, id: id) }
        guard let policy else { throw QuotaError.notFound("quota policy \(id.lowercasedString)") }
        return policy
    }

    public func create(_ definition: QuotaPolicyStore.Definition, in scope: TenantScope) async throws -> QuotaPolicy {
        try await app.withTenant(scope.tenantID) { tx in
            try await Self.requireSubject(tx, tenantID: scope.tenantID, definition.subject, caller: scope.caller)
            return try await QuotaPolicyStore.create(tx, tenantID: scope.tenantID, definition, actor: scope.actor)
        }
    }

    /// - Parameter burst: `.some(nil)` clears it.
    public func update(_ id: UUID, limit: Int64?, burst: Int64??, warnAtPercent: Int?, in scope: TenantScope) async throws -> QuotaPolicy {
        try await app.withTenant(scope.tenantID) { tx in
            let policy = try await QuotaPolicyStore.update(
                tx, tenantID: scope.tenantID, id: id, limit: limit, burst: burst, warnAtPercent: warnAtPercent, actor: scope.actor)
            try await Self.requireSubject(tx, tenantID: scope.tenantID, policy.subject, caller: scope.caller)
            return policy
        }
    }

    public func delete(_ id: UUID, in scope: TenantScope) async throws {
        try await app.withTenant(scope.tenantID) { tx in
            try await QuotaPolicyStore.delete(tx, tenantID: scope.tenantID, id: id, actor: scope.actor)
        }
    }

    /// Every limit that applies to the tenant with what is used, reserved and left.
    public func status(in scope: TenantScope) async throws -> [QuotaStatus] {
        try await engine.status(tenantID: scope.tenantID)
    }

    /// The warnings raised for the tenant's limits, newest first (the last 200).
    public func notifications(in scope: TenantScope) async throws -> [QuotaNotification] {
        try await app.withTenant(scope.tenantID) { tx in
            try await tx.query(
                """
                SELECT id, metric, subject_kind, subject_id, window_key, threshold_percent, used, "limit", created_at
                FROM quota_notifications WHERE tenant_id = $1 ORDER BY id DESC LIMIT 200
                """, [scope.tenantID]
            ).all.map { row in
                QuotaNotification(
                    id: try row.uuid("id"), metric: try row.string("metric"), subjectKind: try row.string("subject_kind"),
                    subjectID: try row.optionalUUID("subject_id"), window: try row.string("window_key"),
                    thresholdPercent: try row.int("threshold_percent"), used: Int64(try row.int("used")), limit: Int64(try row.int("limit")),
                    createdAt: try row.date("created_at"))
            }
        }
    }

    /// A principal or key policy must name one of the tenant's own, and one the caller may limit.
    static func requireSubject(_ tx: Transaction, tenantID: UUID, _ subject: QuotaSubject, caller: Caller) async throws {
        switch subject {
        case .tenant: return
        case .principal(let id):
            guard try await PrincipalStore.exists(tx, tenantID: tenantID, id: id) else {
                throw QuotaError.invalid("subject_id: no principal \(id.lowercasedString) in this tenant")
            }
            try await PrincipalGuard.requireCovered(tx, tenantID: tenantID, principalID: id, by: caller)
        case .apiKey(let id):
            guard let owner = try await APIKeyStore.owner(tx, tenantID: tenantID, id: id) else {
                throw QuotaError.invalid("subject_id: no API key \(id.lowercasedString) in this tenant")
            }
            try await PrincipalGuard.requireCovered(tx, tenantID: tenantID, principalID: owner, by: caller)
        case .budget: throw QuotaError.invalid("subject_kind: must be tenant, principal or api_key")
        }
    }
}

/// A warning raised for a limit, as recorded.
public struct QuotaNotification: Sendable {
    public let id: UUID
    public let metric: String
    public let subjectKind: String
    public let subjectID: UUID?
    public let window: String
    public let thresholdPercent: Int
    public let used: Int64
    public let limit: Int64
    public let createdAt: Date
}
