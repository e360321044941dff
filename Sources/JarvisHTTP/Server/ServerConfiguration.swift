public import JarvisStore
public import JarvisIdentity
public import JarvisQuota
internal import Foundation
internal import JarvisCrypto

/// Everything the server needs, read from the environment (see README "Configuration").
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// `jarvis_app` (tenant-scoped, row-level security).
    public var appDatabase: DatabaseConfiguration
    /// `jarvis_platform` (BYPASSRLS: platform endpoints, credential lookups, background jobs).
    public var platformDatabase: DatabaseConfiguration
    /// The table owner, for `migrate` (and `serve --migrate`); nil when not configured.
    public var ownerDatabase: DatabaseConfiguration?
    /// HMAC key for API key and refresh token secrets.
    public var apiKeyPepper: [UInt8]
    /// 32 bytes sealing signing keys at rest.
    public var masterKey: [UInt8]
    public var identity: IdentityConfiguration
    public var migrationsDirectory: String
    public var openAPIPath: String
    /// The route rules of `/v1/authz` (method, path prefix → permission); nil denies every route.
    public var authzRulesPath: String?
    /// Default quota policies per tenant plan (`JARVIS_PLAN_QUOTAS`).
    public var planQuotas: PlanQuotas = .none
    /// How long a token reservation waits for its usage report before it is released.
    public var reservationTTL: Duration = .seconds(900)
    /// Lets webhooks reach loopback addresses (tests, or a receiver on the same host); never other private ones.
    public var webhookAllowLoopback = false
    /// Per-connection timeouts and header limits, and the shutdown grace period.
    public var connections = ConnectionLimits()

    public init(
        host: String = "127.0.0.1", port: Int = 8080, appDatabase: DatabaseConfiguration,
        platformDatabase: DatabaseConfiguration, ownerDatabase: DatabaseConfiguration? = nil,
        apiKeyPepper: [UInt8], masterKey: [UInt8], identity: IdentityConfiguration = .init(),
        migrationsDirectory: String = "Migrations", openAPIPath: String = "openapi/openapi.yaml", authzRulesPath: String? = nil
    ) {
        self.host = host
        self.port = port
        self.appDatabase = appDatabase
        self.platformDatabase = platformDatabase
        self.ownerDatabase = ownerDatabase
        self.apiKeyPepper = apiKeyPepper
        self.masterKey = masterKey
        self.identity = identity
        self.migrationsDirectory = migrationsDirectory
        self.openAPIPath = openAPIPath
        self.authzRulesPath = authzRulesPath
    }

    public enum Problem: Error, CustomStringConvertible {
        case missing(String)
        case invalid(String, String)

        public var description: String {
            switch self {
            case .missing(let name): return "\(name) is not set (see README, Configuration)"
            case .invalid(let name, let reason): return "\(name) \(reason)"
            }
        }
    }

    /// Reads `JARVIS_*` variables; database URLs and the pepper are required, the rest have defaults.
    public static func fromEnvironment() throws -> ServerConfiguration {
        try fromEnvironment(ProcessInfo.processInfo.environment)
    }

    public static func fromEnvironment(_ environment: [String: String]) throws -> ServerConfiguration {
        func required(_ name: String) throws -> String {
            guard let value = environment[name], !value.isEmpty else { throw Problem.missing(name) }
            return value
        }
        func integer(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
            guard let text = environment[name] else { return fallback }
            guard let value = Int(text), range.contains(value) else { throw Problem.invalid(name, "must be an integer in \(range)") }
            return value
        }
        let pepper = try required("JARVIS_API_KEY_PEPPER")
        guard pepper.utf8.count >= 32 else { throw Problem.invalid("JARVIS_API_KEY_PEPPER", "must be at least 32 characters") }
        let masterText = try required("JARVIS_MASTER_KEY")
        guard let masterKey = Data(base64Encoded: masterText), masterKey.count == 32 else {
            throw Problem.invalid("JARVIS_MASTER_KEY", "must be 32 random bytes in base64 (head -c 32 /dev/urandom | base64)")
        }
        var identity = IdentityConfiguration()
        identity.issuer = environment["JARVIS_JWT_ISSUER"] ?? identity.issuer
        identity.audience = environment["JARVIS_JWT_AUDIENCE"] ?? identity.audience
        identity.accessTokenTTL = Double(try integer("JARVIS_ACCESS_TOKEN_TTL_SECONDS", 900, 1...86_400))
        identity.refreshTokenTTL = Double(try integer("JARVIS_REFRESH_TOKEN_TTL_SECONDS", 30 * 86_400, 60...365 * 86_400))
        identity.leeway = Double(try integer("JARVIS_JWT_LEEWAY_SECONDS", 30, 0...300))
        if let text = environment["JARVIS_JWT_ALGORITHM"] {
            guard let algorithm = JWTAlgorithm(rawValue: text) else { throw Problem.invalid("JARVIS_JWT_ALGORITHM", "must be EdDSA or HS256") }
            identity.algorithm = algorithm
        }
        identity.argon2 = Argon2id(
            memoryKiB: UInt32(try integer("JARVIS_ARGON2_MEMORY_KIB", 19 * 1024, 8...4 * 1024 * 1024)),
            iterations: UInt32(try integer("JARVIS_ARGON2_ITERATIONS", 2, 1...100)),
            parallelism: UInt32(try integer("JARVIS_ARGON2_PARALLELISM", 1, 1...64)))
        identity.hashConcurrency = try integer("JARVIS_PASSWORD_HASH_CONCURRENCY", 2, 1...256)
        identity.maxFailures = try integer("JARVIS_LOGIN_MAX_FAILURES", 5, 1...1000)
        identity.lockoutSeconds = Double(try integer("JARVIS_LOGIN_LOCKOUT_SECONDS", 30, 1...86_400))
        identity.maxLockout = Double(try integer("JARVIS_LOGIN_MAX_LOCKOUT_SECONDS", 900, 1...7 * 86_400))
        identity.maxFailuresPerAddress = try integer("JARVIS_LOGIN_MAX_FAILURES_PER_ADDRESS", 50, 1...1_000_000)
        let timeout = try integer("JARVIS_DB_STATEMENT_TIMEOUT_MS", 5_000, 100...600_000)
        let appPool = try integer("JARVIS_DB_POOL_SIZE", 10, 1...500)
        let platformPool = try integer("JARVIS_PLATFORM_DB_POOL_SIZE", 8, 1...500)
        let reservationTTL = try integer("JARVIS_RESERVATION_TTL_SECONDS", 900, 1...86_400)
        let planQuotas: PlanQuotas
        do {
            planQuotas = try PlanQuotas(parsing: environment["JARVIS_PLAN_QUOTAS"] ?? "")
        } catch .invalid(let reason) {
            throw Problem.invalid("JARVIS_PLAN_QUOTAS", reason)
        } catch {
            throw Problem.invalid("JARVIS_PLAN_QUOTAS", "\(error)")
        }
        var configuration = ServerConfiguration(
            host: environment["JARVIS_HOST"] ?? "127.0.0.1",
            port: try integer("JARVIS_PORT", 8080, 0...65535),
            appDatabase: DatabaseConfiguration(
                connectionString: try required("JARVIS_DATABASE_URL"), poolSize: appPool,
                statementTimeoutMilliseconds: timeout, applicationName: "jarvis-app"),
            platformDatabase: DatabaseConfiguration(
                connectionString: try required("JARVIS_PLATFORM_DATABASE_URL"), poolSize: platformPool,
                statementTimeoutMilliseconds: timeout, applicationName: "jarvis-platform"),
            ownerDatabase: environment["JARVIS_OWNER_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }.map {
                DatabaseConfiguration(connectionString: $0, poolSize: 1, statementTimeoutMilliseconds: 600_000, applicationName: "jarvis-migrate")
            },
            apiKeyPepper: Array(pepper.utf8),
            masterKey: Array(masterKey),
            identity: identity,
            migrationsDirectory: environment["JARVIS_MIGRATIONS_DIR"] ?? "Migrations",
            openAPIPath: environment["JARVIS_OPENAPI_PATH"] ?? "openapi/openapi.yaml",
            authzRulesPath: environment["JARVIS_AUTHZ_RULES"].flatMap { $0.isEmpty ? nil : $0 })
        configuration.planQuotas = planQuotas
        configuration.webhookAllowLoopback = environment["JARVIS_WEBHOOK_ALLOW_LOOPBACK"] == "1"
        configuration.connections.headerTimeout = .seconds(try integer("JARVIS_HTTP_HEADER_TIMEOUT_SECONDS", 10, 1...3600))
        configuration.connections.bodyTimeout = .seconds(try integer("JARVIS_HTTP_BODY_TIMEOUT_SECONDS", 30, 1...3600))
        configuration.connections.idleTimeout = .seconds(try integer("JARVIS_HTTP_IDLE_TIMEOUT_SECONDS", 75, 1...3600))
        configuration.connections.shutdownGrace = .seconds(try integer("JARVIS_SHUTDOWN_GRACE_SECONDS", 20, 0...3600))
        configuration.reservationTTL = .seconds(reservationTTL)
        return configuration
    }
}
