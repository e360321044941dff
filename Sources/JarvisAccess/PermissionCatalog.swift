/// Every permission the platform itself defines (built-in roles grant only these); tenants
/// register their own, which may not reuse these names.
public enum PermissionCatalog {
    public static let all: [Permission] = [
        "documents:read", "documents:write", "documents:delete",
        "chat:create", "chat:read",
        "workflow:create", "workflow:execute", "workflow:read",
        "tenant:read",
        "admin:user", "admin:key", "admin:role", "admin:quota", "admin:config",
        "audit:read", "privacy:admin",
        "platform:tenants",
        "check:invoke",
        "usage:read", "usage:write",
        "prompt:read", "prompt:write", "prompt:publish",
        "model:read", "model:write", "model:publish",
        "rollout:read", "rollout:write",
        "flag:read", "flag:write",
        "billing:read", "billing:export", "billing:admin", "budget:write",
    ]
}
