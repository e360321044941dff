internal import Synchronization

/// At most `permits` holders at once, at most `maxWaiters` queued behind them, and no one queued
/// longer than `maxWait`: beyond those limits callers are turned away at once, so a flood cannot
/// pile up memory or latency.
final class AdmissionLimiter: Sendable {
    struct Refused: Error {}

    private struct State {
        var available: Int
        var waiters: [(id: Int, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextID = 0
    }

    let maxWaiters: Int
    let maxWait: Duration
    // Locking rule: permits and the queue change together; continuations resume outside the lock.
    private let state: Mutex<State>

    init(permits: Int, maxWaiters: Int, maxWait: Duration) {
        self.maxWaiters = maxWaiters
        self.maxWait = maxWait
        state = Mutex(State(available: permits))
    }

    func withPermit<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async throws {
        enum Decision { case go, wait(Int), refuse }
        let decision: Decision = state.withLock { s in
            if s.available > 0 {
                s.available -= 1
                return .go
            }
            guard s.waiters.count < maxWaiters else { return .refuse }
            s.nextID += 1
            return .wait(s.nextID)
        }
        switch decision {
        case .go: return
        case .refuse: throw Refused()
        case .wait(let id):
            let timer = Task { [weak self, maxWait] in
                try await Task.sleep(for: maxWait)
                self?.abandon(id)
            }
            defer { timer.cancel() }
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let granted = state.withLock { s -> Bool in
                        if s.available > 0 {
                            s.available -= 1
                            return true
                        }
                        s.waiters.append((id, continuation))
                        return false
                    }
                    if granted { continuation.resume() }
                }
            } onCancel: {
                self.abandon(id)
            }
        }
    }

    private func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            if s.waiters.isEmpty {
                s.available += 1
                return nil
            }
            return s.waiters.removeFirst().continuation
        }
        next?.resume()
    }

    private func abandon(_ id: Int) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiters.remove(at: index).continuation
        }
        waiter?.resume(throwing: Refused())
    }
}
