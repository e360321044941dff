public import Foundation
public import JarvisStore
public import JarvisAudit

/// A slot of a concurrency limit, held until released or until heartbeats stop.
public struct Lease: Sendable, Equatable {
    public let id: UUID
    public let tenantID: UUID
    public let metric: String
    public let principalID: UUID
    public let holder: String
    public let ttlSeconds: Int
    public let createdAt: Date
    public let expiresAt: Date
}

/// Concurrency leases in PostgreSQL, inside a tenant transaction. Acquiring counts the live
/// leases of every applicable limit under a transaction-scoped advisory lock of the tenant, so
/// two instances acquiring at once are serialised and the limit is never exceeded; an expired
/// lease simply stops counting (and is deleted by later acquires).
public enum LeaseStore {
    static let metric = QuotaMetric.concurrentWorkflows.rawValue
    static let columns = "id, tenant_id, metric, principal_id, holder, ttl_seconds, created_at, expires_at"

    static func decode(_ row: Row) throws -> Lease {
        Lease(
            id: try row.uuid("id"), tenantID: try row.uuid("tenant_id"), metric: try row.string("metric"),
            principalID: try row.uuid("principal_id"), holder: try row.string("holder"), ttlSeconds: try row.int("ttl_seconds"),
            createdAt: try row.date("created_at"), expiresAt: try row.date("expires_at"))
    }

    /// - Returns: the lease, and the limits it took to or past their warning share.
    /// - Throws: `QuotaDenial` naming the limit that is full.
    public static func acquire(
        _ tx: Transaction, tenantID: UUID, principalID: UUID, apiKeyID: UUID?, holder: String, ttlSeconds: Int, actor: AuditActor
    ) async throws -> (Lease, warnings: [QuotaWarnings.Warning]) {
        try await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", ["lease:" + tenantID.lowercasedString])
        try await tx.query("DELETE FROM leases WHERE tenant_id = $1 AND expires_at < now() - interval '1 hour'", [tenantID])
        // Every applicable limit with the live leases it counts: tenant-wide, the principal's, the key's.
        let limits = try await tx.query(
            """
            SELECT p."limit", p.warn_at_percent, p.subject_kind, p.subject_id,
                   (SELECT count(*) FROM leases l WHERE l.tenant_id = p.tenant_id AND l.metric = p.metric AND l.expires_at > now()
                      AND (p.subject_kind = 'tenant' OR (p.subject_kind = 'principal' AND l.principal_id = p.subject_id)
                           OR (p.subject_kind = 'api_key' AND l.api_key_id = p.subject_id))) AS live
            FROM quota_policies p
            WHERE p.tenant_id = $1 AND p.metric = $2
              AND (p.subject_kind = 'tenant' OR (p.subject_kind = 'principal' AND p.subject_id = $3)
                   OR (p.subject_kind = 'api_key' AND p.subject_id = $4))
            """, [tenantID, metric, principalID, apiKeyID])
        var warnings: [QuotaWarnings.Warning] = []
        for row in limits.all {
            let limit = Int64(try row.int("limit"))
            let live = Int64(try row.int("live"))
            if live >= limit {
                throw QuotaDenial(metric: .concurrentWorkflows, limit: limit, retryAfter: 1, remaining: 0, window: 0)
            }
            let percent = try row.int("warn_at_percent")
            if (live + 1) * 100 >= limit * Int64(percent),
                let subject = QuotaSubject(kind: QuotaSubject.Kind(rawValue: try row.string("subject_kind")) ?? .tenant, id: try row.optionalUUID("subject_id")) {
                warnings.append(.init(
                    tenantID: tenantID, metric: .concurrentWorkflows, subject: subject,
                    windowKey: TenantQuota.windowKey(.requests, unixSeconds: QuotaEngine.unixSeconds()).prefix(13).description,
                    percent: percent, used: live + 1, limit: limit))
            }
        }
        let rows = try await tx.query(
            """
            INSERT INTO leases (tenant_id, id, metric, principal_id, api_key_id, holder, ttl_seconds, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $7::integer * interval '1 second')
            RETURNING \(columns)
            """, [tenantID, UUIDv7.make(), metric, principalID, apiKeyID, holder, ttlSeconds])
        guard let row = rows.first else { throw StoreError.decoding("insert returned no row") }
        let lease = try decode(row)
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "lease.acquire", targetType: "lease", targetID: lease.id.lowercasedString,
            details: ["holder": .string(holder), "ttl_seconds": .int(ttlSeconds)])
        return (lease, warnings)
    }

    /// Extends a live lease by its TTL. - Throws: `QuotaError.notFound` when it expired or was released.
    public static func heartbeat(_ tx: Transaction, tenantID: UUID, id: UUID) async throws -> Lease {
        let rows = try await tx.query(
            """
            UPDATE leases SET expires_at = now() + ttl_seconds * interval '1 second'
            WHERE tenant_id = $1 AND id = $2 AND expires_at > now()
            RETURNING \(columns)
            """, [tenantID, id])
        guard let row = rows.first else { throw QuotaError.notFound("live lease \(id.lowercasedString)") }
        return try decode(row)
    }

    public static func release(_ tx: Transaction, tenantID: UUID, id: UUID, actor: AuditActor) async throws {
        let rows = try await tx.query("DELETE FROM leases WHERE tenant_id = $1 AND id = $2 AND expires_at > now() RETURNING holder", [tenantID, id])
        guard let row = rows.first else { throw QuotaError.notFound("live lease \(id.lowercasedString)") }
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "lease.release", targetType: "lease", targetID: id.lowercasedString,
            details: ["holder": .string(try row.string("holder"))])
    }

    /// Live leases per limit subject, for the status endpoint.
    static func live(_ platform: Database, tenantID: UUID) async throws -> (tenant: Int64, principals: [UUID: Int64], keys: [UUID: Int64]) {
        let rows = try await platform.query(
            "SELECT principal_id, api_key_id, count(*) AS live FROM leases WHERE tenant_id = $1 AND expires_at > now() GROUP BY 1, 2",
            [tenantID], idempotent: true)
        var result: (tenant: Int64, principals: [UUID: Int64], keys: [UUID: Int64]) = (0, [:], [:])
        for row in rows.all {
            let live = Int64(try row.int("live"))
            result.tenant += live
            result.principals[try row.uuid("principal_id"), default: 0] += live
            if let key = try row.optionalUUID("api_key_id") { result.keys[key, default: 0] += live }
        }
        return result
    }
}
