import Foundation
import Hummingbird
import HummingbirdTesting
import JarvisAccess
import JarvisAudit
import JarvisHTTP
import JarvisIdentity
import JarvisQuota
import JarvisStore
import Logging

/// The real PostgreSQL the tests use, configured by `make test` through the same `JARVIS_*`
/// variables the server reads. There is no mock database.
enum Fixture {
    static let environment = ProcessInfo.processInfo.environment

    static func variable(_ name: String) -> String {
        guard let value = environment[name], !value.isEmpty else {
            fatalError("\(name) is not set: run the tests with `make test`, which starts PostgreSQL and sets it")
        }
        return value
    }

    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let logger: Logger = {
        var logger = Logger(label: "jarvis-tests")
        logger.logLevel = .warning
        return logger
    }()

    static let configuration: ServerConfiguration = {
        do {
            var configuration = try ServerConfiguration.fromEnvironment(environment)
            configuration.migrationsDirectory = repositoryRoot + "/Migrations"
            configuration.openAPIPath = repositoryRoot + "/openapi/openapi.yaml"
            return configuration
        } catch {
            fatalError("test configuration: \(error); run the tests with `make test`")
        }
    }()

    static let jarvis: JarvisApplication = {
        do { return try JarvisApplication(configuration: configuration, logger: logger) } catch { fatalError("application: \(error)") }
    }()
    static var platform: Database { jarvis.platform }
    static var app: Database { jarvis.app }
    static var pepper: [UInt8] { configuration.apiKeyPepper }

    /// A database of the given role, for tests that talk SQL directly.
    static func database(_ urlVariable: String, poolSize: Int = 2, statementTimeout: Int = 5_000, acquireTimeout: Int = 5_000) -> Database {
        Database(
            name: "test", configuration: DatabaseConfiguration(
                connectionString: variable(urlVariable), poolSize: poolSize, statementTimeoutMilliseconds: statementTimeout,
                acquireTimeoutMilliseconds: acquireTimeout),
            logger: logger)
    }

    /// Migrations applied once per test process (the test command also applies them first).
    private static let migrated = Task {
        let owner = database("JARVIS_OWNER_DATABASE_URL", poolSize: 1, statementTimeout: 120_000)
        try await Migrator.load(directory: repositoryRoot + "/Migrations").migrate(owner.pool)
        await owner.pool.shutdown()
        try await jarvis.prepare()
        // Start from a known signing key: an earlier run (schemathesis rotates and imports keys)
        // may have left an HS256 key active, which the JWKS rightly does not publish.
        try await SigningKeyStore(platform: platform, masterKey: configuration.masterKey).activate(
            try SigningKey.generate(.eddsa), origin: "generated", verifyWindow: configuration.identity.verifyWindow, actor: .system)
        try await jarvis.signingKeys.reload()
        try await startListening(jarvis)
    }

    /// Runs an application's change feed for the rest of the test process and waits until it listens.
    static func startListening(_ application: JarvisApplication) async throws {
        Task { try await application.invalidations.run() }
        // Usage ingestion answers after its group commit, which this service runs.
        Task { try await application.usage.run() }
        Task { try await application.quotas.allowances.run() }
        Task { try await application.warnings.run() }
        for _ in 0..<200 where !application.invalidations.isConnected { try await Task.sleep(for: .milliseconds(10)) }
    }

    /// A super admin of this test process.
    private static let superAdmin = Task { () throws -> String in
        try await migrated.value
        return try await platform.withTransaction { tx in
            try await Bootstrap.createSuperAdmin(tx, pepper: pepper, name: "test-admin-\(UUIDv7.make().lowercasedString)")
        }
    }

    static func superAdminKey() async throws -> String { try await superAdmin.value }

    /// Runs `body` against the router production uses.
    static func withAPI<T: Sendable>(_ body: @Sendable (API) async throws -> T) async throws -> T {
        let key = try await superAdminKey()
        let application = Application(responder: jarvis.responder, logger: logger)
        return try await application.test(.router) { client in
            try await body(API(client: client, adminKey: key))
        }
    }

    /// A slug no other test (or earlier run) uses.
    static func uniqueSlug(_ prefix: String = "t") -> String {
        "\(prefix)-\(UUIDv7.make().lowercasedString.replacingOccurrences(of: "-", with: "").suffix(20))"
    }
}
