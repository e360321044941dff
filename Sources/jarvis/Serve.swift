internal import ArgumentParser
internal import Hummingbird
internal import JarvisHTTP
internal import Logging
internal import Foundation

/// `jarvis serve`: runs the HTTP server until SIGTERM/SIGINT, then drains and closes the pools.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP server.")

    @Option(help: "Address to bind (overrides JARVIS_HOST).") var host: String?
    @Option(help: "Port to bind (overrides JARVIS_PORT).") var port: Int?
    @Flag(help: "Apply pending migrations first (needs JARVIS_OWNER_DATABASE_URL).") var migrate = false

    func run() async throws {
        let logger = Environment.logger()
        let configuration = try Environment.configuration()
        if migrate {
            let applied = try await Environment.migrate(configuration, logger: logger)
            logger.info("migrations applied", metadata: ["applied": "\(applied.joined(separator: ","))"])
        }
        let jarvis = try JarvisApplication(configuration: configuration, logger: logger)
        try await jarvis.prepare()
        let bench = ProcessInfo.processInfo.environment["JARVIS_BENCH_BASELINE"] == "1"
        let app = jarvis.application(host: host ?? configuration.host, port: port ?? configuration.port, logger: logger, benchBaseline: bench)
        try await app.runService()
    }
}
