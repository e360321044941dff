public import JarvisStore
public import JarvisAccess
internal import Foundation
internal import JarvisCrypto
internal import Metrics
public import JarvisCache

/// Turns a bearer credential into a `Caller`. Looks keys up through the platform pool
/// (authentication happens before a tenant is known) and checks, in order: the secret
/// (in constant time, also for unknown keys), then the tenant, the key and the principal.
///
/// What never reaches PostgreSQL: malformed credentials, keys whose tag does not match (never
/// issued), untagged keys whose id is not a legacy key's (`LegacyKeyIDs`), JWTs with a bad
/// signature; and a credential refused before, for a minute (the cache's refusals). A flood of
/// garbage credentials therefore costs CPU only, and the pools stay for good callers.
public struct Authenticator: Sendable {
    let platform: Database
    let pepper: [UInt8]
    let lastUsed: LastUsedRecorder
    let tokens: TokenVerifier?
    let cache: CredentialCache?
    let legacyKeys: LegacyKeyIDs?
    let graphs: RoleGraphCache?
    let tagKey: [UInt8]

    public init(
        platform: Database, pepper: [UInt8], lastUsed: LastUsedRecorder, tokens: TokenVerifier?, cache: CredentialCache? = nil,
        legacyKeys: LegacyKeyIDs? = nil, graphs: RoleGraphCache? = nil
    ) {
        self.platform = platform
        self.pepper = pepper
        self.lastUsed = lastUsed
        self.tokens = tokens
        self.cache = cache
        self.legacyKeys = legacyKeys
        self.graphs = graphs
        tagKey = APIKeyToken.tagKey(pepper: pepper)
    }

    /// Refused credentials by where they were stopped: `before_lookup` (format, tag, legacy id,
    /// token signature or expiry), `remembered` (a refusal the cache kept) and `looked_up`.
    static let refusals = (
        beforeLookup: Counter(label: "jarvis_auth_refusals_total", dimensions: [("stage", "before_lookup")]),
        remembered: Counter(label: "jarvis_auth_refusals_total", dimensions: [("stage", "remembered")]),
        lookedUp: Counter(label: "jarvis_auth_refusals_total", dimensions: [("stage", "looked_up")])
    )

    /// A hash no real secret matches, compared against when the key id is unknown, so both
    /// paths do the same work.
    private static let decoyHash = [UInt8](repeating: 0, count: 32)

    /// - Parameter authorization: the `Authorization` header's value.
    public func authenticate(authorization: String?) async throws -> Caller {
        guard let authorization, let credential = Self.bearerCredential(authorization) else { throw AuthenticationError.missing }
        return try await authenticate(credential: credential)
    }

    /// The credential of `Bearer <credential>` (scheme in any case, spaces and tabs around it
    /// ignored), without splitting or lowercasing copies: this runs on every hot-path request.
    static func bearerCredential(_ header: String) -> Substring? {
        var rest = Substring(header).trimmingSpaces
        let scheme = rest.utf8.prefix(7)
        guard scheme.count == 7 else { return nil }
        for (byte, expected) in zip(scheme, "bearer ".utf8) where byte | (expected == 32 ? 0 : 0x20) != expected {
            return nil
        }
        rest = rest[rest.utf8.index(rest.startIndex, offsetBy: 7)...].trimmingSpaces
        return rest.isEmpty ? nil : rest
    }

    /// A bare credential (an API key or an access token), as `/v1/check` receives them.
    public func authenticate(credential: some StringProtocol & Sendable) async throws -> Caller {
        switch try fromMemory(credential) {
        case .caller(let caller): return caller
        case .lookUp(let key, let text): return try await lookUp(key: key, text)
        }
    }

    /// Credentials as a `/v1/check` batch brings them, answered in their order: what memory knows at
    /// once, the rest looked up concurrently, at most `lookupsInFlight` at a time, so a batch of
    /// uncached keys costs about as many round trips as its slowest lookup chain, not one per key.
    /// A refusal is that credential's answer; a failure (the database away) fails the whole batch.
    public func authenticate(credentials: [String]) async throws -> [Result<Caller, AuthenticationError>] {
        var answers = [Result<Caller, AuthenticationError>?](repeating: nil, count: credentials.count)
        var misses: [(index: Int, key: CredentialCache.Key?, text: String)] = []
        for (index, credential) in credentials.enumerated() {
            do {
                switch try fromMemory(credential) {
                case .caller(let caller): answers[index] = .success(caller)
                case .lookUp(let key, let text): misses.append((index, key, text))
                }
            } catch let error as AuthenticationError {
                answers[index] = .failure(error)
            }
        }
        if misses.count == 1, let miss = misses.first {
            answers[miss.index] = try await Self.result { try await lookUp(key: miss.key, miss.text) }
        } else if !misses.isEmpty {
            try await withThrowingTaskGroup(of: (Int, Result<Caller, AuthenticationError>).self) { group in
                var pending = misses[...]
                func start() {
                    guard let miss = pending.popFirst() else { return }
                    group.addTask { (miss.index, try await Self.result { try await lookUp(key: miss.key, miss.text) }) }
                }
                for _ in 0..<Self.lookupsInFlight { start() }
                while let (index, answer) = try await group.next() {
                    answers[index] = answer
                    start()
                }
            }
        }
        return answers.map { $0! }
    }

    /// A batch's concurrent lookups: half the platform pool's default (8 connections), so one
    /// batch leaves room for other callers.
    static let lookupsInFlight = 4

    private static func result(_ body: () async throws -> Caller) async throws -> Result<Caller, AuthenticationError> {
        do {
            return .success(try await body())
        } catch let error as AuthenticationError {
            return .failure(error)
        }
    }

    /// What the credential's answer needs next.
    private enum MemoryAnswer {
        case caller(Caller)
        /// Not in memory: look it up (`key` nil when there is no cache).
        case lookUp(CredentialCache.Key?, String)
    }

    /// The part of authentication that never suspends: the size check, a cached caller (renewed
    /// when due) or a kept refusal.
    private func fromMemory(_ credential: some StringProtocol & Sendable) throws -> MemoryAnswer {
        guard !credential.isEmpty, credential.utf8.count <= 8 * 1024 else {
            Self.refusals.beforeLookup.increment()
            throw AuthenticationError.invalidCredential
        }
        guard let cache else { return .lookUp(nil, String(credential)) }
        // Cached by the digest of the whole credential, secret included: a wrong secret never
        // matches a right one's entry.
        let (high, low) = SHA256.prefix128(credential)
        let key = CredentialCache.Key(high: high, low: low)
        // A busy key is renewed before it expires (see `CredentialCache`); a renewal without a
        // lookup still counts as the key's use.
        let hit = cache.cached(
            key,
            renewed: { caller in
                if let keyID = caller.apiKeyID { lastUsed.noteUse(tenantID: caller.tenantID, keyID: keyID, previous: nil) }
            },
            reloading: {
                let text = String(credential)
                return { try await self.load(text) }
            })
        if let hit { return .caller(hit) }
        if let refused = cache.refusal(key) as? Refused {
            Self.refusals.remembered.increment()
            throw refused.error
        }
        return .lookUp(key, String(credential))
    }

    /// A credential memory did not answer, loaded through the cache (once however many ask) when
    /// there is one.
    private func lookUp(key: CredentialCache.Key?, _ text: String) async throws -> Caller {
        guard let cache, let key else { return try await Refused.unwrapping { try await load(text).0 } }
        return try await Refused.unwrapping { try await cache.caller(key: key) { try await self.load(text) } }
    }

    /// Authenticates against PostgreSQL, unless the credential cannot have been issued.
    /// - Returns: the caller and when the credential stops being valid.
    /// - Throws: `Refused` (the cache keeps it) for what a lookup refused.
    func load(_ credential: String) async throws -> (Caller, Date) {
        if credential.hasPrefix(APIKeyToken.prefix) {
            guard let token = APIKeyToken(parsing: credential), mayHaveBeenIssued(token) else {
                Self.refusals.beforeLookup.increment()
                throw AuthenticationError.invalidCredential
            }
            return try await lookUp(apiKey: token)
        }
        guard let tokens, credential.contains(".") else {
            Self.refusals.beforeLookup.increment()
            throw AuthenticationError.invalidCredential
        }
        return try await authenticate(jwt: credential, verifier: tokens)
    }

    /// A tagged key with the right tag, or an untagged one whose id a legacy key has.
    func mayHaveBeenIssued(_ token: APIKeyToken) -> Bool {
        if token.tag != nil { return token.hasValidTag(tagKey: tagKey) }
        return legacyKeys?.mayExist(token.keyID) ?? true
    }

    /// An access token: signature and claims (cached), then the principal's current state and roles,
    /// so a disabled user or a suspended tenant is refused at once, not at expiry.
    func authenticate(jwt: String, verifier: TokenVerifier) async throws -> (Caller, Date) {
        let claims: AccessTokenClaims
        do {
            claims = try await verifier.verify(jwt)
        } catch TokenError.expired {
            Self.refusals.beforeLookup.increment()
            throw AuthenticationError.expired
        } catch is TokenError {
            Self.refusals.beforeLookup.increment()
            throw AuthenticationError.invalidCredential
        }
        let rows = try await platform.query(
            """
            SELECT p.kind, p.status AS principal_status, p.tokens_valid_after, t.slug, t.status AS tenant_status,
                   (t.deleted_at IS NOT NULL) AS tenant_deleted,
                   COALESCE((SELECT string_agg(b.role, ',') FROM role_bindings b
                             WHERE b.tenant_id = p.tenant_id AND b.principal_id = p.id), '') AS roles
            FROM principals p JOIN tenants t ON t.id = p.tenant_id
            WHERE p.tenant_id = $1 AND p.id = $2
            """, [claims.tenantID, claims.subject], idempotent: true, prepared: true)
        let refuse = { (error: AuthenticationError) in Refused(error: error, tenantID: claims.tenantID) }
        guard let row = rows.first, try !row.bool("tenant_deleted") else { throw refuse(.invalidCredential) }
        if try row.string("principal_status") != "active" { throw refuse(.principalDisabled) }
        if try row.string("tenant_status") != "active" { throw refuse(.tenantSuspended) }
        // A session ended (logout, password set, a stolen refresh token): tokens issued until then are void.
        if let voidBefore = try row.optionalDate("tokens_valid_after"), claims.issued(before: voidBefore) {
            throw refuse(.revoked)
        }
        var scope: PermissionSet?
        if let text = claims.scope {
            scope = PermissionSet(text.split(separator: " ").compactMap { Permission(validating: String($0)) })
        }
        let roles = try row.string("roles").split(separator: ",").map(String.init)
        let caller = Caller(
            tenantID: claims.tenantID, tenantSlug: try row.string("slug"), principalID: claims.subject,
            kind: Caller.Kind(rawValue: try row.string("kind")) ?? .user,
            roles: roles, apiKeyID: nil, scope: scope, graph: try await graph(tenantID: claims.tenantID, roles: roles))
        return (caller, claims.expiresAt.addingTimeInterval(verifier.configuration.leeway))
    }

    /// An API key (client credentials use this too, with its own tag check done by `load`'s rules).
    func authenticate(apiKey token: APIKeyToken) async throws -> (Caller, Date) {
        guard mayHaveBeenIssued(token) else {
            Self.refusals.beforeLookup.increment()
            throw AuthenticationError.invalidCredential
        }
        return try await Refused.unwrapping { try await lookUp(apiKey: token) }
    }

    private func lookUp(apiKey token: APIKeyToken) async throws -> (Caller, Date) {
        let rows = try await platform.query(
            """
            SELECT k.id, k.tenant_id, k.principal_id, k.secret_hash, k.expires_at, k.revoked_at, k.last_used_at,
                   (k.expires_at IS NOT NULL AND k.expires_at <= now()) AS expired,
                   p.kind, p.status AS principal_status, t.slug, t.status AS tenant_status,
                   (t.deleted_at IS NOT NULL) AS tenant_deleted,
                   COALESCE((SELECT string_agg(b.role, ',') FROM role_bindings b
                             WHERE b.tenant_id = k.tenant_id AND b.principal_id = k.principal_id), '') AS roles
            FROM api_keys k
            JOIN principals p ON p.tenant_id = k.tenant_id AND p.id = k.principal_id
            JOIN tenants t ON t.id = k.tenant_id
            WHERE k.key_id = $1
            """, [token.keyID], idempotent: true, prepared: true)
        let presented = token.secretHash(pepper: pepper)
        guard let row = rows.first else {
            _ = ConstantTime.equals(presented, Self.decoyHash)
            throw Refused(error: .invalidCredential, tenantID: nil)
        }
        let tenantID = try row.uuid("tenant_id")
        let refuse = { (error: AuthenticationError) in Refused(error: error, tenantID: tenantID) }
        guard ConstantTime.equals(presented, try row.bytes("secret_hash")) else { throw refuse(.invalidCredential) }
        if try row.bool("tenant_deleted") { throw refuse(.invalidCredential) }
        if try row.optionalDate("revoked_at") != nil { throw refuse(.revoked) }
        if try row.bool("expired") { throw refuse(.expired) }
        if try row.string("principal_status") != "active" { throw refuse(.principalDisabled) }
        if try row.string("tenant_status") != "active" { throw refuse(.tenantSuspended) }

        let keyID = try row.uuid("id")
        lastUsed.noteUse(tenantID: tenantID, keyID: keyID, previous: try row.optionalDate("last_used_at"))
        let roles = try row.string("roles").split(separator: ",").map(String.init)
        let caller = Caller(
            tenantID: tenantID, tenantSlug: try row.string("slug"), principalID: try row.uuid("principal_id"),
            kind: Caller.Kind(rawValue: try row.string("kind")) ?? .user,
            roles: roles, apiKeyID: keyID, graph: try await graph(tenantID: tenantID, roles: roles))
        return (caller, try row.optionalDate("expires_at") ?? .distantFuture)
    }

    /// The built-in graph, or the tenant's own when the principal holds custom roles (kept a while
    /// in `graphs`, so a tenant's keys loaded together read it once).
    private func graph(tenantID: UUID, roles: [String]) async throws -> RoleGraph {
        if RoleGraph.builtinSuffices(for: roles) { return .builtin }
        let load: @Sendable () async throws -> RoleGraph = { [platform] in
            try await platform.withTenant(tenantID) { tx in try await RoleStore.graph(tx, tenantID: tenantID) }
        }
        guard let graphs else { return try await load() }
        return try await graphs.graph(tenantID: tenantID, load: load)
    }
}

/// A refusal from a lookup, with the tenant whose changes may end it: the credential cache keeps
/// it; callers see only `error`.
struct Refused: CachedRefusal {
    let error: AuthenticationError
    let tenantID: UUID?

    /// Runs `body`, turning a `Refused` into its `AuthenticationError` (and counting it).
    static func unwrapping<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let refused as Refused {
            Authenticator.refusals.lookedUp.increment()
            throw refused.error
        }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while s.last == " " || s.last == "\t" { s.removeLast() }
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        return s
    }
}
