public import Foundation
public import JarvisStore
public import Logging
internal import Metrics
internal import Synchronization

/// Security events (failed logins, lockouts, refresh-token reuse) go through this bounded,
/// asynchronous batch writer so an attack cannot turn into a write per request on the hot path.
/// When the buffer is full, events are dropped and counted in `jarvis_audit_events_dropped_total`.
/// A second instance (`kind` "read") records the admin API's reads the same way.
public final class SecurityEventWriter: Sendable {
    let platform: Database
    /// `security` or `read`: names the metrics and the background service.
    let kind: String
    let capacity: Int
    let interval: Duration
    let logger: Logger
    private let dropped: Counter
    private let written: Counter
    // Locking rule: the buffer is appended to and swapped out only under this lock.
    private let buffer = Mutex<[AuditEvent]>([])

    public init(platform: Database, kind: String = "security", capacity: Int = 10_000, interval: Duration = .milliseconds(200), logger: Logger) {
        self.platform = platform
        self.kind = kind
        self.capacity = capacity
        self.interval = interval
        self.logger = logger
        dropped = Counter(label: "jarvis_audit_events_dropped_total", dimensions: [("kind", kind)])
        written = Counter(label: "jarvis_audit_events_written_total", dimensions: [("kind", kind)])
    }

    /// Queues an event without waiting; never throws.
    public func record(
        tenantID: UUID, actor: AuditActor, action: String, targetType: String, targetID: String?,
        outcome: AuditEvent.Outcome, details: [String: AuditValue] = [:]
    ) {
        let event = AuditEvent(
            id: UUIDv7.make(), tenantID: tenantID, occurredAt: Date(), actorID: actor.id, actorKind: actor.kind,
            action: action, targetType: targetType, targetID: targetID, requestID: actor.requestID,
            clientIP: actor.clientIP, outcome: outcome, details: details.filter { !AuditLog.secretKeys.contains($0.key) })
        let accepted = buffer.withLock { events in
            guard events.count < capacity else { return false }
            events.append(event)
            return true
        }
        if !accepted { dropped.increment() }
    }

    /// Writes everything queued so far in one transaction.
    public func flush() async {
        let batch = buffer.withLock { events in
            defer { events = [] }
            return events
        }
        guard !batch.isEmpty else { return }
        do {
            try await platform.withTransaction { tx in
                for event in batch { try await AuditLog.insert(tx, event) }
            }
            written.increment(by: batch.count)
        } catch {
            dropped.increment(by: batch.count)
            logger.error("security events lost", metadata: ["count": "\(batch.count)", "error": "\(error)"])
        }
    }

    public var pending: Int { buffer.withLock { $0.count } }

    /// Flushes every `interval`, and once more at shutdown.
    public var service: PeriodicService {
        PeriodicService("\(kind)-events", every: interval, logger: logger, work: { await self.flush() }, drain: { await self.flush() })
    }
}
