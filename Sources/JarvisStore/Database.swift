public import struct Foundation.UUID
public import Logging
internal import Synchronization
internal import Tracing

/// The one way code reaches PostgreSQL: a pool plus transactions.
///
/// ```swift
/// let user = try await database.withTenant(tenantID) { tx in
///     try await tx.query("SELECT * FROM principals WHERE id = $1", [id]).first
/// }
/// ```
public struct Database: Sendable {
    public let pool: ConnectionPool
    /// Where a committed transaction announces the tenants it changed (`Transaction.noteChange`),
    /// so this instance's caches never serve them stale; other instances hear the NOTIFY.
    public let changes: ChangeFeed?

    public init(pool: ConnectionPool, changes: ChangeFeed? = nil) {
        self.pool = pool
        self.changes = changes
    }

    public init(name: String, configuration: DatabaseConfiguration, logger: Logger, changes: ChangeFeed? = nil) {
        pool = ConnectionPool(name: name, configuration: configuration, logger: logger)
        self.changes = changes
    }

    /// True when the database answers a trivial statement.
    public func ping() async throws {
        try await query("SELECT 1", idempotent: true)
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    @discardableResult
    public func withTransaction<T: Sendable>(_ body: (Transaction) async throws -> T) async throws -> T {
        try await transaction(setting: "SELECT set_config('app.tenant_id', '', true)", body)
    }

    /// A transaction whose row-level security sees only `tenantID`'s rows: it does
    /// `SET LOCAL app.tenant_id`, which ends with the transaction, never per session.
    @discardableResult
    public func withTenant<T: Sendable>(_ tenantID: UUID, _ body: (Transaction) async throws -> T) async throws -> T {
        // A UUID's text is hex digits and dashes only, so it is safe inside the control statement;
        // sending both in one round trip keeps tenant transactions cheap.
        let id = tenantID.lowercasedString
        return try await transaction(setting: "SELECT set_config('app.tenant_id', '\(id)', true)", body)
    }

    /// One statement in its own implicit transaction.
    @discardableResult
    /// - Parameters:
    ///   - idempotent: when true (reads, upserts), a statement that met a connection which died
    ///     while pooled is retried once on a fresh one.
    ///   - prepared: planned once per connection and reused (hot statements of fixed text only).
    public func query(
        _ sql: String, _ parameters: [any SQLBindable] = [], idempotent: Bool = false, prepared: Bool = false
    ) async throws(StoreError) -> Rows {
        var retried = false
        while true {
            let connection = try await checkout(startingWith: nil)
            do {
                let rows = try await pool.run { () throws(StoreError) in try connection.execute(sql, parameters, prepared: prepared) }
                pool.release(connection)
                return rows
            } catch {
                pool.release(connection)
                guard idempotent, !retried, error.breaksConnection else { throw error }
                retried = true
            }
        }
    }

    /// - Parameter setting: the transaction's `set_config`, sent with its `BEGIN` in one round trip.
    private func transaction<T: Sendable>(setting: String, _ body: (Transaction) async throws -> T) async throws -> T {
        // Inside a traced request, each transaction is a client span of it; elsewhere (background
        // work) no span is started, so nothing starts a trace of its own.
        guard ServiceContext.current?.isEmpty == false else { return try await untraced(setting: setting, body) }
        return try await withSpan("db.transaction", ofKind: .client) { span in
            span.attributes["db.system"] = "postgresql"
            span.attributes["db.pool"] = pool.name
            do {
                return try await untraced(setting: setting, body)
            } catch {
                span.recordError(error)
                span.setStatus(SpanStatus(code: .error))
                throw error
            }
        }
    }

    private func untraced<T: Sendable>(setting: String, _ body: (Transaction) async throws -> T) async throws -> T {
        if let shared = RequestTransaction.current, let taken = shared.take(for: self) {
            return try await joined(shared, taken, setting: setting, body)
        }
        let connection = try await checkout(startingWith: "BEGIN; \(setting)")
        let transaction = Transaction(connection: connection, pool: pool, changes: AuthChanges())
        do {
            let result = try await body(transaction)
            _ = try await pool.run { () throws(StoreError) in try connection.executeScript("COMMIT") }
            pool.release(connection)
            if let changes {
                for tenant in transaction.changes.tenants { changes.publish(.tenant(tenant)) }
            }
            return result
        } catch {
            if connection.isHealthy {
                do {
                    _ = try await pool.run { () throws(StoreError) in try connection.executeScript("ROLLBACK") }
                } catch {
                    connection.markBroken()
                }
            }
            pool.release(connection)
            throw error
        }
    }

    /// Takes a connection and runs `statement` on it. An idle connection that died while pooled
    /// (a database restart, say) is found here, before any work was done, so it is dropped and the
    /// next one tried: a restart costs callers nothing but the reconnect.
    func checkout(startingWith statement: String?) async throws(StoreError) -> Connection {
        var attempts = 0
        while true {
            let connection = try await pool.acquire()
            guard let statement else {
                if connection.isHealthy { return connection }
                connection.markBroken()
                pool.release(connection)
                attempts += 1
                if attempts > pool.configuration.poolSize { throw .connectionLost("no healthy connection") }
                continue
            }
            do {
                _ = try await pool.run { () throws(StoreError) in try connection.executeScript(statement) }
                return connection
            } catch {
                pool.release(connection)
                attempts += 1
                guard error.breaksConnection, attempts <= pool.configuration.poolSize else { throw error }
            }
        }
    }
}

/// A transaction in progress; valid only inside the closure that received it.
public struct Transaction: Sendable {
    let connection: Connection
    let pool: ConnectionPool
    let changes: AuthChanges

    /// Records that this transaction changes what decides answers for `tenantID` (a key, a
    /// principal, a binding, a role, a quota policy, the tenant). Other instances learn it from the
    /// NOTIFY the database triggers send; this one from its change feed as soon as it commits.
    public func noteChange(_ tenantID: UUID) { changes.add(tenantID) }

    /// Runs one statement with `$1...$n` bound to `parameters`; with `prepared`, planned once per
    /// connection and reused (hot statements of fixed text only).
    @discardableResult
    public func query(_ sql: String, _ parameters: [any SQLBindable] = [], prepared: Bool = false) async throws(StoreError) -> Rows {
        let connection = self.connection
        return try await pool.run { () throws(StoreError) in try connection.execute(sql, parameters, prepared: prepared) }
    }
}

extension Transaction {
    /// Runs `COPY (query) TO STDOUT …` and hands its output to `consume` in chunks of whole rows
    /// (about `chunkBytes` each) as they arrive, so a result of any size never sits in memory. COPY
    /// takes no parameters: bind values first (`set_config(…, true)`) and read them in the query.
    /// If `consume` throws (the client went away), the connection is dropped, not reused mid-COPY.
    /// `timeout` bounds each wait for the server; set the statement's own `statement_timeout` to match.
    public func copyOut(
        _ sql: String, timeout: Duration, chunkBytes: Int = 256 * 1_024, _ consume: ([UInt8]) async throws -> Void
    ) async throws {
        let connection = self.connection
        let wait = Int(timeout.components.seconds * 1_000 + 1_000)
        try await pool.run { () throws(StoreError) in try connection.startCopyOut(sql, waitMilliseconds: wait) }
        while let chunk = try await pool.run({ () throws(StoreError) in try connection.readCopy(limit: chunkBytes, waitMilliseconds: wait) }) {
            do {
                try await consume(chunk)
            } catch {
                connection.markBroken()
                throw error
            }
        }
    }

    /// Runs a write whose unique violation means "already exists": that case becomes `conflict`.
    @discardableResult
    public func query(_ sql: String, _ parameters: [any SQLBindable] = [], onConflict conflict: @autoclosure () -> any Error) async throws -> Rows {
        do {
            return try await query(sql, parameters)
        } catch .uniqueViolation {
            throw conflict()
        }
    }
}

/// The tenants a transaction changed, gathered while it runs.
final class AuthChanges: Sendable {
    // Locking rule: the set is only touched under this lock.
    private let changed = Mutex<Set<UUID>>([])
    func add(_ tenantID: UUID) { changed.withLock { _ = $0.insert(tenantID) } }
    var tenants: Set<UUID> { changed.withLock { $0 } }
}

extension Database {
    /// Runs `body` with a pool of its own, closed when `body` returns or throws: for commands that
    /// need the database for a moment (`migrate`, `bootstrap`, `keys rotate`).
    public static func using<T: Sendable>(
        name: String, configuration: DatabaseConfiguration, logger: Logger, _ body: (Database) async throws -> T
    ) async throws -> T {
        let database = Database(name: name, configuration: configuration, logger: logger)
        do {
            let result = try await body(database)
            await database.pool.shutdown()
            return result
        } catch {
            await database.pool.shutdown()
            throw error
        }
    }
}
