/// Why a tenant, user or service-account operation was refused.
public enum TenancyError: Error, Sendable, Equatable {
    case notFound(String)
    /// A unique value is taken (slug, email, service-account name).
    case conflict(String)
    /// A field's value is not acceptable; `field` is the JSON name.
    case invalid(field: String, reason: String)
    /// The platform tenant cannot be suspended, deleted or renamed away.
    case platformTenantProtected
}
