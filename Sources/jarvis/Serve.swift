internal import ArgumentParser
internal import Hummingbird
internal import ServiceLifecycle
internal import UnixSignals
internal import JarvisConfiguration
internal import JarvisHTTP
internal import Logging
internal import Foundation
internal import Tracing

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
        var settings = configuration
        if let host { settings.host = host }
        if let port { settings.port = port }
        let jarvis = try await buildApplication(settings, logger: logger)
        // Once per process: W3C trace context in and out, spans to the collector if configured.
        InstrumentationSystem.bootstrap(jarvis.tracer)
        // SIGTERM: the connections get their grace period (ConnectionLimits.shutdownGrace), the
        // writers flush, the pools close; a service that still hangs past that is cancelled.
        var group = ServiceGroupConfiguration(services: [jarvis.application()], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = settings.connections.shutdownGrace + .seconds(10)
        try await ServiceGroup(configuration: group).run()
    }
}
