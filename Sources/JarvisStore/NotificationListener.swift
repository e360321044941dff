public import Logging
public import ServiceLifecycle
internal import NIOPosix
internal import Synchronization

/// LISTENs on one channel over its own connection and publishes each payload on the change feed.
///
/// NOTIFYs sent while the listener is disconnected are lost, so every change is also written to a
/// change log (`log`: a table of `tenant_id` and the `xid` of the transaction that wrote it). The
/// listener remembers how far it has caught up — the oldest transaction still running a tick
/// before its last look — and after a reconnect it LISTENs first, then hands on every tenant the
/// log holds from there: whatever committed while it was away arrives through the log, whatever
/// commits afterwards through NOTIFY. Only when it was away longer than the log is kept does it
/// publish `.everything` (start over). Reconnect attempts are at most `maxBackoff` apart.
public final class NotificationListener: Service, Sendable {
    let configuration: DatabaseConfiguration
    let channel: String
    let log: String
    let logger: Logger
    let feed: ChangeFeed
    private let threads: NIOThreadPool
    // Locking rule: each box is read and written whole under its own lock.
    private let stopping = Mutex(false)
    private let connected = Mutex(false)
    private let position = Mutex(Position())

    /// How far the change log has been read, and when.
    struct Position {
        /// Transactions at or after this id may not have been seen yet (`xid8` text).
        var caughtUpTo: String?
        /// The newest oldest-running id, taken at the last tick; it becomes `caughtUpTo` a tick
        /// later, once NOTIFYs of everything before it have surely been delivered.
        var pending: String?
        var caughtUpAt: ContinuousClock.Instant?
    }

    static let tick = Duration.seconds(1)
    static let maxBackoff = Duration.milliseconds(400)
    /// Rows older than this are deleted; an instance away longer flushes instead of catching up.
    static let retention = Duration.seconds(15 * 60)
    static let catchUpLimit = Duration.seconds(10 * 60)

    /// - Parameters:
    ///   - channel: a fixed identifier from code (it is sent inside LISTEN).
    ///   - log: the change log table, a fixed identifier from code.
    public init(configuration: DatabaseConfiguration, channel: String, log: String, logger: Logger, feed: ChangeFeed) {
        precondition(channel.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || $0 == 95 }, "channel must be a plain identifier")
        precondition(log.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || $0 == 95 }, "log must be a plain identifier")
        self.configuration = configuration
        self.channel = channel
        self.log = log
        self.logger = logger
        self.feed = feed
        threads = NIOThreadPool(numberOfThreads: 1)
    }

    /// True while LISTENing on a live connection.
    public var isConnected: Bool { connected.withLock { $0 } }

    public func run() async throws {
        threads.start()
        await withGracefulShutdownHandler {
            await listen()
        } onGracefulShutdown: {
            self.stop()
        }
        try? await threads.shutdownGracefully()
    }

    public func stop() { stopping.withLock { $0 = true } }

    private var shouldStop: Bool { stopping.withLock { $0 } || Task.isCancelled }

    private func listen() async {
        var backoff = Duration.milliseconds(50)
        while !shouldStop {
            do {
                let connection = try await connect()
                connected.withLock { $0 = true }
                feed.listenerCaughtUp()
                backoff = .milliseconds(50)
                var lastTick = ContinuousClock.now
                var lastPrune = ContinuousClock.now
                while !shouldStop {
                    let payloads = try await threads.runIfActive { try connection.notifications(timeoutMilliseconds: 250) }
                    for payload in payloads { feed.publish(payload: payload) }
                    if ContinuousClock.now - lastTick >= Self.tick {
                        lastTick = .now
                        try await advance(connection)
                        feed.listenerCaughtUp()
                    }
                    if ContinuousClock.now - lastPrune >= .seconds(60) {
                        lastPrune = .now
                        try await prune(connection)
                    }
                }
            } catch {
                if !shouldStop { logger.warning("notification listener disconnected", metadata: ["error": "\(error)"]) }
            }
            connected.withLock { $0 = false }
            feed.listenerLost()
            if shouldStop { break }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, Self.maxBackoff)
        }
    }

    /// Connects, LISTENs, then catches up from the log.
    private func connect() async throws -> Connection {
        let configuration = self.configuration
        let channel = self.channel
        let connection = try await threads.runIfActive { () throws -> Connection in
            let connection = try Connection(configuration: configuration)
            _ = try connection.executeScript("LISTEN \(channel)")
            return connection
        }
        let (from, away) = position.withLock { p in (p.caughtUpTo, p.caughtUpAt.map { ContinuousClock.now - $0 }) }
        let log = self.log
        let rows = try await threads.runIfActive { () throws -> Rows in
            try connection.execute(
                """
                SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
                       (SELECT string_agg(DISTINCT tenant_id::text, ',') FROM \(log) WHERE $1::xid8 IS NOT NULL AND xid >= $1::xid8) AS tenants
                """, [from])
        }
        let xmin = try rows.first?.string("xmin")
        if from == nil {
            // First connect: nothing is cached from before it. A reconnect after the log's retention: start over.
            feed.publish(.everything)
        } else if let away, away > Self.catchUpLimit {
            logger.warning("notification listener was away longer than the change log is kept; flushing caches")
            feed.publish(.everything)
        } else if let tenants = try rows.first?.optionalString("tenants") {
            for tenant in tenants.split(separator: ",") { feed.publish(payload: String(tenant)) }
        }
        position.withLock { p in
            p.caughtUpTo = from ?? xmin
            p.pending = xmin
            p.caughtUpAt = .now
        }
        return connection
    }

    /// Moves the caught-up point one tick forward.
    private func advance(_ connection: Connection) async throws {
        let rows = try await threads.runIfActive { () throws -> Rows in
            try connection.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin", [])
        }
        let xmin = try rows.first?.string("xmin")
        position.withLock { p in
            p.caughtUpTo = p.pending ?? p.caughtUpTo
            p.pending = xmin
            p.caughtUpAt = .now
        }
    }

    private func prune(_ connection: Connection) async throws {
        let log = self.log
        let seconds = Int(Self.retention.components.seconds)
        _ = try await threads.runIfActive { () throws -> Rows in
            try connection.execute("DELETE FROM \(log) WHERE created_at < now() - make_interval(secs => $1)", [seconds])
        }
    }
}
