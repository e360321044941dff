public import Logging
public import ServiceLifecycle
internal import NIOPosix
internal import Synchronization

/// LISTENs on one channel over its own connection and hands each payload to `onNotification`.
/// After every (re)connect it calls `onConnect` first: notifications may have been missed while
/// disconnected, so whoever caches must start over.
public final class NotificationListener: Service, Sendable {
    let configuration: DatabaseConfiguration
    let channel: String
    let logger: Logger
    let onNotification: @Sendable (String) -> Void
    let onConnect: @Sendable () -> Void
    private let threads: NIOThreadPool
    // Locking rule: flips once, from running to stopping.
    private let stopping = Mutex(false)
    private let connected = Mutex(false)

    /// - Parameter channel: a fixed identifier from code (it is sent inside LISTEN).
    public init(
        configuration: DatabaseConfiguration, channel: String, logger: Logger,
        onNotification: @escaping @Sendable (String) -> Void, onConnect: @escaping @Sendable () -> Void
    ) {
        precondition(channel.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || $0 == 95 }, "channel must be a plain identifier")
        self.configuration = configuration
        self.channel = channel
        self.logger = logger
        self.onNotification = onNotification
        self.onConnect = onConnect
        threads = NIOThreadPool(numberOfThreads: 1)
    }

    /// True while LISTENing on a live connection.
    public var isConnected: Bool { connected.withLock { $0 } }

    public func run() async throws {
        threads.start()
        defer { Task { [threads] in try? await threads.shutdownGracefully() } }
        await withGracefulShutdownHandler {
            await listen()
        } onGracefulShutdown: {
            self.stop()
        }
    }

    public func stop() { stopping.withLock { $0 = true } }

    private var shouldStop: Bool { stopping.withLock { $0 } || Task.isCancelled }

    private func listen() async {
        var backoff = Duration.milliseconds(100)
        while !shouldStop {
            do {
                let configuration = self.configuration
                let channel = self.channel
                let connection = try await threads.runIfActive { () throws -> Connection in
                    let connection = try Connection(configuration: configuration)
                    _ = try connection.executeScript("LISTEN \(channel)")
                    return connection
                }
                connected.withLock { $0 = true }
                onConnect()
                backoff = .milliseconds(100)
                while !shouldStop {
                    let payloads = try await threads.runIfActive { try connection.notifications(timeoutMilliseconds: 250) }
                    for payload in payloads { onNotification(payload) }
                }
            } catch {
                if !shouldStop { logger.warning("notification listener disconnected", metadata: ["error": "\(error)"]) }
            }
            connected.withLock { $0 = false }
            if shouldStop { break }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(5))
        }
    }
}
