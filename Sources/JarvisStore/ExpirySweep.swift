public import Logging
internal import Metrics

/// Deletes rows past their keeping time, a chunk per statement and oldest first: each statement is
/// a short transaction (no long lock, no burst of WAL), and a backlog — the first sweep after an
/// upgrade, an instance stopped for weeks — drains over a few passes instead of one huge DELETE.
/// Every instance sweeps; two at once only find less to do.
public struct ExpirySweep: Sendable {
    let name: String
    let platform: Database
    /// The owning module's SQL: deletes at most `$1` rows, the oldest of those more than `$2`
    /// seconds past their time (written, expired, last used: the table's own rule).
    let statement: String
    let keepSeconds: Int
    let chunk: Int
    let chunksPerPass: Int
    private let deleted: Counter

    /// `table` names the sweep in logs and in `jarvis_expired_rows_deleted_total{table}`.
    public init(table: String, keep: Duration, platform: Database, chunk: Int = 5_000, chunksPerPass: Int = 200, statement: String) {
        name = table
        keepSeconds = Int(keep.components.seconds)
        self.platform = platform
        self.statement = statement
        self.chunk = max(chunk, 1)
        self.chunksPerPass = max(chunksPerPass, 1)
        deleted = Counter(label: "jarvis_expired_rows_deleted_total", dimensions: [("table", table)])
    }

    /// Deletes chunks until one comes back short (or `chunksPerPass` ran). - Returns: rows deleted.
    @discardableResult
    public func pass() async throws -> Int {
        var total = 0
        for _ in 0..<chunksPerPass {
            let gone = try await platform.query(statement, [chunk, keepSeconds]).affected
            total += gone
            deleted.increment(by: gone)
            guard gone >= chunk else { break }
        }
        return total
    }

    public func service(every interval: Duration = .seconds(60), logger: Logger) -> PeriodicService {
        PeriodicService("\(name) expiry", every: interval, logger: logger) { try await self.pass() }
    }
}
