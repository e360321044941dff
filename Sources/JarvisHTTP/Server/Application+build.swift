public import Hummingbird
public import Logging
internal import ServiceLifecycle
internal import JarvisAccess
internal import Foundation
public import JarvisIdentity
public import JarvisStore
internal import JarvisTenancy

/// The application `jarvis serve` runs and the tests drive: one builder for both.
public struct JarvisApplication: Sendable {
    public let app: Database
    public let platform: Database
    public let lastUsed: LastUsedRecorder
    /// The routes and middleware, built once; tests drive exactly this.
    public let responder: RouterResponder<JarvisRequestContext>

    /// Builds pools, stores and routes from `configuration`. Connections open lazily.
    public init(configuration: ServerConfiguration, logger: Logger) {
        // Metrics first: instruments made before the bootstrap would report nowhere.
        let metrics = JarvisMetrics.registry
        app = Database(name: "app", configuration: configuration.appDatabase, logger: logger)
        platform = Database(name: "platform", configuration: configuration.platformDatabase, logger: logger)
        lastUsed = LastUsedRecorder(platform: platform, logger: logger)
        let services = AppServices(
            app: app, platform: platform, tenants: TenantStore(platform: platform),
            apiKeys: APIKeyStore(pepper: configuration.apiKeyPepper))
        let migrator = try? Migrator.load(directory: configuration.migrationsDirectory)
        let openAPI = FileManager.default.contents(atPath: configuration.openAPIPath).map { Array($0) }
        responder = Self.buildRouter(
            services: services,
            authenticator: Authenticator(platform: platform, pepper: configuration.apiKeyPepper, lastUsed: lastUsed),
            system: SystemController(services: services, migrator: migrator, metrics: metrics, openAPI: openAPI)
        ).buildResponder()
    }

    static func buildRouter(
        services: AppServices, authenticator: Authenticator, system: SystemController
    ) -> Router<JarvisRequestContext> {
        let router = Router(context: JarvisRequestContext.self)
        // Metrics outside the problem mapping, so they count the statuses clients really get.
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProblemMiddleware())
        system.addRoutes(to: router)

        let v1 = router.group("v1").add(middleware: AuthenticationMiddleware(authenticator: authenticator))
        MeController().addRoutes(to: v1.group("me"))
        TenantController(services: services).addRoutes(to: v1.group("tenants"))
        let tenant = v1.group("tenants/:tenant")
        PrincipalController(services: services, kind: .user).addRoutes(to: tenant.group("users"))
        PrincipalController(services: services, kind: .serviceAccount).addRoutes(to: tenant.group("service-accounts"))
        APIKeyController(services: services).addRoutes(to: tenant.group("api-keys"))
        let roles = RoleController(services: services)
        roles.addRoleRoutes(to: tenant.group("roles"))
        roles.addBindingRoutes(to: tenant.group("role-bindings"))
        AuditController(services: services).addRoutes(to: tenant.group("audit-events"))
        return router
    }

    /// The runnable server: HTTP plus the background services, shut down in reverse order.
    public func application(host: String, port: Int, logger: Logger) -> some ApplicationProtocol {
        var application = Application(
            responder: responder, configuration: .init(address: .hostname(host, port: port), serverName: "jarvis"), logger: logger)
        application.addServices(lastUsed, PoolShutdown(databases: [app, platform]))
        return application
    }
}

/// Closes the pools when the service group shuts down.
struct PoolShutdown: Service {
    let databases: [Database]

    func run() async throws {
        try? await gracefulShutdown()
        for database in databases { await database.pool.shutdown() }
    }
}
