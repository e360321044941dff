public import struct Foundation.UUID
public import JarvisStore

/// Reading a tenant's audit log, under its row-level security.
public struct AuditEvents: Sendable {
    let app: Database

    public init(app: Database) { self.app = app }

    /// Newest first; reads `filter.limit + 1` so the caller knows whether more follow.
    public func list(tenantID: UUID, _ filter: AuditLog.Filter) async throws -> [AuditEvent] {
        try await app.withTenant(tenantID) { tx in try await AuditLog.list(tx, tenantID: tenantID, filter: filter) }
    }
}
