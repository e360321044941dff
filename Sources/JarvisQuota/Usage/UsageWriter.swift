public import JarvisStore
public import Logging
public import ServiceLifecycle
internal import Foundation
internal import Metrics
internal import Synchronization

/// Durable usage ingestion with group commit: events from concurrent requests queue here and are
/// written together — one transaction, one multi-row statement per table — and each request is
/// answered once the transaction holding its events has committed. While a commit runs, the
/// next batch gathers, so the more requests arrive, the more each commit carries. A few lanes
/// commit side by side, so one batch's WAL flush does not leave the next waiting.
public final class UsageWriter: Service, Sendable {
    typealias Waiter = CheckedContinuation<[UsageOutcome], any Error>

    struct Pending {
        let events: [UsageEvent]
        let waiter: Waiter
    }

    struct Queue {
        var pending: [Pending] = []
        /// Lanes waiting for work.
        var idle: [CheckedContinuation<Void, Never>] = []
        var stopped = false
        /// Events submitted and not yet answered (queued or being written).
        var waiting = 0
        /// Events queued and not yet taken by a lane.
        var queued = 0
        /// Lanes with a transaction in flight, and the most there have been at once.
        var writing = 0
        var mostWriting = 0
        /// Events in the transactions in flight.
        var writingEvents = 0

        /// Whether a lane should start a transaction now: when none is in flight, when enough has
        /// gathered, or when what is in flight is big (a small request is not held behind a
        /// thousand-event batch). Otherwise the queue keeps gathering until a lane finishes — at
        /// most one short statement's time — so a commit carries many events instead of each idle
        /// lane taking one request (eleven events per commit with three eager lanes, twenty-six so).
        func ready(gather: Int) -> Bool {
            !pending.isEmpty && (writing == 0 || queued >= gather || writingEvents >= gather || stopped)
        }
    }

    let platform: Database
    let engine: QuotaEngine?
    let logger: Logger
    /// Most events one transaction carries.
    let maxBatch: Int
    /// Transactions in flight at once.
    let lanes: Int
    /// Events that make a second transaction worth starting while one is in flight.
    let gather: Int
    // Locking rule: the queue and the idle lanes change together.
    private let queue = Mutex(Queue())
    /// `jarvis_usage_pending_events`: what waits to be written (an alert watches it grow).
    private let backlog = Gauge(label: "jarvis_usage_pending_events")
    /// Transactions written and the events they carried: their ratio is the group commit's size.
    private let commits = Counter(label: "jarvis_usage_commits_total")
    private let committedEvents = Counter(label: "jarvis_usage_committed_events_total")

    /// Events are rated as they are stored (off: stored unpriced, for a later re-rating).
    let rating: Bool

    public init(platform: Database, engine: QuotaEngine?, logger: Logger, maxBatch: Int = 5_000, lanes: Int = 3, gather: Int = 64, rating: Bool = true) {
        self.gather = max(gather, 1)
        self.rating = rating
        self.platform = platform
        self.engine = engine
        self.logger = logger
        self.maxBatch = maxBatch
        self.lanes = max(lanes, 1)
    }

    /// Stores `events` durably. - Returns: one outcome per event, in order, after the commit.
    public func submit(_ events: [UsageEvent]) async throws -> [UsageOutcome] {
        guard !events.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let (queued, wake, waiting) = queue.withLock { q -> (Bool, CheckedContinuation<Void, Never>?, Int) in
                guard !q.stopped else { return (false, nil, q.waiting) }
                q.pending.append(Pending(events: events, waiter: waiter))
                q.waiting += events.count
                q.queued += events.count
                return (true, q.idle.isEmpty || !q.ready(gather: gather) ? nil : q.idle.removeFirst(), q.waiting)
            }
            // After shutdown began nothing new is taken; what was queued is still written.
            guard queued else { return waiter.resume(throwing: StoreError.poolClosed) }
            backlog.record(waiting)
            wake?.resume()
        }
    }

    /// The most transactions that have been in flight at once.
    package var mostInFlight: Int { queue.withLock { $0.mostWriting } }

    public func run() async throws {
        // Stopped by graceful shutdown, and by cancellation too: when another service fails (the
        // HTTP port taken), the group cancels everything, and idle lanes must not wait forever.
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<lanes {
                        group.addTask {
                            while let batch = await self.nextBatch() {
                                await self.write(batch)
                                self.answered(batch)
                            }
                        }
                    }
                }
            } onGracefulShutdown: {
                self.stop()
            }
        } onCancel: {
            self.stop()
        }
    }

    private func answered(_ batch: [Pending]) {
        let count = batch.reduce(0) { $0 + $1.events.count }
        backlog.record(queue.withLock { q in
            q.waiting -= count
            q.writing -= 1
            q.writingEvents -= count
            return q.waiting
        })
    }

    /// Lets every lane finish once the queue is drained.
    private func stop() {
        let idle = queue.withLock { q -> [CheckedContinuation<Void, Never>] in
            q.stopped = true
            defer { q.idle = [] }
            return q.idle
        }
        for lane in idle { lane.resume() }
    }

    /// Waits for work; takes whole requests up to `maxBatch` events. nil once stopped and drained.
    private func nextBatch() async -> [Pending]? {
        while true {
            let (taken, another) = queue.withLock { q -> ([Pending]?, CheckedContinuation<Void, Never>?) in
                guard q.ready(gather: gather) else { return (nil, nil) }
                var count = 0
                var split = 0
                while split < q.pending.count, split == 0 || count + q.pending[split].events.count <= maxBatch {
                    count += q.pending[split].events.count
                    split += 1
                }
                let batch = Array(q.pending[..<split])
                q.pending.removeFirst(split)
                q.queued -= count
                q.writing += 1
                q.writingEvents += count
                q.mostWriting = max(q.mostWriting, q.writing)
                // A backlog beyond this batch starts an idle lane too: submits wake lanes only as
                // they arrive, and a drained client sends none while it waits.
                return (batch, q.ready(gather: gather) && !q.idle.isEmpty ? q.idle.removeFirst() : nil)
            }
            another?.resume()
            if let taken { return taken }
            if queue.withLock({ $0.stopped && $0.pending.isEmpty }) { return nil }
            await withCheckedContinuation { (wake: CheckedContinuation<Void, Never>) in
                let now = queue.withLock { q -> Bool in
                    if q.ready(gather: gather) || (q.stopped && q.pending.isEmpty) { return true }
                    q.idle.append(wake)
                    return false
                }
                if now { wake.resume() }
            }
        }
    }

    private func write(_ batch: [Pending]) async {
        let events = batch.flatMap(\.events)
        do {
            let accepted = try await UsageLedger.insert(platform, events, rating: rating)
            commits.increment()
            committedEvents.increment(by: events.count)
            var offset = 0
            for pending in batch {
                let outcomes = (offset..<offset + pending.events.count).map { accepted[$0] != nil ? UsageOutcome.accepted : .duplicate }
                offset += pending.events.count
                pending.waiter.resume(returning: outcomes)
            }
            if let engine {
                for (event, stored) in zip(events, accepted) {
                    guard let stored else { continue }
                    engine.record(tenantID: event.tenantID, principalID: event.principalID, tokens: event.tokens,
                                  reservation: event.reservationID, occurredAt: event.occurredAt, costMicros: stored.costMicros,
                                  costCenter: stored.costCenter)
                }
            }
        } catch let error as StoreError where batch.count > 1 && !error.isTransient {
            // The statement refused something in the group. Whose it was is not known, and no
            // request may be told its own input was wrong because of another's: each is written
            // alone, so only the one at fault hears of it.
            logger.warning("usage batch refused; writing its requests one by one", metadata: ["requests": "\(batch.count)", "error": "\(error)"])
            for pending in batch { await write([pending]) }
        } catch {
            logger.warning("usage batch not stored", metadata: ["events": "\(events.count)", "error": "\(error)"])
            for pending in batch { pending.waiter.resume(throwing: error) }
        }
    }
}
