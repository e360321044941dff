public import JarvisStore
internal import Foundation

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
    /// HMAC key for API key secrets.
    public var apiKeyPepper: [UInt8]
    public var migrationsDirectory: String
    public var openAPIPath: String

    public init(
        host: String = "127.0.0.1", port: Int = 8080, appDatabase: DatabaseConfiguration,
        platformDatabase: DatabaseConfiguration, ownerDatabase: DatabaseConfiguration? = nil,
        apiKeyPepper: [UInt8], migrationsDirectory: String = "Migrations", openAPIPath: String = "openapi/openapi.yaml"
    ) {
        self.host = host
        self.port = port
        self.appDatabase = appDatabase
        self.platformDatabase = platformDatabase
        self.ownerDatabase = ownerDatabase
        self.apiKeyPepper = apiKeyPepper
        self.migrationsDirectory = migrationsDirectory
        self.openAPIPath = openAPIPath
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
        let timeout = try integer("JARVIS_DB_STATEMENT_TIMEOUT_MS", 5_000, 100...600_000)
        let appPool = try integer("JARVIS_DB_POOL_SIZE", 10, 1...500)
        let platformPool = try integer("JARVIS_PLATFORM_DB_POOL_SIZE", 5, 1...500)
        return ServerConfiguration(
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
            migrationsDirectory: environment["JARVIS_MIGRATIONS_DIR"] ?? "Migrations",
            openAPIPath: environment["JARVIS_OPENAPI_PATH"] ?? "openapi/openapi.yaml")
    }
}
