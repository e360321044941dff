public import Logging
public import ServiceLifecycle

/// The one shape of background work: `work` every `interval` until graceful shutdown, then
/// `drain` once (flush what is queued), so shutting down in reverse start order leaves nothing
/// behind. Errors are logged; the loop goes on.
public struct PeriodicService: Service {
    public let name: String
    let interval: Duration
    let logger: Logger
    let work: @Sendable () async throws -> Void
    let drain: (@Sendable () async throws -> Void)?

    public init(
        _ name: String, every interval: Duration, logger: Logger, work: @escaping @Sendable () async throws -> Void,
        drain: (@Sendable () async throws -> Void)? = nil
    ) {
        self.name = name
        self.interval = interval
        self.logger = logger
        self.work = work
        self.drain = drain
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // The sleep ends early when shutdown begins; the work is not started then.
            let interval = self.interval
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            await step(work)
        }
        if let drain { await step(drain) }
    }

    private func step(_ body: @Sendable () async throws -> Void) async {
        do {
            try await body()
        } catch {
            logger.warning("background work failed", metadata: ["service": "\(name)", "error": "\(error)"])
        }
    }
}
