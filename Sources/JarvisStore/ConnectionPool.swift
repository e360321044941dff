public import Logging
internal import Metrics
internal import NIOPosix
internal import Synchronization

/// A bounded pool of libpq connections whose blocking calls run on a dedicated `NIOThreadPool`,
/// never on an event loop or the cooperative pool.
///
/// Callers check a connection out, own it alone until they give it back, and a connection that
/// broke is closed instead of returned. Waiters are served first come, first served.
public final class ConnectionPool: Sendable {
    public let configuration: DatabaseConfiguration
    public let name: String
    let logger: Logger
    private let threads: NIOThreadPool
    // Locking rule: every field of State changes only under this lock; continuations are
    // resumed after the lock is released.
    private let state = Mutex(State())
    private let gauges: Gauges

    private struct State {
        var idle: [Connection] = []
        /// Connections open or being opened, idle or checked out.
        var open = 0
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        var closed = false
    }

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Grant, any Error>
    }

    /// What a waiter receives: a connection, or the right to open one (after a broken one was dropped).
    private enum Grant {
        case connection(Connection)
        case slot
    }

    private struct Gauges {
        let open: Gauge
        let idle: Gauge
        let waiting: Gauge
    }

    /// - Parameters:
    ///   - name: distinguishes pools in logs and metrics (`app`, `platform`, `owner`).
    public init(name: String, configuration: DatabaseConfiguration, logger: Logger) {
        self.name = name
        self.configuration = configuration
        self.logger = logger
        threads = NIOThreadPool(numberOfThreads: configuration.poolSize)
        threads.start()
        gauges = Gauges(
            open: Gauge(label: "jarvis_db_pool_connections_open", dimensions: [("pool", name)]),
            idle: Gauge(label: "jarvis_db_pool_connections_idle", dimensions: [("pool", name)]),
            waiting: Gauge(label: "jarvis_db_pool_waiters", dimensions: [("pool", name)])
        )
    }

    /// Closes idle connections and fails waiters; checked-out connections close when returned.
    public func shutdown() async {
        let (idle, waiters) = state.withLock { s in
            s.closed = true
            defer { s.idle = []; s.waiters = [] }
            return (s.idle, s.waiters)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: StoreError.poolClosed) }
        _ = idle
        try? await threads.shutdownGracefully()
    }

    /// Runs a blocking libpq call on the pool's threads.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws(StoreError) -> T) async throws(StoreError) -> T {
        do {
            return try await threads.runIfActive {
                do { return try work() } catch { throw error }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .poolClosed
        }
    }

    /// Checks a connection out; the caller must hand it back with `release`.
    func acquire() async throws(StoreError) -> Connection {
        enum Decision { case use(Connection), open, wait, closed }
        let decision: Decision = state.withLock { s in
            if s.closed { return .closed }
            if let connection = s.idle.popLast() { return .use(connection) }
            if s.open < configuration.poolSize {
                s.open += 1
                return .open
            }
            return .wait
        }
        publishGauges()
        switch decision {
        case .use(let connection): return connection
        case .open: return try await openConnection()
        case .closed: throw .poolClosed
        case .wait:
            switch try await waitForGrant() {
            case .connection(let connection): return connection
            case .slot: return try await openConnection()
            }
        }
    }

    /// Returns a connection; a broken one is closed and its slot passed to the next waiter.
    func release(_ connection: Connection) {
        let healthy = connection.isHealthy
        let handoff: (Waiter, Grant)? = state.withLock { s in
            if s.closed || !healthy {
                s.open -= 1
                if s.closed { return nil }
                guard !s.waiters.isEmpty else { return nil }
                s.open += 1
                return (s.waiters.removeFirst(), .slot)
            }
            guard !s.waiters.isEmpty else {
                s.idle.append(connection)
                return nil
            }
            return (s.waiters.removeFirst(), .connection(connection))
        }
        if !healthy {
            logger.warning("closing broken database connection", metadata: ["pool": "\(name)"])
        }
        if let (waiter, grant) = handoff { waiter.continuation.resume(returning: grant) }
        publishGauges()
    }

    private func openConnection() async throws(StoreError) -> Connection {
        let configuration = self.configuration
        do {
            return try await run { () throws(StoreError) in try Connection(configuration: configuration) }
        } catch {
            // Give the slot back, or to a waiter, who will try for itself.
            let handoff: Waiter? = state.withLock { s in
                s.open -= 1
                guard !s.closed, !s.waiters.isEmpty else { return nil }
                s.open += 1
                return s.waiters.removeFirst()
            }
            handoff?.continuation.resume(returning: .slot)
            publishGauges()
            logger.error("database connection failed", metadata: ["pool": "\(name)", "error": "\(error)"])
            throw error
        }
    }

    private func waitForGrant() async throws(StoreError) -> Grant {
        let id = state.withLock { s in
            s.nextWaiterID += 1
            return s.nextWaiterID
        }
        let timeout = Duration.milliseconds(configuration.acquireTimeoutMilliseconds)
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            self?.abandonWaiter(id, with: StoreError.poolTimeout)
        }
        defer { timer.cancel() }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                    let immediate: Result<Grant, StoreError>? = state.withLock { s in
                        if s.closed { return .failure(.poolClosed) }
                        // A connection may have come back between the first look and now.
                        if let connection = s.idle.popLast() { return .success(.connection(connection)) }
                        s.waiters.append(Waiter(id: id, continuation: continuation))
                        return nil
                    }
                    if let immediate { continuation.resume(with: immediate) }
                    publishGauges()
                }
            } onCancel: {
                self.abandonWaiter(id, with: StoreError.poolTimeout)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .poolTimeout
        }
    }

    private func abandonWaiter(_ id: Int, with error: StoreError) {
        let waiter: Waiter? = state.withLock { s in
            guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiters.remove(at: index)
        }
        waiter?.continuation.resume(throwing: error)
        publishGauges()
    }

    private func publishGauges() {
        let (open, idle, waiting) = state.withLock { ($0.open, $0.idle.count, $0.waiters.count) }
        gauges.open.record(open)
        gauges.idle.record(idle)
        gauges.waiting.record(waiting)
    }

    /// Connections open, idle, and callers waiting: for `/readyz` and tests.
    public var usage: (open: Int, idle: Int, waiting: Int) {
        state.withLock { ($0.open, $0.idle.count, $0.waiters.count) }
    }
}
