public import JarvisStore
internal import JarvisAudit
internal import JarvisAccess
internal import struct Foundation.UUID

/// Creates the first platform administrator: a service account in the platform tenant, bound
/// to `super_admin`, with one API key. Does nothing when a super admin already exists.
public enum Bootstrap {
    /// - Returns: the new key's text (shown once), or nil when the platform already has a super admin.
    public static func run(platform: Database, pepper: [UInt8], name: String = "platform-admin") async throws -> String? {
        try await platform.withTransaction { tx in
            // Two bootstraps racing would otherwise both see no admin.
            try await tx.query("SELECT pg_advisory_xact_lock($1)", [0x6A62_6F6F_7473])
            let existing = try await tx.query(
                "SELECT 1 FROM role_bindings WHERE tenant_id = $1 AND role = 'super_admin' LIMIT 1", [PlatformTenant.id])
            guard existing.isEmpty else { return nil }
            return try await createSuperAdmin(tx, pepper: pepper, name: name)
        }
    }

    /// Creates a super-admin service account and key unconditionally (tests, and a second operator).
    /// - Returns: the key text.
    public static func createSuperAdmin(_ tx: Transaction, pepper: [UInt8], name: String) async throws -> String {
        let actor = AuditActor.system
        let id = UUIDv7.make()
        try await tx.query(
            "INSERT INTO principals (tenant_id, id, kind, name, description) VALUES ($1, $2, 'service_account', $3, $4)",
            [PlatformTenant.id, id, name, "Created by jarvis bootstrap"])
        try await AuditLog.record(
            tx, tenantID: PlatformTenant.id, actor: actor, action: "service_account.create", targetType: "service_account",
            targetID: id.lowercasedString, details: ["name": .string(name)])
        let system = Caller(
            tenantID: PlatformTenant.id, tenantSlug: PlatformTenant.slug, principalID: id, kind: .serviceAccount,
            roles: [BuiltinRole.superAdmin.name], apiKeyID: nil)
        _ = try await RoleBindings.create(
            tx, tenantID: PlatformTenant.id, principalID: id, role: BuiltinRole.superAdmin.name, caller: system, actor: actor)
        let (_, key) = try await APIKeyStore(pepper: pepper).create(
            tx, tenantID: PlatformTenant.id, principalID: id, name: "bootstrap", expiresAt: nil, caller: system, actor: actor)
        return key
    }
}
