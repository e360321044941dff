import Foundation
import Hummingbird
import HummingbirdTesting
import JarvisAccess
import JarvisAudit
import JarvisConfiguration
import JarvisHTTP
import JarvisIdentity
import JarvisQuota
import JarvisStore
import Logging
import ServiceLifecycle

/// The real PostgreSQL the tests use, configured by `make test` through the same `JARVIS_*`
/// variables the server reads, and the application built by the same `buildApplication` the
/// server runs, with its background services running in a service group. There is no mock database.
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
            // Key rotations of one test (some with no grace) reach every test's instance within a second.
            configuration.identity.keyRefresh = 1
            return configuration
        } catch {
            fatalError("test configuration: \(error); run the tests with `make test`")
        }
    }()

    /// Pools of the tests' own for SQL the tests run directly (as an outside writer would).
    static let platform = database("JARVIS_PLATFORM_DATABASE_URL", poolSize: 4)
    static let app = database("JARVIS_DATABASE_URL", poolSize: 4)
    static var pepper: [UInt8] { configuration.apiKeyPepper }

    /// A database of the given role, for tests that talk SQL directly.
    static func database(_ urlVariable: String, poolSize: Int = 2, statementTimeout: Int = 5_000, acquireTimeout: Int = 5_000) -> Database {
        Database(
            name: "test", configuration: DatabaseConfiguration(
                connectionString: variable(urlVariable), poolSize: poolSize, statementTimeoutMilliseconds: statementTimeout,
                acquireTimeoutMilliseconds: acquireTimeout),
            logger: logger)
    }

    /// The shared application: migrations applied, built, its services running for the rest of
    /// the test process, a super admin made.
    private static let shared = Task { () throws -> (JarvisApplication, String) in
        try await Database.using(name: "owner", configuration: ownerConfiguration, logger: logger) { owner in
            let migrator = try Migrator.load(directory: repositoryRoot + "/Migrations")
            _ = try await migrator.migrate(owner.pool)
            try await migrator.ensurePartitions(owner)
        }
        // Start from a known signing key: an earlier run (schemathesis rotates and imports keys)
        // may have left an HS256 key active, which the JWKS rightly does not publish.
        try await SigningKeyStore(platform: platform, masterKey: configuration.masterKey).activate(
            try SigningKey.generate(.eddsa), origin: "generated", verifyWindow: configuration.identity.verifyWindow, actor: .system)
        let jarvis = try await buildApplication(configuration, logger: logger)
        let group = ServiceGroup(services: jarvis.services, logger: logger)
        Task { try await group.run() }
        try await waitUntilListening(jarvis)
        let key = try await platform.withTransaction { tx in
            try await Bootstrap.createSuperAdmin(tx, pepper: pepper, name: "test-admin-\(UUIDv7.make().lowercasedString)")
        }
        return (jarvis, key)
    }

    static var ownerConfiguration: DatabaseConfiguration {
        DatabaseConfiguration(connectionString: variable("JARVIS_OWNER_DATABASE_URL"), poolSize: 1, statementTimeoutMilliseconds: 120_000)
    }

    static func waitUntilListening(_ jarvis: JarvisApplication) async throws {
        for _ in 0..<300 where !jarvis.invalidations.isConnected { try await Task.sleep(for: .milliseconds(10)) }
    }

    static func jarvis() async throws -> JarvisApplication { try await shared.value.0 }
    static func superAdminKey() async throws -> String { try await shared.value.1 }

    /// Runs `body` against the shared application's router, as production serves it.
    static func withAPI<T: Sendable>(_ body: @Sendable (API) async throws -> T) async throws -> T {
        let (jarvis, key) = try await shared.value
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
