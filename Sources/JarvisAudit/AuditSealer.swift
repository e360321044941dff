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

    /// A pass that found this many events or more means writers are outpacing the interval: the
    /// next pass follows at once instead of after a rest.
    static let busyPass = 2_000

    /// Passes back to back while each finds `busyPass` events or more: a backlog, or writers
    /// appending as fast as they can, are sealed without resting an interval after each pass. Resting
    /// after every pass short of a full batch held 200,000 security events appended in ten
    /// statements to ~45,000 sealed a second (each statement's 20,000 events sealed, then a rest);
    /// going on while passes are busy, ~50,000 (four alternating runs each way by hand). Under light
    /// load (an admin API's few events per interval) it rests as before. - Returns: events sealed.
    @discardableResult
    func drain() async throws -> Int {
        var total = 0
        for _ in 0..<Self.passesInARow {
            let sealed = try await pass()
            total += sealed
            guard sealed >= Self.busyPass else { break }
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
