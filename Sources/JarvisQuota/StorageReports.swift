public import Foundation
public import JarvisAccess
public import JarvisStore
public import JarvisAudit
public import JarvisTenancy

/// Storage gauges reported by the services that own the storage, checked by the quota engine on
/// writes that would pass a limit.
public struct StorageReports: Sendable {
    let app: Database
    let engine: QuotaEngine
    let tenants: Tenants

    public init(app: Database, engine: QuotaEngine, tenants: Tenants) {
        self.app = app
        self.engine = engine
        self.tenants = tenants
    }

    /// Sets (`value`) or changes (`delta`) a gauge of the caller's tenant, or, for platform callers,
    /// of the tenant they name. Later checks on this instance see it at once; others at their next
    /// refresh of the tenant.
    public func report(
        tenantID given: UUID?, metric name: String, value: Int64?, delta: Int64?, caller: Caller, actor: AuditActor
    ) async throws -> StorageGauges.Gauge {
        let platformCaller = caller.tenantID == PlatformTenant.id
        let tenantID: UUID
        if let given {
            guard platformCaller || given == caller.tenantID else { throw QuotaError.invalid("tenant_id: a tenant's credential reports for its own tenant only") }
            tenantID = given
        } else {
            guard !platformCaller else { throw QuotaError.invalid("tenant_id: is required for platform callers") }
            tenantID = caller.tenantID
        }
        guard let metric = QuotaMetric(rawValue: name), metric.isGauge else {
            throw QuotaError.invalid("metric: must be storage_documents, storage_vectors or storage_bytes")
        }
        guard (value == nil) != (delta == nil) else { throw QuotaError.invalid("give either value or delta") }
        if platformCaller, try await tenants.live([tenantID]).isEmpty {
            throw QuotaError.invalid("tenant_id: no tenant \(tenantID.lowercasedString)")
        }
        let gauge = try await app.withTenant(tenantID) { tx in
            try await StorageGauges.report(tx, tenantID: tenantID, metric: metric, value: value, delta: delta, actor: actor)
        }
        engine.setGauge(tenantID: tenantID, metric: metric, value: gauge.value)
        return gauge
    }
}
