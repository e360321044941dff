internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisAudit
internal import JarvisIdentity
internal import JarvisTenancy
internal import JarvisStore

// Response shapes. Keys become snake_case in `JSONCoding.encoder`; nil optionals are left out.

struct TenantBody: ResponseEncodable, Sendable {
    let id: String
    let slug: String
    let name: String
    let plan: String
    let status: String
    let createdAt: Date
    let updatedAt: Date

    init(_ t: Tenant) {
        id = t.id.lowercasedString
        slug = t.slug
        name = t.name
        plan = t.plan
        status = t.status.rawValue
        createdAt = t.createdAt
        updatedAt = t.updatedAt
    }
}

struct UserBody: ResponseEncodable, Sendable {
    let id: String
    let tenantId: String
    let email: String
    let displayName: String
    let status: String
    let createdAt: Date
    let updatedAt: Date

    init(_ p: Principal) {
        id = p.id.lowercasedString
        tenantId = p.tenantID.lowercasedString
        email = p.email ?? ""
        displayName = p.name
        status = p.status.rawValue
        createdAt = p.createdAt
        updatedAt = p.updatedAt
    }
}

struct ServiceAccountBody: ResponseEncodable, Sendable {
    let id: String
    let tenantId: String
    let name: String
    let description: String
    let status: String
    let createdAt: Date
    let updatedAt: Date

    init(_ p: Principal) {
        id = p.id.lowercasedString
        tenantId = p.tenantID.lowercasedString
        name = p.name
        description = p.description
        status = p.status.rawValue
        createdAt = p.createdAt
        updatedAt = p.updatedAt
    }
}

/// Users and service accounts answer in their own shapes from one controller.
enum PrincipalBody: ResponseEncodable, Sendable {
    case user(UserBody)
    case serviceAccount(ServiceAccountBody)

    init(_ p: Principal) {
        self = p.kind == .user ? .user(UserBody(p)) : .serviceAccount(ServiceAccountBody(p))
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .user(let body): try body.encode(to: encoder)
        case .serviceAccount(let body): try body.encode(to: encoder)
        }
    }
}

struct APIKeyBody: ResponseEncodable, Sendable {
    let id: String
    let tenantId: String
    let keyId: String
    let principalId: String
    let name: String
    let createdBy: String?
    let createdAt: Date
    let expiresAt: Date?
    let revokedAt: Date?
    let lastUsedAt: Date?
    /// The whole key: only in the response that created it.
    let key: String?

    init(_ k: APIKey, key: String? = nil) {
        id = k.id.lowercasedString
        tenantId = k.tenantID.lowercasedString
        keyId = k.keyID
        principalId = k.principalID.lowercasedString
        name = k.name
        createdBy = k.createdBy?.lowercasedString
        createdAt = k.createdAt
        expiresAt = k.expiresAt
        revokedAt = k.revokedAt
        lastUsedAt = k.lastUsedAt
        self.key = key
    }
}

struct RoleBody: ResponseEncodable, Sendable {
    let name: String
    let description: String
    let builtin: Bool
    let inherits: [String]
    /// Granted directly.
    let ownPermissions: [String]
    /// Own and inherited.
    let permissions: [String]

    init(_ role: RoleStore.Role) {
        name = role.name
        description = role.description
        builtin = role.builtin
        inherits = role.inherits
        ownPermissions = role.permissions
        permissions = role.effective
    }
}

struct RoleBindingBody: ResponseEncodable, Sendable {
    let id: String
    let tenantId: String
    let principalId: String
    let role: String
    let createdBy: String?
    let createdAt: Date

    init(_ b: RoleBinding) {
        id = b.id.lowercasedString
        tenantId = b.tenantID.lowercasedString
        principalId = b.principalID.lowercasedString
        role = b.role
        createdBy = b.createdBy?.lowercasedString
        createdAt = b.createdAt
    }
}

struct AuditEventBody: ResponseEncodable, Sendable {
    let id: String
    let tenantId: String
    let occurredAt: Date
    let actorId: String?
    let actorKind: String
    let action: String
    let targetType: String
    let targetId: String?
    let requestId: String?
    let clientIp: String?
    let outcome: String
    let details: [String: AuditValue]

    init(_ e: AuditEvent) {
        id = e.id.lowercasedString
        tenantId = e.tenantID.lowercasedString
        occurredAt = e.occurredAt
        actorId = e.actorID?.lowercasedString
        actorKind = e.actorKind.rawValue
        action = e.action
        targetType = e.targetType
        targetId = e.targetID
        requestId = e.requestID
        clientIp = e.clientIP
        outcome = e.outcome.rawValue
        details = e.details
    }
}

struct CallerBody: ResponseEncodable, Sendable {
    let tenantId: String
    let tenantSlug: String
    let principalId: String
    let kind: String
    let roles: [String]
    let permissions: [String]
    let superAdmin: Bool

    init(_ c: Caller) {
        tenantId = c.tenantID.lowercasedString
        tenantSlug = c.tenantSlug
        principalId = c.principalID.lowercasedString
        kind = c.kind.rawValue
        roles = c.roles.sorted()
        permissions = c.effectivePermissionNames
        superAdmin = c.isSuperAdmin
    }
}
