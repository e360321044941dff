internal import Synchronization

/// One transaction for a whole request, so that what a request wrote and what is kept about it
/// commit together or not at all.
///
/// The `Idempotency-Key` handling makes one current while a mutating request runs: every
/// `withTenant`/`withTransaction` on the same pool in that task then runs inside it, each as a
/// savepoint (its failure undoes only itself, as its own transaction would have), and the stored
/// answer is written in it just before the single commit. An instance killed mid-request leaves
/// neither the write nor the answer, so a retry runs the request again instead of conflicting with
/// its own earlier write.
///
/// It opens lazily, at the first joined unit of work. Work it cannot take stays in its own
/// transaction as before: another pool (another database role), a unit that starts while one is
/// already running inside it (nested or concurrent), or one that starts after it closed.
public final class RequestTransaction: Sendable {
    @TaskLocal public static var current: RequestTransaction?

    let pool: ConnectionPool
    // Locking rule: `state` changes only under this lock, which is never held across an await.
    private let state = Mutex(State.unopened)

    private enum State {
        case unopened
        /// Idle between units of work.
        case open(Transaction, ChangeFeed?)
        /// A unit of work runs in it (`nil` while it is being opened).
        case busy(Transaction?, ChangeFeed?)
        /// A savepoint could not be rolled back: only a rollback of the whole remains.
        case failed(Transaction)
        case closed
    }

    /// A request transaction for work done through `database`'s pool.
    public init(for database: Database) {
        pool = database.pool
    }

    enum Taken {
        case fresh
        case open(Transaction)
    }

    /// Claims the transaction for one unit of work, or nil when this unit must run on its own.
    func take(for database: Database) -> Taken? {
        guard database.pool === pool else { return nil }
        return state.withLock { state -> Taken? in
            switch state {
            case .unopened:
                state = .busy(nil, database.changes)
                return .fresh
            case .open(let transaction, let changes):
                state = .busy(transaction, changes)
                return .open(transaction)
            case .busy, .failed, .closed:
                return nil
            }
        }
    }

    /// Ends a unit of work: the transaction is idle again, or (`nil`) was never opened.
    func giveBack(_ transaction: Transaction?) {
        state.withLock { state in
            guard case .busy(_, let changes) = state else { return }
            state = transaction.map { .open($0, changes) } ?? .unopened
        }
    }

    func fail(_ transaction: Transaction) {
        state.withLock { $0 = .failed(transaction) }
    }

    /// Runs `store` in the transaction and commits it with everything the request did. Returns
    /// false, doing nothing, when no work joined it (there is nothing to commit with).
    public func commit(storing store: (Transaction) async throws -> Void) async throws -> Bool {
        guard let (transaction, changes) = try await close() else { return false }
        do {
            try await store(transaction)
            _ = try await pool.run { () throws(StoreError) in try transaction.connection.executeScript("COMMIT") }
        } catch {
            await Self.rollback(transaction)
            throw error
        }
        pool.release(transaction.connection)
        if let changes {
            for tenant in transaction.changes.tenants { changes.publish(.tenant(tenant)) }
        }
        return true
    }

    /// Undoes everything the request did in it.
    public func rollback() async {
        // A failed one has already been dropped while closing.
        guard let open = try? await close() else { return }
        await Self.rollback(open.0)
    }

    /// Closes it for new work (waiting for a unit still running in it, which only an unstructured
    /// task the request left behind could be) and hands back the open transaction, if any.
    private func close() async throws -> (Transaction, ChangeFeed?)? {
        while true {
            let outcome = state.withLock { state -> Result<(Transaction, ChangeFeed?)?, StoreError>? in
                switch state {
                case .busy:
                    return nil
                case .unopened, .closed:
                    state = .closed
                    return .success(nil)
                case .open(let transaction, let changes):
                    state = .closed
                    return .success((transaction, changes))
                case .failed(let transaction):
                    state = .closed
                    transaction.connection.markBroken()
                    transaction.pool.release(transaction.connection)
                    return .failure(.connectionLost("a savepoint of the request's transaction could not be rolled back"))
                }
            }
            if let outcome { return try outcome.get() }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    private static func rollback(_ transaction: Transaction) async {
        let connection = transaction.connection
        if connection.isHealthy {
            do {
                _ = try await transaction.pool.run { () throws(StoreError) in try connection.executeScript("ROLLBACK") }
            } catch {
                connection.markBroken()
            }
        }
        transaction.pool.release(connection)
    }
}

extension Database {
    static let joinSavepoint = "jarvis_join"

    /// Runs one unit of work inside the current request transaction, opening it if this is the
    /// first. `setting` is the unit's own `set_config` (its tenant, or none).
    func joined<T: Sendable>(
        _ shared: RequestTransaction, _ taken: RequestTransaction.Taken, setting: String, _ body: (Transaction) async throws -> T
    ) async throws -> T {
        let transaction: Transaction
        switch taken {
        case .fresh:
            let connection: Connection
            do {
                connection = try await checkout(startingWith: "BEGIN; \(setting); SAVEPOINT \(Self.joinSavepoint)")
            } catch {
                shared.giveBack(nil)
                throw error
            }
            transaction = Transaction(connection: connection, pool: pool, changes: AuthChanges())
        case .open(let open):
            transaction = open
            do {
                _ = try await pool.run { () throws(StoreError) in
                    try open.connection.executeScript("SAVEPOINT \(Self.joinSavepoint); \(setting)")
                }
            } catch {
                shared.fail(open)
                throw error
            }
        }
        let connection = transaction.connection
        do {
            let result = try await body(transaction)
            _ = try await pool.run { () throws(StoreError) in try connection.executeScript("RELEASE SAVEPOINT \(Self.joinSavepoint)") }
            shared.giveBack(transaction)
            return result
        } catch {
            do {
                _ = try await pool.run { () throws(StoreError) in
                    try connection.executeScript("ROLLBACK TO SAVEPOINT \(Self.joinSavepoint); RELEASE SAVEPOINT \(Self.joinSavepoint)")
                }
                shared.giveBack(transaction)
            } catch {
                shared.fail(transaction)
            }
            throw error
        }
    }
}
