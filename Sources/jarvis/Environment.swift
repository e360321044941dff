internal import Foundation
internal import JarvisHTTP
internal import JarvisConfiguration
internal import JarvisStore
internal import Logging

/// Shared start-up for the subcommands: JSON logging and configuration from the environment.
enum Environment {
    static func logger(_ label: String = "jarvis") -> Logger {
        let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
        return Logger(label: label)
    }

    static func configuration() throws -> ServerConfiguration {
        do {
            return try ServerConfiguration.fromEnvironment()
        } catch {
            throw ExitMessage("configuration: \(error)")
        }
    }

    /// Applies pending migrations as the owner role, then keeps the monthly partitions ahead.
    static func migrate(_ configuration: ServerConfiguration, logger: Logger) async throws -> [String] {
        guard let owner = configuration.ownerDatabase else { throw ExitMessage("configuration: JARVIS_OWNER_DATABASE_URL is not set") }
        let migrator = try Migrator.load(directory: configuration.migrationsDirectory)
        return try await Database.using(name: "owner", configuration: owner, logger: logger) { database in
            let applied = try await migrator.migrate(database.pool)
            try await migrator.ensurePartitions(database)
            return applied
        }
    }
}

/// A failure reported as one line on standard error, without a stack of Swift error text.
struct ExitMessage: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
