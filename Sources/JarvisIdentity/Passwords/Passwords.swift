public import Foundation
public import JarvisStore
public import JarvisAudit
public import JarvisAccess

/// Setting and changing users' passwords, each in its own transaction under the tenant's
/// row-level security, audited; the user's sessions end with the change.
public struct Passwords: Sendable {
    let app: Database
    let hasher: PasswordHasher

    public init(app: Database, hasher: PasswordHasher) {
        self.app = app
        self.hasher = hasher
    }

    /// An administrator sets (or resets) a user's password; whoever knows it may log in as the
    /// user, so the administrator must hold every permission the user holds.
    public func set(_ userID: UUID, to password: String, in scope: TenantScope) async throws {
        try await app.withTenant(scope.tenantID) { tx in
            try await set(tx, tenantID: scope.tenantID, userID: userID, password: password, caller: scope.caller, actor: scope.actor)
        }
    }

    /// A user changes their own password, proving the current one.
    public func change(current: String, to new: String, caller: Caller, actor: AuditActor) async throws {
        guard caller.kind == .user else { throw IdentityError.notAUser }
        try await app.withTenant(caller.tenantID) { tx in
            try await change(tx, tenantID: caller.tenantID, userID: caller.principalID, current: current, new: new, actor: actor)
        }
    }

    func set(_ tx: Transaction, tenantID: UUID, userID: UUID, password: String, caller: Caller, actor: AuditActor) async throws {
        guard let email = try await email(tx, tenantID: tenantID, userID: userID) else { throw IdentityError.notFound("user \(userID)") }
        try await PrincipalGuard.requireCovered(tx, tenantID: tenantID, principalID: userID, by: caller)
        try PasswordPolicy.check(password, email: email)
        try await store(tx, tenantID: tenantID, userID: userID, hash: try await hasher.hash(password))
        try await AuditLog.record(tx, tenantID: tenantID, actor: actor, action: "user.password_set", targetType: "user", targetID: userID.lowercasedString)
    }

    func change(_ tx: Transaction, tenantID: UUID, userID: UUID, current: String, new: String, actor: AuditActor) async throws {
        let row = try await tx.query(
            "SELECT email, password_hash FROM principals WHERE tenant_id = $1 AND id = $2 AND kind = 'user'", [tenantID, userID]).first
        guard let row else { throw IdentityError.notAUser }
        guard try await hasher.verify(current, encoded: try row.optionalString("password_hash")) else {
            throw IdentityError.invalid(field: "current_password", reason: "is not the current password")
        }
        try PasswordPolicy.check(new, email: try row.optionalString("email"), field: "new_password")
        try await store(tx, tenantID: tenantID, userID: userID, hash: try await hasher.hash(new))
        try await AuditLog.record(tx, tenantID: tenantID, actor: actor, action: "user.password_change", targetType: "user", targetID: userID.lowercasedString)
    }

    private func email(_ tx: Transaction, tenantID: UUID, userID: UUID) async throws -> String? {
        try await tx.query("SELECT email FROM principals WHERE tenant_id = $1 AND id = $2 AND kind = 'user'", [tenantID, userID])
            .first?.optionalString("email")
    }

    private func store(_ tx: Transaction, tenantID: UUID, userID: UUID, hash: String) async throws {
        try await tx.query(
            "UPDATE principals SET password_hash = $3, password_changed_at = now(), updated_at = now() WHERE tenant_id = $1 AND id = $2",
            [tenantID, userID, hash])
        try await RefreshTokenStore.revokeAll(tx, tenantID: tenantID, principalID: userID)
        // Tokens issued before the change stop working; cached answers for them must go too.
        tx.noteChange(tenantID)
    }
}
