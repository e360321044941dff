internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisAudit
internal import JarvisIdentity
internal import JarvisQuota
internal import JarvisReleases
internal import JarvisBilling
internal import JarvisStore
internal import JarvisTenancy

/// The domain services the controllers call, built once in `buildApplication`. A controller
/// resolves who may act where (`scope`), decodes, calls one of these, and encodes.
struct AppServices: Sendable {
    let tenants: Tenants
    let principals: Principals
    let apiKeys: APIKeys
    let passwords: Passwords
    let roles: Roles
    let audit: AuditEvents
    let auditVerifier: AuditVerifier
    let auditKeys: AuditKeys
    let auditExport: AuditExport
    let complianceReports: ComplianceReport.Builder
    let quotaPolicies: QuotaPolicies
    let usage: UsageIngest
    let usageReports: UsageReports
    let storage: StorageReports
    let leases: Leases
    let webhooks: Webhooks
    let identity: IdentityServices
    let authenticator: Authenticator
    let quotas: QuotaEngine
    /// Refused permissions become security events (asynchronous, never on the request's path).
    let securityEvents: SecurityEventWriter
    /// The hot path's decisions and the admin API's reads, as access events.
    let accessTally: AccessTally
    let readEvents: SecurityEventWriter
    let releases: ReleaseServices
    let prices: PriceBook
    let exports: UsageExport
    let statements: Statements
    let budgets: Budgets
    /// Export and erasure of a user's personal data.
    let dataSubjects: DataSubjects

    /// Resolves `{tenant}` (id or slug) for the caller and checks `permission` there.
    /// Another tenant is a 404 for everyone but those the permission reaches every tenant for (super
    /// admins; platform finance for its figures): existence does not leak.
    func scope(_ context: JarvisRequestContext, permission: Permission) async throws -> TenantScope {
        let caller = try context.requireCaller()
        let reference = try context.parameters.require("tenant")
        let tenantID: UUID
        if caller.isSuperAdmin || caller.reachesEveryTenant(with: permission) {
            guard let tenant = try await tenants.get(reference) else { throw Problem.notFound("no tenant '\(reference.prefix(64))'") }
            tenantID = tenant.id
        } else if reference == caller.tenantSlug || UUID(uuidString: reference) == caller.tenantID {
            tenantID = caller.tenantID
        } else {
            throw Problem.notFound("no tenant '\(reference.prefix(64))'")
        }
        return try authorised(context, caller: caller, tenantID: tenantID, permission: permission)
    }

    /// The caller's own tenant, for endpoints without `{tenant}` (usage, storage, leases), with
    /// `permission` checked there (super admins hold every permission).
    func ownScope(_ context: JarvisRequestContext, permission: Permission) throws -> TenantScope {
        let caller = try context.requireCaller()
        return try authorised(context, caller: caller, tenantID: caller.tenantID, permission: permission)
    }

    private func authorised(_ context: JarvisRequestContext, caller: Caller, tenantID: UUID, permission: Permission) throws -> TenantScope {
        guard caller.may(permission, in: tenantID) else {
            securityEvents.record(
                tenantID: caller.tenantID, actor: context.auditActor, action: "access.denied", targetType: "permission",
                targetID: permission.name, outcome: .denied, details: ["tenant_id": .string(tenantID.lowercasedString)])
            throw AccessError.forbidden(permission)
        }
        return TenantScope(tenantID: tenantID, caller: caller, actor: context.auditActor)
    }

    /// Super admins only (the platform API), with no narrowing scope on their token.
    func requireSuperAdmin(_ context: JarvisRequestContext, permission: Permission) throws -> Caller {
        let caller = try context.requireCaller()
        guard caller.isSuperAdmin, caller.scope == nil || caller.scope?.allows(permission) == true else { throw AccessError.forbidden(permission) }
        return caller
    }
}

/// The identity side: tokens, signing keys, logins.
struct IdentityServices: Sendable {
    let configuration: IdentityConfiguration
    let keys: SigningKeyStore
    let ring: SigningKeyRing
    let login: LoginService
    let clientCredentials: ClientCredentials
}

extension JarvisRequestContext {
    func requireCaller() throws -> Caller {
        guard let caller else { throw AuthenticationError.missing }
        return caller
    }

    var auditActor: AuditActor {
        let kind: AuditActor.Kind = caller.map { $0.kind == .user ? .user : .serviceAccount } ?? .system
        return AuditActor(id: caller?.principalID, kind: kind, requestID: requestID, clientIP: remoteAddress?.ipAddress)
    }

    /// A path parameter that must be a UUID.
    func uuidParameter(_ name: String) throws -> UUID {
        let text = try parameters.require(name)
        guard let id = UUID(uuidString: text) else { throw Problem.invalid("\(name): must be a UUID") }
        return id
    }
}

/// The releases module's services: the registry (prompts, models), rollouts, flags, and the
/// in-memory resolver with its change stream.
struct ReleaseServices: Sendable {
    let prompts: Prompts
    let models: Models
    let rollouts: Rollouts
    let flags: Flags
    let resolver: Resolver
    let changes: ReleaseChanges
}
