public import Configuration
public import JarvisStore
public import JarvisIdentity
public import JarvisQuota
internal import Foundation
internal import JarvisCrypto

/// Everything the server and the commands need, read once at start (README, Configuration).
///
/// Read through swift-configuration's `ConfigReader`, from the environment by default: it maps
/// `jarvis.port` to `JARVIS_PORT`, marks secrets so they are never printed, and lets a deployment
/// or a test stack other providers (a file, values in memory) in front without new parsing code.
/// Hummingbird's `Environment` would have tied `jarvis migrate` to the HTTP framework.
public struct ServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// `jarvis_app` (tenant-scoped, row-level security).
    public var appDatabase: DatabaseConfiguration
    /// `jarvis_platform` (BYPASSRLS: platform endpoints, credential lookups, background jobs).
    public var platformDatabase: DatabaseConfiguration
    /// The table owner, for `migrate` (and `serve --migrate`); nil when not configured.
    public var ownerDatabase: DatabaseConfiguration?
    /// HMAC key for API key and refresh token secrets.
    public var apiKeyPepper: [UInt8]
    /// 32 bytes sealing signing keys and webhook secrets at rest.
    public var masterKey: [UInt8]
    public var identity = IdentityConfiguration()
    public var migrationsDirectory = "Migrations"
    public var openAPIPath = "openapi/openapi.yaml"
    /// The route rules of `/v1/authz` (method, path prefix → permission); nil denies every route.
    public var authzRulesPath: String?
    /// Default quota policies per tenant plan.
    public var planQuotas: PlanQuotas = .none
    /// How long a token reservation waits for its usage report before it is released.
    public var reservationTTL: Duration = .seconds(900)
    /// How often each instance gives back and tops up its shares of the global limits: longer
    /// means fewer database writes and larger holdings per instance.
    public var allowanceInterval: Duration = .milliseconds(100)
    /// Lets webhooks reach loopback addresses (tests, or a receiver on the same host); never other private ones.
    public var webhookAllowLoopback = false
    /// Per-connection timeouts and header limits, and the shutdown grace period.
    public var connections = ConnectionLimits()
    /// Most credentials the hot path keeps in memory (about 530 bytes each in the scale run); past it, entries
    /// are evicted and those keys are looked up again.
    public var credentialCacheCapacity = 200_000
    /// How long a cached credential answers without being looked up again: an idle key's life, and
    /// the bound on a stale answer while change notifications are not arriving.
    public var credentialCacheMaxAge: Duration = .seconds(300)
    /// Mounts the bare `/_bench/baseline` endpoint (benchmarks only).
    public var benchBaseline = false
    /// Off: usage is stored unpriced (listed, and rated later by a re-rating) instead of rated as it
    /// is stored (`JARVIS_USAGE_RATING_OFF=1`; the benchmark measures what rating costs with it).
    public var usageRatingOff = false
    /// Usage transactions in flight at once (`JARVIS_USAGE_LANES`): more lanes answer sooner at low
    /// load, fewer carry more events per commit (less database work per event) at high load.
    public var usageLanes = 3
    /// No audit sealer on this instance (`JARVIS_AUDIT_SEALER_OFF=1`): another instance seals, or the
    /// benchmark measures what sealing costs the admin API's writers.
    public var auditSealerOff = false
    /// TLS 1.3 on the listener; nil serves plain HTTP (behind a balancer that terminates TLS).
    public var tls: ListenerTLS?
    /// W3C trace context and span export (OTLP/HTTP).
    public var tracing = TracingSettings()

    public init(
        appDatabase: DatabaseConfiguration, platformDatabase: DatabaseConfiguration, apiKeyPepper: [UInt8], masterKey: [UInt8]
    ) {
        self.appDatabase = appDatabase
        self.platformDatabase = platformDatabase
        self.apiKeyPepper = apiKeyPepper
        self.masterKey = masterKey
    }

    /// From the process environment.
    public static func fromEnvironment() throws(ConfigurationError) -> ServerConfiguration {
        try read(ConfigReader(provider: EnvironmentVariablesProvider()))
    }

    /// From the given variables, as if they were the environment (tests).
    public static func fromEnvironment(_ variables: [String: String]) throws(ConfigurationError) -> ServerConfiguration {
        try read(ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: variables)))
    }

    /// Database URLs, the pepper and the master key are required; the rest have defaults.
    public static func read(_ reader: ConfigReader) throws(ConfigurationError) -> ServerConfiguration {
        let settings = Settings(reader: reader)
        let pepper = try settings.required("JARVIS_API_KEY_PEPPER", secret: true)
        guard pepper.utf8.count >= 32 else { throw .invalid("JARVIS_API_KEY_PEPPER", "must be at least 32 characters") }
        let masterText = try settings.required("JARVIS_MASTER_KEY", secret: true)
        guard let masterKey = Data(base64Encoded: masterText), masterKey.count == 32 else {
            throw .invalid("JARVIS_MASTER_KEY", "must be 32 random bytes in base64 (head -c 32 /dev/urandom | base64)")
        }
        let timeout = try settings.integer("JARVIS_DB_STATEMENT_TIMEOUT_MS", 5_000, 100...600_000)
        var configuration = ServerConfiguration(
            appDatabase: DatabaseConfiguration(
                connectionString: try settings.required("JARVIS_DATABASE_URL", secret: true),
                poolSize: try settings.integer("JARVIS_DB_POOL_SIZE", 10, 1...500),
                statementTimeoutMilliseconds: timeout, applicationName: "jarvis-app"),
            platformDatabase: DatabaseConfiguration(
                connectionString: try settings.required("JARVIS_PLATFORM_DATABASE_URL", secret: true),
                poolSize: try settings.integer("JARVIS_PLATFORM_DB_POOL_SIZE", 8, 1...500),
                statementTimeoutMilliseconds: timeout, applicationName: "jarvis-platform"),
            apiKeyPepper: Array(pepper.utf8), masterKey: Array(masterKey))
        configuration.ownerDatabase = settings.text("JARVIS_OWNER_DATABASE_URL", secret: true).map {
            DatabaseConfiguration(connectionString: $0, poolSize: 1, statementTimeoutMilliseconds: 600_000, applicationName: "jarvis-migrate")
        }
        configuration.host = settings.text("JARVIS_HOST") ?? "127.0.0.1"
        configuration.port = try settings.integer("JARVIS_PORT", 8080, 0...65535)
        configuration.identity = try identity(settings)
        configuration.migrationsDirectory = settings.text("JARVIS_MIGRATIONS_DIR") ?? "Migrations"
        configuration.openAPIPath = settings.text("JARVIS_OPENAPI_PATH") ?? "openapi/openapi.yaml"
        configuration.authzRulesPath = settings.text("JARVIS_AUTHZ_RULES")
        do {
            configuration.planQuotas = try PlanQuotas(parsing: settings.text("JARVIS_PLAN_QUOTAS") ?? "")
        } catch {
            if case .invalid(let reason) = error { throw .invalid("JARVIS_PLAN_QUOTAS", reason) }
            throw .invalid("JARVIS_PLAN_QUOTAS", "\(error)")
        }
        configuration.reservationTTL = try settings.seconds("JARVIS_RESERVATION_TTL_SECONDS", 900, 1...86_400)
        configuration.allowanceInterval = .milliseconds(try settings.integer("JARVIS_QUOTA_ALLOWANCE_INTERVAL_MS", 100, 10...10_000))
        configuration.webhookAllowLoopback = try settings.flag("JARVIS_WEBHOOK_ALLOW_LOOPBACK")
        configuration.connections.headerTimeout = try settings.seconds("JARVIS_HTTP_HEADER_TIMEOUT_SECONDS", 10, 1...3600)
        configuration.connections.bodyTimeout = try settings.seconds("JARVIS_HTTP_BODY_TIMEOUT_SECONDS", 30, 1...3600)
        configuration.connections.idleTimeout = try settings.seconds("JARVIS_HTTP_IDLE_TIMEOUT_SECONDS", 75, 1...3600)
        configuration.connections.shutdownGrace = try settings.seconds("JARVIS_SHUTDOWN_GRACE_SECONDS", 20, 0...3600)
        configuration.credentialCacheCapacity = try settings.integer("JARVIS_CREDENTIAL_CACHE_CAPACITY", 200_000, 1_000...50_000_000)
        configuration.credentialCacheMaxAge = try settings.seconds("JARVIS_CREDENTIAL_CACHE_MAX_AGE_SECONDS", 300, 10...86_400)
        configuration.benchBaseline = try settings.flag("JARVIS_BENCH_BASELINE")
        configuration.usageRatingOff = try settings.flag("JARVIS_USAGE_RATING_OFF")
        configuration.usageLanes = try settings.integer("JARVIS_USAGE_LANES", 3, 1...16)
        configuration.auditSealerOff = try settings.flag("JARVIS_AUDIT_SEALER_OFF")
        configuration.tracing = try TracingSettings.read(settings)
        switch (settings.text("JARVIS_TLS_CERT_FILE"), settings.text("JARVIS_TLS_KEY_FILE")) {
        case (nil, nil): configuration.tls = nil
        case (let certificate?, let key?): configuration.tls = ListenerTLS(certificateFile: certificate, keyFile: key)
        case (nil, _): throw .invalid("JARVIS_TLS_CERT_FILE", "is required with JARVIS_TLS_KEY_FILE")
        case (_, nil): throw .invalid("JARVIS_TLS_KEY_FILE", "is required with JARVIS_TLS_CERT_FILE")
        }
        return configuration
    }

    static func identity(_ settings: Settings) throws(ConfigurationError) -> IdentityConfiguration {
        var identity = IdentityConfiguration()
        identity.issuer = settings.text("JARVIS_JWT_ISSUER") ?? identity.issuer
        identity.audience = settings.text("JARVIS_JWT_AUDIENCE") ?? identity.audience
        identity.accessTokenTTL = Double(try settings.integer("JARVIS_ACCESS_TOKEN_TTL_SECONDS", 900, 1...86_400))
        identity.refreshTokenTTL = Double(try settings.integer("JARVIS_REFRESH_TOKEN_TTL_SECONDS", 30 * 86_400, 60...365 * 86_400))
        identity.leeway = Double(try settings.integer("JARVIS_JWT_LEEWAY_SECONDS", 30, 0...300))
        if let text = settings.text("JARVIS_JWT_ALGORITHM") {
            guard let algorithm = JWTAlgorithm(rawValue: text) else { throw .invalid("JARVIS_JWT_ALGORITHM", "must be EdDSA or HS256") }
            identity.algorithm = algorithm
        }
        identity.argon2 = Argon2id(
            memoryKiB: UInt32(try settings.integer("JARVIS_ARGON2_MEMORY_KIB", 19 * 1024, 8...4 * 1024 * 1024)),
            iterations: UInt32(try settings.integer("JARVIS_ARGON2_ITERATIONS", 2, 1...100)),
            parallelism: UInt32(try settings.integer("JARVIS_ARGON2_PARALLELISM", 1, 1...64)))
        identity.hashConcurrency = try settings.integer("JARVIS_PASSWORD_HASH_CONCURRENCY", 2, 1...256)
        identity.maxFailures = try settings.integer("JARVIS_LOGIN_MAX_FAILURES", 5, 1...1000)
        identity.lockoutSeconds = Double(try settings.integer("JARVIS_LOGIN_LOCKOUT_SECONDS", 30, 1...86_400))
        identity.maxLockout = Double(try settings.integer("JARVIS_LOGIN_MAX_LOCKOUT_SECONDS", 900, 1...7 * 86_400))
        identity.maxFailuresPerAddress = try settings.integer("JARVIS_LOGIN_MAX_FAILURES_PER_ADDRESS", 50, 1...1_000_000)
        return identity
    }
}
