public import Logging
internal import NIOPosix
internal import Synchronization

/// A session-level advisory lock this process holds for as long as it lives, on a connection of its
/// own: other instances can ask PostgreSQL whether this one is still alive (`isAlive(_:)` in SQL:
/// `pg_try_advisory_xact_lock(class, key)` succeeds only once the holder's session is gone). When the
/// process dies, even by kill -9, the server ends its session and the lock goes with it at once, so
/// work it had claimed can be taken over without waiting for a timeout.
public final class InstanceLock: Sendable {
    /// The advisory lock class of instance locks (the first of the two int4 keys).
    public static let lockClass: Int32 = 0x4A_52_49_4E  // "JRIN"

    let configuration: DatabaseConfiguration
    let logger: Logger
    private let threads: NIOThreadPool
    // Locking rule: the key and the connection holding it change together.
    private let state = Mutex<(key: Int32, connection: Connection?)>((0, nil))

    public init(configuration: DatabaseConfiguration, logger: Logger) {
        var configuration = configuration
        configuration.poolSize = 1
        configuration.applicationName = "jarvis-instance"
        self.configuration = configuration
        self.logger = logger
        threads = NIOThreadPool(numberOfThreads: 1)
        threads.start()
        state.withLock { $0.key = Int32.random(in: 1...Int32.max) }
    }

    /// This instance's key (the second int4 of the lock).
    public var key: Int32 { state.withLock { $0.key } }

    /// Takes the lock, under a fresh key if another live instance holds this one.
    public func acquire() async throws {
        let configuration = self.configuration
        let wanted = self.key
        let (connection, key) = try await threads.runIfActive { () throws -> (Connection, Int32) in
            let connection = try Connection(configuration: configuration)
            var key = wanted
            while true {
                let rows = try connection.execute("SELECT pg_try_advisory_lock($1, $2) AS held", [Self.lockClass, key])
                if try rows.first?.bool("held") == true { return (connection, key) }
                key = Int32.random(in: 1...Int32.max)
            }
        }
        state.withLock { $0 = (key, connection) }
    }

    /// Keeps the lock held: checks its connection every second and takes the lock again after the
    /// connection broke (a database restart ends every session). At shutdown the session ends,
    /// and the lock with it.
    public var service: PeriodicService {
        PeriodicService("instance-lock", every: .seconds(1), logger: logger, work: { try await self.check() }, drain: { await self.release() })
    }

    func check() async throws {
        guard let connection = state.withLock({ $0.connection }) else { return try await acquire() }
        do {
            _ = try await threads.runIfActive { try connection.execute("SELECT 1", []) }
        } catch {
            state.withLock { $0.connection = nil }
            throw error
        }
    }

    func release() async {
        state.withLock { $0.connection = nil }
        try? await threads.shutdownGracefully()
    }
}
