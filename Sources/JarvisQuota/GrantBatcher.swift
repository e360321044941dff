internal import Foundation
internal import Synchronization

/// Takes from the global allowance rows for checks that ran short, many limits per statement:
/// while one statement runs, the takes that arrive wait and go together in the next (group
/// commit, as usage ingestion does). Under load the statements per second stay at about one per
/// round trip however many limits run short, instead of one per limit; alone, a take waits for
/// nothing but its own round trip.
final class GrantBatcher: Sendable {
    typealias Request = (key: GlobalAllowances.Key, spec: GlobalAllowances.Spec, returned: Double, wanted: Double)

    private struct Waiting {
        let request: Request
        let continuation: CheckedContinuation<Double, any Error>
    }

    // Locking rule: the queue and whether a statement is running change together.
    private let state = Mutex<(queue: [Waiting], running: Bool)>(([], false))
    private let send: @Sendable ([Request]) async throws -> [Double]

    /// - Parameter send: one statement for a batch: the grant of each request, in order.
    init(send: @escaping @Sendable ([Request]) async throws -> [Double]) {
        self.send = send
    }

    /// What the global row grants of `request` (0 when its limit has nothing left).
    func grant(_ request: Request) async throws -> Double {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state -> Bool in
                state.queue.append(Waiting(request: request, continuation: continuation))
                if state.running { return false }
                state.running = true
                return true
            }
            if start { Task { await self.drain() } }
        }
    }

    /// Sends what has queued, batch after batch, until nothing waits.
    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Waiting] in
                let batch = state.queue
                state.queue = []
                if batch.isEmpty { state.running = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                let granted = try await send(batch.map(\.request))
                // Every waiter is resumed, even if the answer came back short (nothing granted).
                for (index, waiting) in batch.enumerated() { waiting.continuation.resume(returning: index < granted.count ? granted[index] : 0) }
            } catch {
                for waiting in batch { waiting.continuation.resume(throwing: error) }
            }
        }
    }
}
