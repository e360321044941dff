/// Why an access decision or a role binding was refused.
public enum AccessError: Error, Sendable, Equatable {
    /// The caller lacks `permission`.
    case forbidden(Permission)
    /// The role does not exist.
    case unknownRole(String)
    /// Granting the role would give away permissions the caller does not hold.
    case escalation(role: String)
    /// `super_admin` goes only to platform principals, and only from a super admin.
    case superAdminReserved
    /// The binding or principal does not exist in this tenant.
    case notFound(String)
    /// The principal already holds the role.
    case alreadyBound(role: String)
    /// Inheritance would make a role reach itself; the loop, first role repeated at the end.
    case cycle([String])
    /// Built-in roles cannot be created, changed or deleted.
    case builtinRole(String)
    /// The role is bound to principals; deleting it needs `force`.
    case roleInUse(String, bindings: Int)
    /// A role or permission of that name exists.
    case duplicate(String)
    /// A permission that neither the platform nor the tenant defines.
    case unknownPermission(String)
    case invalid(field: String, reason: String)
    /// The target principal holds permissions the caller lacks (`PrincipalGuard`).
    case strongerPrincipal
}
