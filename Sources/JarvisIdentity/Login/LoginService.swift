internal import Foundation
public import JarvisStore
public import JarvisAudit
internal import JarvisAccess
internal import JarvisTenancy

/// Password login: one answer and comparable timing for a wrong tenant, email or password;
/// per-account exponential back-off and per-address lockout; security events for failures and
/// lockouts; weaker stored hashes upgraded on success.
public struct LoginService: Sendable {
    let app: Database
    let platform: Database
    let hasher: PasswordHasher
    let issuer: TokenIssuer
    let refreshTokens: RefreshTokenStore
    let addresses: AddressThrottle
    let events: SecurityEventWriter
    let configuration: IdentityConfiguration

    public init(
        app: Database, platform: Database, hasher: PasswordHasher, issuer: TokenIssuer, refreshTokens: RefreshTokenStore,
        addresses: AddressThrottle, events: SecurityEventWriter, configuration: IdentityConfiguration
    ) {
        self.app = app
        self.platform = platform
        self.hasher = hasher
        self.issuer = issuer
        self.refreshTokens = refreshTokens
        self.addresses = addresses
        self.events = events
        self.configuration = configuration
    }

    /// How long a failure counts: the next one after a quiet day starts the count again.
    static let failureMemorySeconds = 86_400

    /// Forgets failures that decide nothing any more (the count would start again, no lockout
    /// holds), so made-up addresses tried once do not stay in the table for good.
    public static func failureExpiry(platform: Database) -> ExpirySweep {
        ExpirySweep(
            table: "login_failures", timeColumn: "last_failure_at", keep: .seconds(failureMemorySeconds),
            also: "COALESCE(locked_until, '-infinity') <= now()", platform: platform)
    }

    /// A new session: an access token and a refresh token.
    public struct Session: Sendable {
        public let accessToken: String
        public let expiresIn: Int
        public let refreshToken: String
    }

    public func login(tenant reference: String, email: String, password: String, actor: AuditActor) async throws -> Session {
        if let wait = addresses.retryAfter(actor.clientIP) { throw IdentityError.loginLocked(retryAfter: wait) }
        let emailKey = email.lowercased()
        guard let tenant = try await Tenants(platform: platform).get(reference) else {
            // No such tenant: the same work and the same answer as a wrong password.
            _ = try await hasher.verify(password, encoded: nil)
            addresses.fail(actor.clientIP)
            throw IdentityError.invalidCredentials
        }
        if let wait = try await lockedFor(tenantID: tenant.id, emailKey: emailKey) {
            throw IdentityError.loginLocked(retryAfter: wait)
        }
        let account = try await app.withTenant(tenant.id) { tx in
            try await tx.query(
                """
                SELECT id, email, password_hash, status FROM principals
                WHERE tenant_id = $1 AND kind = 'user' AND lower(email) = $2
                """, [tenant.id, emailKey]).first
        }
        let stored = try account?.optionalString("password_hash")
        let matches = try await hasher.verify(password, encoded: stored)
        guard matches, let account, try account.string("status") == "active" else {
            try await recordFailure(tenantID: tenant.id, emailKey: emailKey, principalID: try account?.uuid("id"), actor: actor)
            throw IdentityError.invalidCredentials
        }
        guard tenant.status == .active else { throw AuthenticationError.tenantSuspended }

        let principalID = try account.uuid("id")
        addresses.succeed(actor.clientIP)
        var upgraded: String?
        if let stored, hasher.needsUpgrade(stored) { upgraded = try await hasher.hash(password) }
        let loginActor = AuditActor(id: principalID, kind: .user, requestID: actor.requestID, clientIP: actor.clientIP)
        let (refresh, roles) = try await app.withTenant(tenant.id) { tx in
            try await tx.query("DELETE FROM login_failures WHERE tenant_id = $1 AND email_key = $2", [tenant.id, emailKey])
            if let upgraded {
                try await tx.query(
                    "UPDATE principals SET password_hash = $3 WHERE tenant_id = $1 AND id = $2", [tenant.id, principalID, upgraded])
            }
            let refresh = try await refreshTokens.issue(tx, tenantID: tenant.id, principalID: principalID, familyID: nil)
            let roles = try await Roles.roles(tx, tenantID: tenant.id, principalID: principalID)
            try await AuditLog.record(
                tx, tenantID: tenant.id, actor: loginActor, action: "auth.login", targetType: "user",
                targetID: principalID.lowercasedString, details: ["password_rehashed": .bool(upgraded != nil)])
            return (refresh, roles)
        }
        let access = try await issuer.issue(subject: principalID, tenantID: tenant.id, kind: .user, roles: roles)
        return Session(accessToken: access.token, expiresIn: access.expiresIn, refreshToken: refresh)
    }

    /// Trades a refresh token for a new session; a reused token revokes its family.
    public func refresh(_ token: String, actor: AuditActor) async throws -> Session {
        enum Result: Sendable { case issued(String, RefreshTokenStore.Redeemed, [String]), reused(RefreshTokenStore.Redeemed) }
        let result: Result = try await platform.withTransaction { tx in
            switch try await refreshTokens.redeem(tx, token) {
            case .reused(let owner):
                return .reused(owner)
            case .redeemed(let owner):
                let live = try await tx.query(
                    """
                    SELECT p.status = 'active' AND t.status = 'active' AND t.deleted_at IS NULL AS ok
                    FROM principals p JOIN tenants t ON t.id = p.tenant_id WHERE p.tenant_id = $1 AND p.id = $2
                    """, [owner.tenantID, owner.principalID])
                guard try live.first?.bool("ok") == true else { throw IdentityError.invalidRefreshToken }
                let next = try await refreshTokens.issue(tx, tenantID: owner.tenantID, principalID: owner.principalID, familyID: owner.familyID)
                let roles = try await Roles.roles(tx, tenantID: owner.tenantID, principalID: owner.principalID)
                try await AuditLog.record(
                    tx, tenantID: owner.tenantID, actor: AuditActor(id: owner.principalID, kind: .user, requestID: actor.requestID, clientIP: actor.clientIP),
                    action: "auth.refresh", targetType: "user", targetID: owner.principalID.lowercasedString)
                return .issued(next, owner, roles)
            }
        }
        switch result {
        case .reused(let owner):
            events.record(
                tenantID: owner.tenantID, actor: actor, action: "auth.refresh_reuse", targetType: "user",
                targetID: owner.principalID.lowercasedString, outcome: .denied,
                details: ["family_id": .string(owner.familyID.lowercasedString)])
            throw IdentityError.invalidRefreshToken
        case .issued(let next, let owner, let roles):
            let access = try await issuer.issue(subject: owner.principalID, tenantID: owner.tenantID, kind: .user, roles: roles)
            return Session(accessToken: access.token, expiresIn: access.expiresIn, refreshToken: next)
        }
    }

    /// Revokes the refresh token's family. Unknown tokens succeed silently (nothing to reveal).
    public func logout(_ token: String, actor: AuditActor) async throws {
        try await platform.withTransaction { tx in
            guard let owner = try await refreshTokens.revokeFamily(tx, of: token) else { return }
            try await AuditLog.record(
                tx, tenantID: owner.tenantID, actor: AuditActor(id: owner.principalID, kind: .user, requestID: actor.requestID, clientIP: actor.clientIP),
                action: "auth.logout", targetType: "user", targetID: owner.principalID.lowercasedString)
        }
    }

    private func lockedFor(tenantID: UUID, emailKey: String) async throws -> Int? {
        let rows = try await app.withTenant(tenantID) { tx in
            try await tx.query(
                """
                SELECT ceil(extract(epoch FROM locked_until - now()))::int AS wait FROM login_failures
                WHERE tenant_id = $1 AND email_key = $2 AND locked_until > now()
                """, [tenantID, emailKey])
        }
        return try rows.first?.int("wait")
    }

    /// Counts a failure for the account (existing or not) and the address; past `maxFailures` the
    /// account is locked for `lockoutSeconds × 2^(failures − maxFailures)`, capped at `maxLockout`.
    private func recordFailure(tenantID: UUID, emailKey: String, principalID: UUID?, actor: AuditActor) async throws {
        let lockedAddress = addresses.fail(actor.clientIP)
        let row = try await app.withTenant(tenantID) { tx in
            try await tx.query(
                """
                INSERT INTO login_failures AS f (tenant_id, email_key, failures, last_failure_at)
                VALUES ($1, $2, 1, now())
                ON CONFLICT (tenant_id, email_key) DO UPDATE SET
                    failures = CASE WHEN f.last_failure_at < now() - make_interval(secs => $3) THEN 1 ELSE f.failures + 1 END,
                    last_failure_at = now()
                RETURNING failures
                """, [tenantID, emailKey, Self.failureMemorySeconds]).first
        }
        let failures = try row?.int("failures") ?? 1
        let target = principalID?.lowercasedString
        events.record(
            tenantID: tenantID, actor: actor, action: "auth.login_failed", targetType: "user", targetID: target,
            outcome: .failure, details: ["failures": .int(failures)])
        if failures >= configuration.maxFailures {
            let exponent = Double(min(failures - configuration.maxFailures, 20))
            let seconds = min(configuration.lockoutSeconds * pow(2, exponent), configuration.maxLockout)
            try await app.withTenant(tenantID) { tx in
                try await tx.query(
                    "UPDATE login_failures SET locked_until = now() + make_interval(secs => $3) WHERE tenant_id = $1 AND email_key = $2",
                    [tenantID, emailKey, Int(seconds)])
            }
            events.record(
                tenantID: tenantID, actor: actor, action: "auth.lockout", targetType: "user", targetID: target,
                outcome: .denied, details: ["failures": .int(failures), "locked_seconds": .int(Int(seconds))])
        }
        if lockedAddress {
            events.record(
                tenantID: tenantID, actor: actor, action: "auth.address_lockout", targetType: "address",
                targetID: actor.clientIP, outcome: .denied)
        }
    }
}
