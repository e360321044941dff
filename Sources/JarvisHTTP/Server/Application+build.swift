public import Hummingbird
public import Logging
public import ServiceLifecycle
public import JarvisConfiguration
public import JarvisCache
public import JarvisIdentity
public import JarvisStore
public import JarvisAudit
public import JarvisQuota
internal import JarvisAccess
internal import JarvisTenancy
public import JarvisReleases
public import JarvisBilling
internal import Foundation

/// Builds the application from its configuration: `jarvis serve` runs what this returns, and the
/// tests drive the same thing. Connections open lazily; the first signing key is made here.
public func buildApplication(_ configuration: ServerConfiguration, logger: Logger) async throws -> JarvisApplication {
    let application = try JarvisApplication(configuration: configuration, logger: logger)
    try await application.prepare()
    return application
}

/// The parts of a running Jarvis: the responder (routes and middleware), the background services
/// in start order, and the pieces tests look into.
public struct JarvisApplication: Sendable {
    /// Where changes to what decides answers are announced: this instance's commits, and every
    /// instance's NOTIFYs through `invalidations`. The caches and the quota engine subscribe.
    public let changes: ChangeFeed
    public let app: Database
    public let platform: Database
    /// One connection of its own for `/readyz`.
    let health: Database
    /// Held while this process lives, so others can tell when its work is orphaned.
    public let instance: InstanceLock
    public let lastUsed: LastUsedRecorder
    public let credentials: CredentialCache
    /// Ids of API keys issued before keys were tagged.
    public let legacyKeys: LegacyKeyIDs
    public let invalidations: NotificationListener
    public let signingKeys: SigningKeyRing
    public let securityEvents: SecurityEventWriter
    /// The hot path's decisions, counted per minute into access events; tests flush it themselves.
    public let accessTally: AccessTally
    /// The admin API's reads, one access event each through a batch writer.
    public let readEvents: SecurityEventWriter
    public let passwordHasher: PasswordHasher
    public let quotas: QuotaEngine
    public let usage: UsageWriter
    public let warnings: QuotaWarnings
    /// Raises budget thresholds; tests run a pass themselves.
    public let budgetAlerts: BudgetAlerts
    /// Seals audit events into their tenants' chains; tests seal a tenant themselves.
    public let auditSealer: AuditSealer
    public let auditKeys: AuditKeys
    /// Signs chain heads; tests sign a tenant's head themselves.
    public let auditCheckpoints: AuditCheckpoints
    /// Posts lockouts, token reuse and bursts of refusals to webhooks; tests run a pass themselves.
    public let securityAlerts: SecurityAlerts
    /// Which version a subject gets, from memory; the benchmark and tests look into it.
    public let resolver: Resolver
    public let rollouts: RolloutSupervisor
    let domain: AppServices
    let configuration: ServerConfiguration
    /// The listener's certificate when it serves TLS itself.
    let certificate: ServerCertificate?
    /// The process's tracer (`jarvis serve` bootstraps it) and where its spans go, if anywhere.
    public let tracer: JarvisTracer
    let spanExporter: SpanExporter?
    let logger: Logger
    /// The router with its middleware; tests drive exactly this.
    public let responder: AnyResponder

    init(configuration: ServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        // Metrics first: instruments made before the bootstrap would report nowhere.
        let metrics = JarvisMetrics.registry
        // Unreadable or mismatched certificate files stop the start, before anything listens.
        certificate = try configuration.tls.map { try ServerCertificate(files: $0) }
        spanExporter = configuration.tracing.otlpEndpoint.map { SpanExporter(endpoint: $0, serviceName: configuration.tracing.serviceName) }
        tracer = JarvisTracer(exporter: spanExporter, sampleRatio: configuration.tracing.sampleRatio)
        changes = ChangeFeed()
        credentials = CredentialCache(
            capacity: configuration.credentialCacheCapacity, maxAge: TimeInterval(configuration.credentialCacheMaxAge.components.seconds),
            changes: changes)
        app = Database(name: "app", configuration: configuration.appDatabase, logger: logger, changes: changes)
        platform = Database(name: "platform", configuration: configuration.platformDatabase, logger: logger, changes: changes)
        var healthConfiguration = configuration.platformDatabase
        healthConfiguration.poolSize = 1
        healthConfiguration.applicationName = "jarvis-health"
        health = Database(name: "health", configuration: healthConfiguration, logger: logger)
        instance = InstanceLock(configuration: configuration.platformDatabase, logger: logger)
        invalidations = NotificationListener(
            configuration: configuration.platformDatabase, channel: "jarvis_invalidate", log: "cache_invalidations", logger: logger,
            feed: changes)
        let targets = WebhookTargetPolicy(allowLoopback: configuration.webhookAllowLoopback)
        warnings = QuotaWarnings(platform: platform, masterKey: configuration.masterKey, targets: targets, logger: logger)
        let budgets = Budgets(app: app, platform: platform)
        budgetAlerts = BudgetAlerts(platform: platform, logger: logger)
        auditKeys = AuditKeys(platform: platform, masterKey: configuration.masterKey, auditTenantID: PlatformTenant.id)
        auditCheckpoints = AuditCheckpoints(platform: platform, keys: auditKeys)
        securityAlerts = SecurityAlerts(platform: platform, logger: logger)
        auditSealer = AuditSealer(platform: platform, logger: logger)
        quotas = QuotaEngine(
            platform: platform, plans: configuration.planQuotas, reservationTTL: configuration.reservationTTL,
            allowanceInterval: configuration.allowanceInterval, logger: logger, warnings: warnings, changes: changes, spendLimits: budgets)
        usage = UsageWriter(platform: platform, engine: quotas, logger: logger, lanes: configuration.usageLanes, rating: !configuration.usageRatingOff)
        lastUsed = LastUsedRecorder(platform: platform, logger: logger)
        securityEvents = SecurityEventWriter(platform: platform, logger: logger)
        accessTally = AccessTally(platform: platform, logger: logger)
        readEvents = SecurityEventWriter(platform: platform, kind: "read", logger: logger)

        let settings = configuration.identity
        let keyStore = SigningKeyStore(platform: platform, masterKey: configuration.masterKey)
        signingKeys = SigningKeyRing(store: keyStore, refreshInterval: .milliseconds(Int(configuration.identity.keyRefresh * 1_000)), logger: logger)
        passwordHasher = try PasswordHasher(parameters: settings.argon2, concurrency: settings.hashConcurrency)
        legacyKeys = LegacyKeyIDs(platform: platform)
        let authenticator = Authenticator(
            platform: platform, pepper: configuration.apiKeyPepper, lastUsed: lastUsed,
            tokens: TokenVerifier(ring: signingKeys, configuration: settings), cache: credentials, legacyKeys: legacyKeys,
            graphs: RoleGraphCache(changes: changes))
        let issuer = TokenIssuer(ring: signingKeys, configuration: settings)
        let sessions = Sessions()
        let tenants = Tenants(platform: platform, sessions: sessions)
        let identity = IdentityServices(
            configuration: settings, keys: keyStore, ring: signingKeys,
            login: LoginService(
                app: app, platform: platform, hasher: passwordHasher, issuer: issuer,
                refreshTokens: RefreshTokenStore(pepper: configuration.apiKeyPepper, ttl: settings.refreshTokenTTL),
                addresses: AddressThrottle(maxFailures: settings.maxFailuresPerAddress), events: securityEvents, configuration: settings),
            clientCredentials: ClientCredentials(authenticator: authenticator, issuer: issuer))
        resolver = Resolver(platform: platform, changes: changes)
        rollouts = RolloutSupervisor(platform: platform, logger: logger)
        let models = Models(app: app, platform: platform)
        let releases = ReleaseServices(
            prompts: Prompts(app: app), models: models, rollouts: Rollouts(app: app, models: models), flags: Flags(app: app),
            resolver: resolver, changes: ReleaseChanges(platform: platform, changes: changes))
        domain = AppServices(
            tenants: tenants, principals: Principals(app: app, sessions: sessions),
            apiKeys: APIKeys(app: app, pepper: configuration.apiKeyPepper), passwords: Passwords(app: app, hasher: passwordHasher),
            roles: Roles(app: app), audit: AuditEvents(app: app), auditVerifier: AuditVerifier(database: app), auditKeys: auditKeys,
            auditExport: AuditExport(app: app), complianceReports: ComplianceReport.Builder(app: app), quotaPolicies: QuotaPolicies(app: app, engine: quotas),
            usage: UsageIngest(writer: usage, tenants: tenants, principals: PrincipalDirectory(platform: platform)),
            usageReports: UsageReports(app: app), storage: StorageReports(app: app, engine: quotas, tenants: tenants),
            leases: Leases(app: app, warnings: warnings),
            webhooks: Webhooks(app: app, masterKey: configuration.masterKey, targets: targets),
            identity: identity, authenticator: authenticator, quotas: quotas, securityEvents: securityEvents, accessTally: accessTally, readEvents: readEvents,
            releases: releases, prices: PriceBook(app: app, platform: platform), exports: UsageExport(app: app, platform: platform),
            statements: Statements(app: app, platform: platform), budgets: budgets, dataSubjects: DataSubjects(app: app))

        let migrator = try? Migrator.load(directory: configuration.migrationsDirectory)
        let openAPI = FileManager.default.contents(atPath: configuration.openAPIPath).map { Array($0) }
        let rules = try configuration.authzRulesPath.map { path in try RouteRules.load(path: path) } ?? .empty
        let router = Self.buildRouter(
            services: domain, app: app, instance: instance, rules: rules,
            system: SystemController(
                metrics: metrics, openAPI: openAPI, probe: ReadinessProbe(database: health, migrator: migrator)))
        let routes = router.buildResponder()
        responder = configuration.benchBaseline ? AnyResponder(BaselineResponder(inner: routes)) : AnyResponder(routes)
    }

    /// Creates a signing key on first start, loads the keys and takes the instance lock.
    func prepare() async throws {
        try await instance.acquire()
        try await domain.identity.keys.ensureActive(
            algorithm: configuration.identity.algorithm, verifyWindow: configuration.identity.verifyWindow)
        try await signingKeys.reload()
        try await auditKeys.ensureActive()
        try await legacyKeys.reload()
    }

    static func buildRouter(
        services: AppServices, app: Database, instance: InstanceLock, rules: RouteRules, system: SystemController
    ) -> Router<JarvisRequestContext> {
        let base = Router(context: JarvisRequestContext.self)
        let methods = RouteMethods()
        let router = RecordingRouter(router: base, methods: methods)
        // Metrics outside the problem mapping, so they count the statuses clients really get.
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProblemMiddleware(methods: methods))
        system.addRoutes(to: router)
        let keys = SigningKeyController(identity: services.identity)
        keys.addPublicRoutes(to: router)
        AuditController(services: services).addPublicRoutes(to: router)
        // Credential exchanges: the body is the credential, so no bearer token is required.
        AuthController(identity: services.identity).addRoutes(to: router.group("v1/auth").add(middleware: TraceMiddleware()))
        OAuthController(identity: services.identity).addRoutes(to: router.group("v1/oauth").add(middleware: TraceMiddleware()))
        // The hot path authenticates what it judges itself: no further middleware.
        let hot = router.group("v1")
        CheckController(authenticator: services.authenticator, quotas: services.quotas, access: services.accessTally).addRoutes(to: hot)
        AuthzController(authenticator: services.authenticator, rules: rules, quotas: services.quotas, access: services.accessTally).addRoutes(to: hot)
        ResolveController(authenticator: services.authenticator, releases: services.releases).addRoutes(to: hot.group("resolve"))

        let v1 = router.group("v1")
            .add(middleware: TraceMiddleware())
            .add(middleware: AuthenticationMiddleware(authenticator: services.authenticator))
            .add(middleware: IdempotencyMiddleware(keys: IdempotencyKeys(app: app, instance: instance)))
            .add(middleware: ReadAuditMiddleware(reads: services.readEvents))
        MeController(services: services).addRoutes(to: v1.group("me"))
        keys.addPlatformRoutes(to: v1.group("platform/signing-keys"))
        TenantController(services: services).addRoutes(to: v1.group("tenants"))
        let tenant = v1.group("tenants/:tenant")
        PrincipalController(services: services, kind: .user).addRoutes(to: tenant.group("users"))
        DataSubjectController(services: services).addRoutes(to: tenant.group("users"))
        PrincipalController(services: services, kind: .serviceAccount).addRoutes(to: tenant.group("service-accounts"))
        APIKeyController(services: services).addRoutes(to: tenant.group("api-keys"))
        let roles = RoleController(services: services)
        roles.addRoleRoutes(to: tenant.group("roles"))
        roles.addPermissionRoutes(to: tenant.group("permissions"))
        roles.addPrincipalRoutes(to: tenant.group("principals"))
        roles.addBindingRoutes(to: tenant.group("role-bindings"))
        let audit = AuditController(services: services)
        audit.addRoutes(to: tenant.group("audit-events"))
        audit.addVerifyRoutes(to: tenant.group("audit"))
        QuotaController(services: services).addRoutes(to: tenant.group("quotas"))
        WebhookController(services: services).addRoutes(to: tenant.group("webhooks"))
        let usage = UsageController(services: services)
        usage.addStorageRoutes(to: v1.group("storage"))
        usage.addIngestRoutes(to: v1.group("usage"))
        usage.addReportRoutes(to: tenant.group("usage"))
        let prices = PriceController(services: services)
        prices.addPriceRoutes(to: tenant.group("prices"))
        prices.addUsageRoutes(to: tenant.group("usage"))
        let finance = FinanceController(services: services)
        finance.addTenantRoutes(usage: tenant.group("usage"), statements: tenant.group("statements"))
        finance.addPlatformRoutes(to: v1.group("usage"))
        LeaseController(services: services).addRoutes(to: v1.group("leases"))
        let prompts = tenant.group("prompts"), models = tenant.group("models")
        PromptController(services: services).addRoutes(to: prompts)
        LabelController(services: services, subject: services.releases.prompts, read: "prompt:read", publish: "prompt:publish").addRoutes(to: prompts)
        ModelController(services: services).addRoutes(to: models)
        LabelController(services: services, subject: services.releases.models, read: "model:read", publish: "model:publish").addRoutes(to: models)
        RolloutController(services: services).addRoutes(to: tenant.group("rollouts"))
        FlagController(services: services).addRoutes(to: tenant.group("flags"))
        BudgetController(services: services).addRoutes(to: tenant.group("budgets"))
        return base
    }

    /// The background services in start order; a service group shuts them down in reverse, so the
    /// writers flush before the pools close, and the pools close last.
    public var services: [any Service] {
        // Shut down in reverse: spans still go out after everything else has stopped.
        (spanExporter.map { [$0.service(logger: logger)] as [any Service] } ?? []) + [
            PoolShutdown(databases: [app, platform, health], hasher: passwordHasher), instance.service, invalidations, lastUsed.service,
            signingKeys.service, legacyKeys.service(logger: logger), securityEvents.service, accessTally.service, readEvents.service, usage, quotas.allowances.service(logger: logger), quotas.evictionService(logger: logger), quotas.refreshService(logger: logger),
            warnings.service,
            rollouts.service, budgetAlerts.service, UsageLedger.keyExpiry(platform: platform).service(logger: logger),
            IdempotencyKeys.expiry(platform: platform).service(logger: logger), LoginService.failureExpiry(platform: platform).service(logger: logger),
            RefreshTokenStore.expiry(platform: platform).service(logger: logger), WebhookStore.deliveryExpiry(platform: platform).service(logger: logger),
        ] + (configuration.auditSealerOff ? [] : [auditSealer.service]) + [
            auditCheckpoints.service(logger: logger), securityAlerts.service, AuditArchive.partitionsAhead(platform: platform, logger: logger),
        ] + (certificate.map { [CertificateReload(certificate: $0, logger: logger)] } ?? [])
    }

    /// The runnable server: HTTP (with Jarvis's connection limits), or HTTPS when the listener has a
    /// certificate, after the background services.
    public func application() -> some ApplicationProtocol {
        var application = Application(
            responder: responder, server: .jarvis(configuration.connections, certificate: certificate),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "jarvis"), logger: logger)
        application.addServices(services)
        return application
    }
}

/// Closes the pools and the hashing threads when the service group shuts down.
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
