internal import Hummingbird
internal import JarvisStore
internal import Synchronization

/// `/readyz` for load balancers and orchestrators, which must get an answer in time whatever the
/// database does: one check runs at a time, and callers wait for it at most `patience`. A check
/// still running when they give up keeps running (bounded by the pool's own deadlines), and the
/// next callers wait on it instead of piling more queries onto a database that is not answering.
/// It has a connection of its own, so a busy pool does not read as a database that is down.
final class ReadinessProbe: Sendable {
    let database: Database
    let migrator: Migrator?
    let patience: Duration
    // Locking rule: the check in flight is set and cleared under this lock.
    private let running = Mutex<Task<SystemController.Status, any Error>?>(nil)

    init(database: Database, migrator: Migrator?, patience: Duration = .milliseconds(800)) {
        self.database = database
        self.migrator = migrator
        self.patience = patience
    }

    func status() async throws -> SystemController.Status {
        let task = running.withLock { current -> Task<SystemController.Status, any Error> in
            if let current { return current }
            let task = Task { [self] in
                defer { running.withLock { $0 = nil } }
                return try await check()
            }
            current = task
            return task
        }
        // Whichever comes first answers: the check, or the end of our patience. (A task group would
        // wait for the check anyway: waiting on another task's value ignores cancellation.)
        let patience = self.patience
        return try await withCheckedThrowingContinuation { continuation in
            let first = FirstAnswer(continuation)
            Task { first.give(await task.result) }
            Task {
                try? await Task.sleep(for: patience)
                first.give(.failure(Problem(.serviceUnavailable, "not-ready", "the database did not answer in time", headers: [.retryAfter: "1"])))
            }
        }
    }

    /// Resumes a continuation with the first result it is given and ignores the rest.
    final class FirstAnswer: Sendable {
        // Locking rule: taken out exactly once, under the lock.
        private let continuation: Mutex<CheckedContinuation<SystemController.Status, any Error>?>

        init(_ continuation: CheckedContinuation<SystemController.Status, any Error>) { self.continuation = Mutex(continuation) }

        func give(_ result: Result<SystemController.Status, any Error>) {
            continuation.withLock { taken in defer { taken = nil }; return taken }?.resume(with: result)
        }
    }

    private func check() async throws -> SystemController.Status {
        do {
            try await database.ping()
            guard let migrator else { return .init(status: "ready", migrations: nil) }
            let status = try await migrator.status(database)
            guard status.pending.isEmpty else {
                throw Problem(.serviceUnavailable, "not-ready", "migrations pending: \(status.pending.map(String.init).joined(separator: ", "))")
            }
            return .init(status: "ready", migrations: status.applied.count)
        } catch let problem as Problem {
            throw problem
        } catch StoreError.migration(let message) {
            throw Problem(.serviceUnavailable, "not-ready", message)
        } catch {
            throw Problem(.serviceUnavailable, "not-ready", "the database is unreachable", headers: [.retryAfter: "1"])
        }
    }
}
