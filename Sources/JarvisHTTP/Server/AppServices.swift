internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisAudit
internal import JarvisIdentity
internal import JarvisStore
internal import JarvisTenancy

/// What the controllers share: the two pools and the stores built on them.
struct AppServices: Sendable {
    /// `jarvis_app`: tenant-scoped work under row-level security.
    let app: Database
    /// `jarvis_platform`: super-admin endpoints and credential lookups.
    let platform: Database
    let tenants: TenantStore
    /// Whether principals named in reported data are the tenant's own.
    let principals: PrincipalDirectory
    let apiKeys: APIKeyStore
    /// Refused permissions become security events (asynchronous, never on the request's path).
    let securityEvents: SecurityEventWriter

    /// A tenant-scoped request, resolved and authorised.
    struct Scope {
        let tenantID: UUID
        let caller: Caller
        let actor: AuditActor
    }

    /// Resolves `{tenant}` (id or slug) for the caller and checks `permission` there.
    /// Another tenant is a 404 for everyone but super admins: existence does not leak.
    func scope(_ context: JarvisRequestContext, permission: Permission) async throws -> Scope {
        let caller = try context.requireCaller()
        let reference = try context.parameters.require("tenant")
        let tenantID: UUID
        if caller.isSuperAdmin {
            guard let tenant = try await tenants.get(reference) else { throw Problem.notFound("no tenant '\(reference.prefix(64))'") }
            tenantID = tenant.id
        } else if reference == caller.tenantSlug || UUID(uuidString: reference) == caller.tenantID {
            tenantID = caller.tenantID
        } else {
            throw Problem.notFound("no tenant '\(reference.prefix(64))'")
        }
        guard caller.may(permission, in: tenantID) else {
            securityEvents.record(
                tenantID: caller.tenantID, actor: context.auditActor, action: "access.denied", targetType: "permission",
                targetID: permission.name, outcome: .denied, details: ["tenant_id": .string(tenantID.lowercasedString)])
            throw AccessError.forbidden(permission)
        }
        return Scope(tenantID: tenantID, caller: caller, actor: context.auditActor)
    }
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
