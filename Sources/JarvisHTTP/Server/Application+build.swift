public import Hummingbird
public import Logging
internal import ServiceLifecycle
internal import JarvisAccess
internal import Foundation
internal import Synchronization
public import JarvisCache
public import JarvisIdentity
public import JarvisStore
internal import JarvisTenancy
public import JarvisAudit
public import JarvisQuota

/// The application `jarvis serve` runs and the tests drive: one builder for both.
public struct JarvisApplication: Sendable {
    public let app: Database
    public let platform: Database
    /// One connection of its own for `/readyz`.
    let health: Database
    /// Held while this process lives, so others can tell when its work is orphaned.
    public let instance: InstanceLock
    public let lastUsed: LastUsedRecorder
    /// Authenticated callers by credential, kept current by `invalidations`.
    public let credentials: CredentialCache
    public let invalidations: NotificationListener
    public let signingKeys: SigningKeyRing
    public let securityEvents: SecurityEventWriter
    public let passwordHasher: PasswordHasher
    /// Quota decisions from memory, kept current by `invalidations`.
    public let quotas: QuotaEngine
    /// Usage ingestion with group commit.
    public let usage: UsageWriter
    /// Quota warnings and their webhook deliveries.
    public let warnings: QuotaWarnings
    let identity: IdentityServices
    /// The hot path in front of the routes and middleware, built once; tests drive exactly this.
    public let responder: AnyResponder
    let connectionLimits: ConnectionLimits

    /// Builds pools, stores and routes from `configuration`. Connections open lazily.
    public init(configuration: ServerConfiguration, logger: Logger) throws {
        connectionLimits = configuration.connections
        // Metrics first: instruments made before the bootstrap would report nowhere.
        let metrics = JarvisMetrics.registry
        let credentials = CredentialCache()
        self.credentials = credentials
        // The engine needs the platform pool, and the pools need to tell the engine of changes:
        // the pools' hook reads it through this box, set right after.
        let quotaBox = QuotaEngineBox()
        // Changes this instance commits clear its own caches at once; other instances hear of
        // them through NOTIFY jarvis_invalidate (sent by triggers in the same transaction).
        let forget: @Sendable (Set<UUID>) -> Void = { tenants in
            for tenant in tenants {
                credentials.invalidate(tenantID: tenant)
                quotaBox.engine?.invalidate(tenantID: tenant)
            }
        }
        app = Database(name: "app", configuration: configuration.appDatabase, logger: logger, afterAuthChange: forget)
        platform = Database(name: "platform", configuration: configuration.platformDatabase, logger: logger, afterAuthChange: forget)
        var healthConfiguration = configuration.platformDatabase
        healthConfiguration.poolSize = 1
        healthConfiguration.applicationName = "jarvis-health"
        health = Database(name: "health", configuration: healthConfiguration, logger: logger)
        let warnings = QuotaWarnings(
            platform: platform, masterKey: configuration.masterKey, targets: WebhookTargetPolicy(allowLoopback: configuration.webhookAllowLoopback),
            logger: logger)
        self.warnings = warnings
        let quotas = QuotaEngine(
            platform: platform, plans: configuration.planQuotas, reservationTTL: configuration.reservationTTL, logger: logger, warnings: warnings)
        quotaBox.engine = quotas
        self.quotas = quotas
        usage = UsageWriter(platform: platform, engine: quotas, logger: logger)
        invalidations = NotificationListener(
            configuration: configuration.platformDatabase, channel: "jarvis_invalidate", log: "cache_invalidations", logger: logger,
            onNotification: { payload in
                if let tenantID = UUID(uuidString: payload) {
                    credentials.invalidate(tenantID: tenantID)
                    quotas.invalidate(tenantID: tenantID)
                } else {
                    credentials.flush()
                    quotas.flush()
                }
            },
            onFlush: {
                credentials.flush()
                quotas.flush()
            })
        lastUsed = LastUsedRecorder(platform: platform, logger: logger)
        securityEvents = SecurityEventWriter(platform: platform, logger: logger)
        let services = AppServices(
            app: app, platform: platform, tenants: TenantStore(platform: platform), principals: PrincipalDirectory(platform: platform),
            apiKeys: APIKeyStore(pepper: configuration.apiKeyPepper), securityEvents: securityEvents)
        let migrator = try? Migrator.load(directory: configuration.migrationsDirectory)
        let openAPI = FileManager.default.contents(atPath: configuration.openAPIPath).map { Array($0) }

        let settings = configuration.identity
        let keyStore = SigningKeyStore(platform: platform, masterKey: configuration.masterKey)
        signingKeys = SigningKeyRing(store: keyStore, logger: logger)
        passwordHasher = try PasswordHasher(parameters: settings.argon2, concurrency: settings.hashConcurrency)
        let verifier = TokenVerifier(ring: signingKeys, configuration: settings)
        let authenticator = Authenticator(
            platform: platform, pepper: configuration.apiKeyPepper, lastUsed: lastUsed, tokens: verifier, cache: credentials)
        let issuer = TokenIssuer(ring: signingKeys, configuration: settings)
        identity = IdentityServices(
            configuration: settings, keys: keyStore, ring: signingKeys, issuer: issuer, hasher: passwordHasher,
            passwords: PasswordStore(hasher: passwordHasher),
            login: LoginService(
                app: app, platform: platform, hasher: passwordHasher, issuer: issuer,
                refreshTokens: RefreshTokenStore(pepper: configuration.apiKeyPepper, ttl: settings.refreshTokenTTL),
                addresses: AddressThrottle(maxFailures: settings.maxFailuresPerAddress), events: securityEvents,
                configuration: settings),
            clientCredentials: ClientCredentials(authenticator: authenticator, issuer: issuer),
            events: securityEvents)
        let rules = try configuration.authzRulesPath.map { path in try RouteRules.load(path: path) } ?? .empty
        instance = InstanceLock(configuration: configuration.platformDatabase, logger: logger)
        let router = Self.buildRouter(
            services: services, identity: identity, instance: instance,
            authenticator: authenticator, quotas: quotas, usage: usage, warnings: warnings, masterKey: configuration.masterKey,
            system: SystemController(
                services: services, migrator: migrator, metrics: metrics, openAPI: openAPI,
                probe: ReadinessProbe(database: health, migrator: migrator))
        ).buildResponder()
        responder = AnyResponder(HotPathResponder(
            inner: router, authenticator: authenticator, check: CheckController(authenticator: authenticator, quotas: quotas),
            authz: AuthzController(authenticator: authenticator, rules: rules, quotas: quotas), counters: .init()))
    }

    /// Creates a signing key on first start and loads the keys; run before serving.
    public func prepare() async throws {
        try await instance.acquire()
        try await identity.keys.ensureActive(algorithm: identity.configuration.algorithm, verifyWindow: identity.configuration.verifyWindow)
        try await signingKeys.reload()
    }

    static func buildRouter(
        services: AppServices, identity: IdentityServices, instance: InstanceLock, authenticator: Authenticator, quotas: QuotaEngine, usage: UsageWriter,
        warnings: QuotaWarnings, masterKey: [UInt8], system: SystemController
    ) -> Router<JarvisRequestContext> {
        let base = Router(context: JarvisRequestContext.self)
        let methods = RouteMethods()
        let router = RecordingRouter(router: base, methods: methods)
        // Metrics outside the problem mapping, so they count the statuses clients really get.
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProblemMiddleware(methods: methods))
        system.addRoutes(to: router)
        let keys = SigningKeyController(identity: identity)
        keys.addPublicRoutes(to: router)
        // Credential exchanges: the body is the credential, so no bearer token is required.
        AuthController(identity: identity).addRoutes(to: router.group("v1/auth"))
        OAuthController(identity: identity).addRoutes(to: router.group("v1/oauth"))

        let v1 = router.group("v1")
            .add(middleware: AuthenticationMiddleware(authenticator: authenticator))
            .add(middleware: IdempotencyMiddleware(store: IdempotencyStore(app: services.app, instance: instance)))
        MeController(services: services, passwords: identity.passwords).addRoutes(to: v1.group("me"))
        keys.addPlatformRoutes(to: v1.group("platform/signing-keys"))
        TenantController(services: services).addRoutes(to: v1.group("tenants"))
        let tenant = v1.group("tenants/:tenant")
        PrincipalController(services: services, kind: .user, passwords: identity.passwords).addRoutes(to: tenant.group("users"))
        PrincipalController(services: services, kind: .serviceAccount, passwords: identity.passwords)
            .addRoutes(to: tenant.group("service-accounts"))
        APIKeyController(services: services).addRoutes(to: tenant.group("api-keys"))
        let roles = RoleController(services: services)
        roles.addRoleRoutes(to: tenant.group("roles"))
        roles.addPermissionRoutes(to: tenant.group("permissions"))
        roles.addPrincipalRoutes(to: tenant.group("principals"))
        roles.addBindingRoutes(to: tenant.group("role-bindings"))
        AuditController(services: services).addRoutes(to: tenant.group("audit-events"))
        QuotaController(services: services, engine: quotas).addRoutes(to: tenant.group("quotas"))
        WebhookController(services: services, masterKey: masterKey, targets: warnings.targets).addRoutes(to: tenant.group("webhooks"))
        let usageController = UsageController(services: services, writer: usage, quotas: quotas)
        usageController.addStorageRoutes(to: v1.group("storage"))
        usageController.addIngestRoutes(to: v1.group("usage"))
        usageController.addReportRoutes(to: tenant.group("usage"))
        LeaseController(services: services, warnings: warnings).addRoutes(to: v1.group("leases"))
        return base
    }

    /// The runnable server: HTTP plus the background services, shut down in reverse order.
    /// - Parameter benchBaseline: also answer the bare `/_bench/baseline` endpoint (benchmarks only).
    public func application(host: String, port: Int, logger: Logger, benchBaseline: Bool = false) -> some ApplicationProtocol {
        var application = Application(
            responder: benchBaseline ? AnyResponder(BaselineResponder(inner: responder)) : responder,
            server: .guardedHTTP1(connectionLimits),
            configuration: .init(address: .hostname(host, port: port), serverName: "jarvis"), logger: logger)
        // Shut down in reverse: the HTTP server first (Hummingbird adds it last), then the writers
        // flush, and the pools close at the very end, after everything that still writes.
        application.addServices(
            PoolShutdown(databases: [app, platform, health], hasher: passwordHasher), instance, invalidations, lastUsed, signingKeys, securityEvents, usage,
            quotas.allowances, warnings)
        return application
    }
}

/// Lets the pools' change hook reach the quota engine built after them. Set once, before serving.
final class QuotaEngineBox: Sendable {
    private let value = Mutex<QuotaEngine?>(nil)

    var engine: QuotaEngine? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// Closes the pools when the service group shuts down.
struct PoolShutdown: Service {
    let databases: [Database]
    let hasher: PasswordHasher

    func run() async throws {
        try? await gracefulShutdown()
        await hasher.shutdown()
        for database in databases { await database.pool.shutdown() }
    }
}

/// One concrete responder type for the application whatever is mounted in front of the router.
public struct AnyResponder: HTTPResponder {
    public typealias Context = JarvisRequestContext
    let respond: @Sendable (Request, JarvisRequestContext) async throws -> Response

    init<R: HTTPResponder>(_ responder: R) where R.Context == JarvisRequestContext {
        respond = { try await responder.respond(to: $0, context: $1) }
    }

    public func respond(to request: Request, context: JarvisRequestContext) async throws -> Response {
        try await respond(request, context)
    }
}
