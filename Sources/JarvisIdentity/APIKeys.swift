public import Foundation
public import JarvisStore
public import JarvisAccess

/// API keys of one tenant: minted (shown once), listed, read, revoked; each call in its own
/// transaction under the tenant's row-level security, audited there.
public struct APIKeys: Sendable {
    let app: Database
    let store: APIKeyStore

    public init(app: Database, pepper: [UInt8]) {
        self.app = app
        store = APIKeyStore(pepper: pepper)
    }

    /// - Returns: the key's record and its text, which is never available again.
    public func create(
        for principalID: UUID, name: String, expiresAt: Date?, costCenter: String? = nil, in scope: TenantScope
    ) async throws -> (APIKey, String) {
        try await app.withTenant(scope.tenantID) { tx in
            try await store.create(
                tx, tenantID: scope.tenantID, principalID: principalID, name: name, expiresAt: expiresAt, costCenter: costCenter,
                caller: scope.caller, actor: scope.actor)
        }
    }

    /// Keys in id order after `after`, optionally of one principal; reads `limit + 1`.
    public func list(of principalID: UUID?, after: UUID?, limit: Int, in scope: TenantScope) async throws -> [APIKey] {
        try await app.withTenant(scope.tenantID) { tx in
            try await APIKeyStore.list(tx, tenantID: scope.tenantID, principalID: principalID, after: after, limit: limit)
        }
    }

    public func get(_ id: UUID, in scope: TenantScope) async throws -> APIKey {
        let key = try await app.withTenant(scope.tenantID) { tx in try await APIKeyStore.get(tx, tenantID: scope.tenantID, id: id) }
        guard let key else { throw IdentityError.notFound("api key \(id.lowercasedString)") }
        return key
    }

    /// Revokes; the key stops authenticating when this returns.
    public func revoke(_ id: UUID, in scope: TenantScope) async throws -> APIKey {
        try await app.withTenant(scope.tenantID) { tx in
            try await APIKeyStore.revoke(tx, tenantID: scope.tenantID, id: id, caller: scope.caller, actor: scope.actor)
        }
    }
}
