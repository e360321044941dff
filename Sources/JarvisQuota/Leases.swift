public import Foundation
public import JarvisAccess
public import JarvisStore
internal import JarvisAudit

/// Concurrency slots (`concurrent_workflows`) of the caller's tenant, held by a workflow run until
/// released or until its heartbeats stop; each call in its own transaction, audited.
public struct Leases: Sendable {
    let app: Database
    let warnings: QuotaWarnings

    public init(app: Database, warnings: QuotaWarnings) {
        self.app = app
        self.warnings = warnings
    }

    /// - Throws: `QuotaDenial` naming the limit that is full.
    public func acquire(metric: String, holder: String, ttlSeconds: Int, in scope: TenantScope) async throws -> Lease {
        guard metric == QuotaMetric.concurrentWorkflows.rawValue else { throw QuotaError.invalid("metric: must be concurrent_workflows") }
        guard !holder.isEmpty else { throw QuotaError.invalid("holder: must not be empty") }
        guard (1...3600).contains(ttlSeconds) else { throw QuotaError.invalid("ttl_seconds: must be from 1 to 3600") }
        let (lease, crossed) = try await app.withTenant(scope.tenantID) { tx in
            try await LeaseStore.acquire(
                tx, tenantID: scope.tenantID, principalID: scope.caller.principalID, apiKeyID: scope.caller.apiKeyID, holder: holder,
                ttlSeconds: ttlSeconds, actor: scope.actor)
        }
        crossed.forEach(warnings.note)
        return lease
    }

    /// Extends a live lease by its TTL.
    public func heartbeat(_ id: UUID, in scope: TenantScope) async throws -> Lease {
        try await app.withTenant(scope.tenantID) { tx in try await LeaseStore.heartbeat(tx, tenantID: scope.tenantID, id: id) }
    }

    public func release(_ id: UUID, in scope: TenantScope) async throws {
        try await app.withTenant(scope.tenantID) { tx in try await LeaseStore.release(tx, tenantID: scope.tenantID, id: id, actor: scope.actor) }
    }
}
