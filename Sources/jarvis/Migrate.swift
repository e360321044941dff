internal import ArgumentParser
internal import JarvisConfiguration
internal import Logging

/// `jarvis migrate`: applies pending migrations; refuses edited or unknown applied ones.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations.")

    func run() async throws {
        let logger = Environment.logger()
        let applied = try await Environment.migrate(try Environment.configuration(), logger: logger)
        print(applied.isEmpty ? "migrations: up to date" : "migrations: applied \(applied.joined(separator: ", "))")
    }
}
