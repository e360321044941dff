public import Foundation
public import JarvisStore
public import Logging
internal import Metrics
internal import Synchronization

/// The hot path's decisions (`/v1/check`, `/v1/authz`) as access events: counted in memory per
/// minute and per (tenant, principal, source, permission, outcome, reason), and written as one
/// `access.decisions` audit event per such group and minute — never a row per check. A bounded
/// number of groups per minute is kept; decisions beyond it are counted in
/// `jarvis_audit_events_dropped_total{kind="access"}` instead.
public final class AccessTally: Sendable {
    /// What one group counts.
    public struct Key: Hashable, Sendable {
        public var tenantID: UUID
        public var principalID: UUID?
        public var principalKind: AuditActor.Kind
        /// `check` or `authz`.
        public var source: String
        /// The permission decided, or `(invalid)` for a name no role can grant.
        public var permission: String
        public var outcome: AuditEvent.Outcome
        /// Why it was refused (`permission_denied`, `rate_limited`, …); nil when allowed.
        public var reason: String?

        public init(
            tenantID: UUID, principalID: UUID?, principalKind: AuditActor.Kind, source: String, permission: String,
            outcome: AuditEvent.Outcome, reason: String?
        ) {
            self.tenantID = tenantID
            self.principalID = principalID
            self.principalKind = principalKind
            self.source = source
            self.permission = permission
            self.outcome = outcome
            self.reason = reason
        }
    }

    /// One shard's minute: the minute (seconds since 1970 / 60), its counts, and the minutes it
    /// has finished but not yet handed to the writer.
    struct Shard {
        var minute: Int64 = 0
        var counts: [Key: Int] = [:]
        var finished: [(minute: Int64, counts: [Key: Int])] = []
    }

    /// A shard's lock, in a class because a `Mutex` cannot be copied into an array.
    final class Locked: Sendable {
        let state = Mutex(Shard())
    }

    let platform: Database
    let logger: Logger
    let interval: Duration
    /// Groups kept per shard and minute.
    let capacity: Int
    // Sharded by principal so concurrent decisions rarely meet on one lock; each lock guards only
    // its shard's dictionary, held for one increment.
    private let shards: [Locked]
    private let dropped: Counter
    private let written: Counter

    public init(platform: Database, logger: Logger, interval: Duration = .seconds(5), capacity: Int = 4_096, shards: Int = 16) {
        self.platform = platform
        self.logger = logger
        self.interval = interval
        self.capacity = capacity
        self.shards = (0..<shards).map { _ in Locked() }
        dropped = Counter(label: "jarvis_audit_events_dropped_total", dimensions: [("kind", "access")])
        written = Counter(label: "jarvis_audit_events_written_total", dimensions: [("kind", "access")])
    }

    /// Counts one decision; never waits on the database, never throws.
    public func count(_ key: Key) {
        let minute = CoarseClock.seconds() / 60
        let index = Int(UInt(bitPattern: (key.principalID ?? key.tenantID).hashValue) % UInt(shards.count))
        let kept = shards[index].state.withLock { shard -> Bool in
            if shard.minute != minute {
                if !shard.counts.isEmpty { shard.finished.append((shard.minute, shard.counts)) }
                shard.minute = minute
                shard.counts = [:]
            }
            if let n = shard.counts[key] {
                shard.counts[key] = n + 1
                return true
            }
            guard shard.counts.count < capacity else { return false }
            shard.counts[key] = 1
            return true
        }
        if !kept { dropped.increment() }
    }

    /// Writes every finished minute (`all`: the current one too, at shutdown) as audit events, in
    /// one transaction. - Returns: how many events it wrote.
    @discardableResult
    public func flush(all: Bool = false) async -> Int {
        let now = CoarseClock.seconds() / 60
        var minutes: [(minute: Int64, counts: [Key: Int])] = []
        for shard in shards {
            minutes += shard.state.withLock { shard in
                if all || shard.minute < now, !shard.counts.isEmpty {
                    shard.finished.append((shard.minute, shard.counts))
                    shard.counts = [:]
                }
                defer { shard.finished = [] }
                return shard.finished
            }
        }
        let events = minutes.flatMap { minute in minute.counts.map { Self.event($0.key, count: $0.value, minute: minute.minute) } }
        guard !events.isEmpty else { return 0 }
        do {
            try await platform.withTransaction { tx in
                for event in events { try await AuditLog.insert(tx, event) }
            }
            written.increment(by: events.count)
            return events.count
        } catch {
            dropped.increment(by: minutes.reduce(0) { $0 + $1.counts.values.reduce(0, +) })
            logger.error("access events lost", metadata: ["count": "\(events.count)", "error": "\(error)"])
            return 0
        }
    }

    /// One group's minute as an audit event, stamped with the minute's last instant.
    static func event(_ key: Key, count: Int, minute: Int64) -> AuditEvent {
        let start = Date(timeIntervalSince1970: TimeInterval(minute * 60))
        var details: [String: AuditValue] = [
            "count": .int(count), "source": .string(key.source), "minute": .string(Timestamp.format(start)),
        ]
        if let reason = key.reason { details["reason"] = .string(reason) }
        return AuditEvent(
            id: UUIDv7.make(), tenantID: key.tenantID, occurredAt: min(start.addingTimeInterval(59.999_999), Date()), actorID: key.principalID,
            actorKind: key.principalKind, action: "access.decisions", targetType: "permission", targetID: key.permission,
            requestID: nil, clientIP: nil, outcome: key.outcome, details: details)
    }

    /// Writes finished minutes every `interval`, and everything at shutdown.
    public var service: PeriodicService {
        PeriodicService("access-events", every: interval, logger: logger, work: { await self.flush() }, drain: { await self.flush(all: true) })
    }
}
