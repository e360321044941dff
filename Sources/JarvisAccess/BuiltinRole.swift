/// The roles every tenant has. Their hierarchy: super_admin > tenant_admin > developer, operator > viewer,
/// and tenant_admin > finance (a tenant's figures and exports, nothing else).
public enum BuiltinRole: String, CaseIterable, Sendable, Codable {
    case superAdmin = "super_admin"
    case tenantAdmin = "tenant_admin"
    case developer
    case `operator`
    case viewer
    case finance

    public var name: String { rawValue }

    public var summary: String {
        switch self {
        case .superAdmin: return "Platform operator: every permission in every tenant. Platform principals only."
        case .tenantAdmin: return "Manages a tenant's users, service accounts, keys, roles, quotas and configuration."
        case .developer: return "Builds on the platform: documents, chat, workflows; drafts prompts, models and flags."
        case .operator: return "Runs and watches workflows; publishes versions, moves labels and runs rollouts."
        case .viewer: return "Reads a tenant's documents, chats, workflows, prompts, models, rollouts and flags."
        case .finance:
            return "Reads a tenant's usage, cost, budgets and statements and exports them. Bound to a platform principal: every tenant's."
        }
    }

    /// Roles whose permissions this one inherits.
    public var inherits: [BuiltinRole] {
        switch self {
        case .superAdmin: return [.tenantAdmin]
        case .tenantAdmin: return [.developer, .operator, .finance]
        case .developer, .operator: return [.viewer]
        case .viewer, .finance: return []
        }
    }

    /// Permissions granted directly, before inheritance.
    public var ownPermissions: [Permission] {
        switch self {
        case .superAdmin: return ["*"]
        case .tenantAdmin:
            return [
                "documents:delete", "admin:user", "admin:key", "admin:role", "admin:quota", "admin:config", "audit:read", "check:invoke",
                "usage:write", "budget:write", "privacy:admin",
            ]
        case .developer:
            // Developers write drafts (prompts, models, flags); operators ship them (publish, labels, rollouts).
            return ["documents:write", "chat:create", "workflow:create", "workflow:execute", "prompt:write", "model:write", "flag:write"]
        case .operator: return ["workflow:execute", "prompt:publish", "model:publish", "rollout:write"]
        case .viewer:
            return ["tenant:read", "documents:read", "chat:read", "workflow:read", "prompt:read", "model:read", "rollout:read", "flag:read"]
        case .finance: return ["tenant:read", "usage:read", "billing:read", "billing:export"]
        }
    }

    /// Own and inherited permissions.
    public var permissions: PermissionSet {
        var set = PermissionSet(ownPermissions)
        for parent in inherits { set.formUnion(parent.permissions) }
        return set
    }
}
