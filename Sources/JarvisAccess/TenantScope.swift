public import struct Foundation.UUID
public import JarvisAudit

/// A tenant-scoped request, resolved and authorised: the tenant it acts on, who acts, and how the
/// audit log names them. Services take one and own everything behind it: the transaction (under
/// the tenant's row-level security), the SQL, the audit event and the change notice.
public struct TenantScope: Sendable {
    public let tenantID: UUID
    public let caller: Caller
    public let actor: AuditActor

    public init(tenantID: UUID, caller: Caller, actor: AuditActor) {
        self.tenantID = tenantID
        self.caller = caller
        self.actor = actor
    }
}
