/// Every permission the platform itself defines; tenants add their own in a later version.
public enum PermissionCatalog {
    public static let all: [Permission] = [
        "documents:read", "documents:write", "documents:delete",
        "chat:create", "chat:read",
        "workflow:create", "workflow:execute", "workflow:read",
        "tenant:read",
        "admin:user", "admin:key", "admin:role", "admin:quota", "admin:config",
        "audit:read",
        "platform:tenants",
        "check:invoke",
    ]
}
