public import Logging
internal import Metrics

/// Deletes rows past their keeping time, a chunk per statement and oldest first: each chunk is a
/// short transaction (no long lock, no burst of WAL), and a backlog — the first sweep after an
/// upgrade, an instance stopped for weeks — drains over a few passes instead of one huge DELETE.
/// Every instance sweeps; two at once only find less to do.
public struct ExpirySweep: Sendable {
    let name: String
    let platform: Database
    let statement: String
    let keepSeconds: Int
    let chunk: Int
    let chunksPerPass: Int
    private let deleted: Counter

    /// Sweeps `table`, whose rows are `keep` past their time when `timeColumn` is older than that
    /// (found through an index on it) and `also` holds, if given (the owning module's rule, SQL that
    /// may name `table` and `$2`, the seconds kept). `table` also names the sweep in logs and in
    /// `jarvis_expired_rows_deleted_total{table}`.
    public init(
        table: String, timeColumn: String, keep: Duration, also: String? = nil, platform: Database, chunk: Int = 5_000,
        chunksPerPass: Int = 200
    ) {
        name = table
        keepSeconds = Int(keep.components.seconds)
        self.platform = platform
        // The chunk's row addresses first (the oldest, by the index), then those rows. Names are the
        // owning modules' constants, never input.
        let expired = "\(timeColumn) < now() - make_interval(secs => $2)" + (also.map { " AND (\($0))" } ?? "")
        statement = """
            DELETE FROM \(table) WHERE ctid = ANY (ARRAY(
                SELECT ctid FROM \(table) WHERE \(expired) ORDER BY \(timeColumn) LIMIT $1))
            """
        self.chunk = max(chunk, 1)
        self.chunksPerPass = max(chunksPerPass, 1)
        deleted = Counter(label: "jarvis_expired_rows_deleted_total", dimensions: [("table", table)])
    }

    /// Deletes chunks until one comes back short (or `chunksPerPass` ran). - Returns: rows deleted.
    @discardableResult
    public func pass() async throws -> Int {
        var total = 0
        for _ in 0..<chunksPerPass {
            let gone = try await platform.withTransaction { tx in
                // The addresses go to a TID scan. Without this, a table whose statistics say it is small
                // (a burst since the last ANALYZE) is planned as a scan testing every row against every
                // address in turn: 5,000 comparisons a row.
                try await tx.query("SET LOCAL enable_seqscan = off")
                return try await tx.query(statement, [chunk, keepSeconds]).affected
            }
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
