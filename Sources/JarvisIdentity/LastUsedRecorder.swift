internal import struct Foundation.UUID
internal import struct Foundation.Date
public import JarvisStore
public import Logging
internal import Synchronization

/// Keeps `api_keys.last_used_at` roughly current without a write per request: uses are noted in
/// memory and written in one statement per flush, and a key whose stored time is recent is not
/// noted at all.
public final class LastUsedRecorder: Sendable {
    let platform: Database
    let interval: Duration
    let logger: Logger
    /// How stale `last_used_at` may get before a use is worth writing.
    static let resolution: Double = 60
    // Locking rule: the pending set is read and replaced only under this lock.
    private let pending = Mutex<[UUID: UUID]>([:])

    public init(platform: Database, interval: Duration = .seconds(30), logger: Logger) {
        self.platform = platform
        self.interval = interval
        self.logger = logger
    }

    func noteUse(tenantID: UUID, keyID: UUID, previous: Date?) {
        if let previous, Date().timeIntervalSince(previous) < Self.resolution { return }
        pending.withLock { $0[keyID] = tenantID }
    }

    /// Writes every noted use; called by the service loop and at shutdown.
    public func flush() async {
        let batch = pending.withLock { p in
            defer { p = [:] }
            return p
        }
        guard !batch.isEmpty else { return }
        // A Postgres array literal of UUIDs: their text is hex and dashes only.
        let ids = "{" + batch.keys.map(\.lowercasedString).joined(separator: ",") + "}"
        do {
            try await platform.query(
                "UPDATE api_keys SET last_used_at = now() WHERE id = ANY($1::uuid[])", [ids], idempotent: true, prepared: true)
        } catch {
            logger.warning("could not record API key use", metadata: ["error": "\(error)", "keys": "\(batch.count)"])
        }
    }

    /// Flushes every `interval`, and once more at shutdown.
    public var service: PeriodicService {
        PeriodicService("key-use", every: interval, logger: logger, work: { await self.flush() }, drain: { await self.flush() })
    }
}
