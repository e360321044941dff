public import JarvisStore
public import Logging
public import struct Foundation.UUID

/// Seals committed audit events into their tenant's hash chain (`jarvis_audit_seal`, migration
/// 0019), every `interval`: writers only add a row to the waiting list in their own transaction
/// and never wait for a chain head, so sealing does not serialise the admin API. An event is
/// sealed within about one interval of its commit (longer only while a backlog of more than
/// `batch` events per tenant drains). Any instance may seal; a tenant is sealed by one at a time.
public struct AuditSealer: Sendable {
    let platform: Database
    let logger: Logger
    let interval: Duration
    let batch: Int
    public init(platform: Database, logger: Logger, interval: Duration = .milliseconds(200), batch: Int = 50_000) {
        self.platform = platform
        self.logger = logger
        self.interval = interval
        self.batch = batch
    }

    public var service: PeriodicService {
        PeriodicService("audit-sealer", every: interval, logger: logger) { try await self.drain() }
    }

    /// Most passes run back to back before the service rests for its interval (and a graceful
    /// shutdown may begin): about a quarter of a million events.
    static let passesInARow = 5

    /// Passes back to back while each finds a full batch: a backlog drains without resting an
    /// interval after each batch (200 ms after every 50,000 events held 200,000 queued security
    /// events to ~45,000 sealed a second in `make bench`). - Returns: how many events it sealed.
    @discardableResult
    func drain() async throws -> Int {
        var total = 0
        for _ in 0..<Self.passesInARow {
            let sealed = try await pass()
            total += sealed
            guard sealed >= batch else { break }
        }
        return total
    }

    /// Seals what is waiting now, every tenant in one round trip (a pass stops after about `batch`
    /// events; the next one goes on). - Returns: how many events it sealed.
    @discardableResult
    public func pass() async throws -> Int {
        try await platform.query("SELECT jarvis_audit_seal_all($1) AS sealed", [batch]).first?.int("sealed") ?? 0
    }

    /// Seals the tenant's waiting events, batch by batch, until none is left. Another sealer may
    /// hold the tenant for a moment (its snapshot perhaps taken before the newest events committed):
    /// this waits for it rather than return with events still waiting.
    @discardableResult
    public func seal(_ tenantID: UUID) async throws -> Int {
        var total = 0
        for _ in 0..<500 {
            let sealed = try await platform.query("SELECT jarvis_audit_seal($1, $2) AS sealed", [tenantID, batch]).first?.int("sealed") ?? 0
            total += sealed
            if sealed == batch { continue }
            let waiting = try await platform.query("SELECT EXISTS (SELECT 1 FROM audit_unsealed WHERE tenant_id = $1) AS waiting", [tenantID])
            guard try waiting.first?.bool("waiting") == true else { return total }
            try await Task.sleep(for: .milliseconds(10))
        }
        return total
    }
}
