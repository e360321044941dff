public import Foundation
public import JarvisStore
public import Logging
internal import JarvisCrypto

/// The cold tier of the audit log: a monthly partition past the hot window is written to the
/// archive directory — per tenant, gzip NDJSON of its events with their chain links — checked
/// against the chain, recorded, then detached and dropped; `restore` brings a month back for an
/// investigation. The links stay in `audit_chain`, so the live verification walks across an
/// archived month (`archived` in its report) and `verify` proves the month's events from the files.
///
/// A file `<YYYY-MM>/<tenant id>-<first seq>.ndjson.gz` holds one `{"type":"archive", …}` line, then
/// per link `{"type":"event","seq","prev_hash","hash","canonical","row"}` in seq order (`row`: the
/// event as stored, for restoring), then the checkpoints from the month's first link to the first
/// at or after its last.
public struct AuditArchive: Sendable {
    /// Reads and records across tenants (bypasses row-level security).
    let platform: Database
    /// The migration role: detaches, drops and re-creates partitions.
    let owner: Database
    public let directory: String

    public init(platform: Database, owner: Database, directory: String) {
        self.platform = platform
        self.owner = owner
        self.directory = directory
    }

    public enum ArchiveError: Error, CustomStringConvertible {
        case invalid(String)
        case broken(String)

        public var description: String {
            switch self {
            case .invalid(let message), .broken(let message): return message
            }
        }
    }

    /// What one archive or restore did.
    public struct Summary: Sendable {
        public let month: String
        public let tenants: Int
        public let links: Int
    }

    /// `YYYY-MM` to its first day (UTC). - Throws: `invalid` for anything else.
    public static func month(_ text: String) throws -> Date {
        guard text.utf8.count == 7, let date = Timestamp.parse(text + "-01T00:00:00Z"), Timestamp.format(date).hasPrefix(text) else {
            throw ArchiveError.invalid("month: must be YYYY-MM, such as 2026-01")
        }
        return date
    }

    static func nextMonth(_ month: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(byAdding: .month, value: 1, to: month)!
    }

    /// `audit_events_YYYY_MM`: built from a date, so only digits reach the DDL.
    static func partition(_ month: Date) -> String {
        let text = Timestamp.format(month)
        return "audit_events_\(text.prefix(4))_\(text.dropFirst(5).prefix(2))"
    }

    static func label(_ month: Date) -> String { String(Timestamp.format(month).prefix(7)) }

    /// The attached monthly partitions whose month ended more than `keepMonths` months ago.
    public func monthsPastHotWindow(keepMonths: Int) async throws -> [Date] {
        let rows = try await owner.query(
            """
            SELECT to_date(substr(c.relname, 14), 'YYYY_MM')::timestamptz AS month
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'audit_events'::regclass AND c.relname ~ '^audit_events_[0-9]{4}_[0-9]{2}$'
              AND to_date(substr(c.relname, 14), 'YYYY_MM') < date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => $1)
            ORDER BY 1
            """, [keepMonths])
        return try rows.all.map { try $0.date("month") }
    }

    /// Archives one month: files written and checked against the chain, recorded, the partition
    /// detached and dropped. Refused while any of the month's events waits to be sealed.
    public func archive(_ month: Date, actor: AuditActor = .system) async throws -> Summary {
        let end = Self.nextMonth(month), partition = Self.partition(month), label = Self.label(month)
        guard try await owner.query("SELECT to_regclass($1) IS NOT NULL AS present", [partition]).first?.bool("present") == true else {
            throw ArchiveError.invalid("audit archive: no partition \(partition) (archived already, or never created)")
        }
        let unsealed = try await platform.query(
            "SELECT count(*) AS n FROM audit_unsealed WHERE occurred_at >= $1 AND occurred_at < $2", [month, end]).first?.int("n") ?? 0
        guard unsealed == 0 else { throw ArchiveError.invalid("audit archive: \(unsealed) events of \(label) wait to be sealed; try again shortly") }
        let tenants = try await platform.query(
            "SELECT DISTINCT tenant_id FROM audit_events WHERE occurred_at >= $1 AND occurred_at < $2", [month, end]
        ).all.map { try $0.uuid("tenant_id") }
        let folder = directory + "/" + label
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var links = 0
        var written: [(tenant: UUID, first: Int64, last: Int64, count: Int, file: String, digest: [UInt8])] = []
        for tenant in tenants {
            let file = try await writeTenant(tenant, month: month, end: end, folder: folder)
            links += file.count
            written.append((tenant, file.first, file.last, file.count, label + "/" + file.name, file.digest))
        }
        try await platform.withTransaction { tx in
            for entry in written {
                try await tx.query(
                    """
                    INSERT INTO audit_archives (tenant_id, month, first_seq, last_seq, links, file, file_sha256)
                    VALUES ($1, $2::date, $3, $4, $5, $6, decode($7, 'hex'))
                    ON CONFLICT (tenant_id, month, first_seq) DO UPDATE SET
                        last_seq = EXCLUDED.last_seq, links = EXCLUDED.links, file = EXCLUDED.file,
                        file_sha256 = EXCLUDED.file_sha256, archived_at = now()
                    """, [entry.tenant, label + "-01", entry.first, entry.last, entry.count, entry.file, Hex.encode(entry.digest)])
            }
            try await tx.query(
                """
                INSERT INTO audit_months (month, archived_at, detached) VALUES ($1::date, now(), false)
                ON CONFLICT (month) DO UPDATE SET archived_at = now(), detached = false
                """, [label + "-01"])
            try await AuditLog.record(
                tx, tenantID: Self.platformTenant, actor: actor, action: "audit.archive", targetType: "audit_month", targetID: label,
                details: ["tenants": .int(tenants.count), "links": .int(links), "directory": .string(directory)])
        }
        // Only now, with every file written and checked: the partition goes.
        try await owner.withTransaction { tx in
            try await tx.query("ALTER TABLE audit_events DETACH PARTITION \(partition)")
            try await tx.query("DROP TABLE \(partition)")
        }
        try await platform.query("UPDATE audit_months SET detached = true, restored_at = NULL WHERE month = $1::date", [label + "-01"])
        return Summary(month: label, tenants: tenants.count, links: links)
    }

    /// The platform tenant's log records archives and restores.
    static let platformTenant = UUID(uuidString: "00000000-0000-7000-8000-000000000001")!

    /// Writes one tenant's month, checking each link against the chain as it goes.
    private func writeTenant(_ tenant: UUID, month: Date, end: Date, folder: String) async throws
        -> (name: String, first: Int64, last: Int64, count: Int, digest: [UInt8])
    {
        var lines: [String] = []
        var first: Int64 = 0, last: Int64 = 0
        var after: Int64 = 0
        while true {
            let page = try await platform.query(
                """
                SELECT c.seq, encode(c.prev_hash, 'hex') AS prev_hash, encode(c.hash, 'hex') AS hash, l.canonical, l.row
                FROM audit_chain c
                JOIN LATERAL (
                    -- Each event by its key, per link (see `AuditVerifier.linksSQL` for why not a join).
                    SELECT jarvis_audit_canonical(e) AS canonical, row_to_json(e)::text AS row FROM audit_events e
                    WHERE e.tenant_id = c.tenant_id AND e.id = c.event_id AND e.occurred_at = c.occurred_at LIMIT 1
                ) l ON true
                WHERE c.tenant_id = $1 AND c.occurred_at >= $2 AND c.occurred_at < $3 AND c.seq > $4
                ORDER BY c.seq LIMIT 5000
                """, [tenant, month, end, after])
            for row in page.all {
                let seq = Int64(try row.int("seq"))
                let line = Line(seq: seq, prevHash: try row.string("prev_hash"), hash: try row.string("hash"), canonical: try row.string("canonical"))
                guard line.holds else { throw ArchiveError.broken("audit archive: tenant \(tenant.lowercasedString) seq \(seq) does not verify; run `jarvis audit verify`") }
                if first == 0 { first = seq }
                last = seq
                lines.append(try line.json(row: try row.string("row")))
                after = seq
            }
            if page.count < 5000 { break }
        }
        let checkpoints = try await platform.query(
            """
            SELECT json_build_object('type', 'checkpoint', 'seq', seq, 'head_hash', encode(head_hash, 'hex'),
                                     'prev_signature', encode(prev_signature, 'hex'), 'kid', kid, 'signature', encode(signature, 'hex'))::text AS line
            FROM audit_checkpoints WHERE tenant_id = $1 AND seq >= $2
              AND seq <= COALESCE((SELECT min(seq) FROM audit_checkpoints WHERE tenant_id = $1 AND seq >= $3), $3)
            ORDER BY seq
            """, [tenant, first, last])
        lines += try checkpoints.all.map { try $0.string("line") }
        let header = try JSONSerialization.data(withJSONObject: [
            "type": "archive", "version": "jarvis-audit-archive-v1", "tenant_id": tenant.lowercasedString, "month": Self.label(month),
            "first_seq": first, "last_seq": last,
        ], options: [.sortedKeys])
        let name = "\(tenant.lowercasedString)-\(first).ndjson.gz"
        let body = ([String(decoding: header, as: UTF8.self)] + lines).joined(separator: "\n") + "\n"
        let compressed = try Gzip.compress(Array(body.utf8))
        try Data(compressed).write(to: URL(fileURLWithPath: folder + "/" + name), options: .atomic)
        return (name, first, last, lines.count - checkpoints.count, SHA256.hash(compressed))
    }

    /// One link as archived.
    struct Line {
        let seq: Int64
        let prevHash: String
        let hash: String
        let canonical: String

        /// SHA-256(prev_hash ‖ canonical) is the hash.
        var holds: Bool {
            guard let previous = Self.bytes(prevHash) else { return false }
            return Hex.encode(SHA256.hash(previous + Array(canonical.utf8))) == hash
        }

        func json(row: String) throws -> String {
            let head = try JSONSerialization.data(
                withJSONObject: ["type": "event", "seq": seq, "prev_hash": prevHash, "hash": hash, "canonical": canonical], options: [.sortedKeys])
            // The stored row goes in as PostgreSQL wrote it.
            return String(decoding: head.dropLast(), as: UTF8.self) + ",\"row\":" + row + "}"
        }

        static func bytes(_ hex: String) -> [UInt8]? {
            let digits = Array(hex.utf8)
            guard digits.count % 2 == 0 else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(digits.count / 2)
            for i in stride(from: 0, to: digits.count, by: 2) {
                guard let byte = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
                out.append(byte)
            }
            return out
        }
    }

    /// One archived file, read back and checked.
    struct ArchivedFile {
        let tenant: UUID
        let links: [(seq: Int64, hash: String, row: String)]
    }

    /// Reads the month's files recorded in `audit_archives`, and checks each: its SHA-256 as
    /// recorded, every link's hash recomputed, and each the same as the live chain's link.
    func readMonth(_ month: Date) async throws -> [ArchivedFile] {
        let label = Self.label(month)
        let entries = try await platform.query(
            "SELECT tenant_id, first_seq, file, encode(file_sha256, 'hex') AS digest FROM audit_archives WHERE month = $1::date ORDER BY tenant_id, first_seq",
            [label + "-01"])
        var files: [ArchivedFile] = []
        for entry in entries.all {
            let tenant = try entry.uuid("tenant_id"), path = directory + "/" + (try entry.string("file"))
            guard let compressed = FileManager.default.contents(atPath: path) else { throw ArchiveError.broken("audit archive: \(path) is missing") }
            guard Hex.encode(SHA256.hash(Array(compressed))) == (try entry.string("digest")) else {
                throw ArchiveError.broken("audit archive: \(path) is not the file that was archived (SHA-256 differs)")
            }
            var links: [(seq: Int64, hash: String, row: String)] = []
            for text in String(decoding: try Gzip.decompress(Array(compressed)), as: UTF8.self).split(separator: "\n") {
                guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], object["type"] as? String == "event" else { continue }
                // The row exactly as PostgreSQL wrote it: after the first `,"row":` (a quote inside
                // the canonical string before it is escaped, so it cannot be there).
                guard let seq = (object["seq"] as? NSNumber)?.int64Value, let prev = object["prev_hash"] as? String, let hash = object["hash"] as? String,
                    let canonical = object["canonical"] as? String, let marker = text.range(of: ",\"row\":")
                else { throw ArchiveError.broken("audit archive: \(path) has a malformed line") }
                let row = String(text[marker.upperBound...].dropLast())
                guard Line(seq: seq, prevHash: prev, hash: hash, canonical: canonical).holds else {
                    throw ArchiveError.broken("audit archive: \(path) seq \(seq) does not hash to its link (changed)")
                }
                links.append((seq, hash, row))
            }
            // Each archived link is the live chain's link of that seq.
            for chunk in stride(from: 0, to: links.count, by: 5000) {
                let part = links[chunk..<min(chunk + 5000, links.count)]
                let live = try await platform.query(
                    "SELECT seq, encode(hash, 'hex') AS hash FROM audit_chain WHERE tenant_id = $1 AND seq = ANY($2::bigint[])",
                    [tenant, TextArray(part.map { String($0.seq) })])
                var hashes: [Int64: String] = [:]
                for row in live.all { hashes[Int64(try row.int("seq"))] = try row.string("hash") }
                for link in part where hashes[link.seq] != link.hash {
                    throw ArchiveError.broken("audit archive: \(path) seq \(link.seq) is not the chain's link (missing or changed)")
                }
            }
            files.append(ArchivedFile(tenant: tenant, links: links))
        }
        return files
    }

    /// Checks an archived month's files against the chain. - Returns: the links they prove.
    public func verify(_ month: Date) async throws -> Summary {
        let files = try await readMonth(month)
        return Summary(month: Self.label(month), tenants: Set(files.map(\.tenant)).count, links: files.reduce(0) { $0 + $1.links.count })
    }

    /// Brings an archived month back: its files checked, its events loaded into a new partition
    /// exactly as they were stored, attached, and the month marked restored.
    public func restore(_ month: Date, actor: AuditActor = .system) async throws -> Summary {
        let end = Self.nextMonth(month), partition = Self.partition(month), label = Self.label(month)
        guard try await owner.query("SELECT to_regclass($1) IS NULL AS absent", [partition]).first?.bool("absent") == true else {
            throw ArchiveError.invalid("audit restore: \(partition) is attached already")
        }
        let files = try await readMonth(month)
        guard !files.isEmpty else { throw ArchiveError.invalid("audit restore: no archive of \(label) is recorded") }
        try await owner.withTransaction { tx in
            try await tx.query("CREATE TABLE \(partition) (LIKE audit_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
            for file in files {
                for chunk in stride(from: 0, to: file.links.count, by: 1000) {
                    let rows = "[" + file.links[chunk..<min(chunk + 1000, file.links.count)].map(\.row).joined(separator: ",") + "]"
                    try await tx.query("INSERT INTO \(partition) SELECT * FROM json_populate_recordset(NULL::audit_events, $1::json)", [JSONText(rows)])
                }
            }
            // DDL takes no parameters: the bounds are our own renderings of two dates.
            try await tx.query(
                "ALTER TABLE audit_events ATTACH PARTITION \(partition) FOR VALUES FROM ('\(Timestamp.format(month))') TO ('\(Timestamp.format(end))')")
            try await tx.query("ALTER TABLE \(partition) ENABLE ROW LEVEL SECURITY")
            try await tx.query("ALTER TABLE \(partition) FORCE ROW LEVEL SECURITY")
        }
        let links = files.reduce(0) { $0 + $1.links.count }
        try await platform.withTransaction { tx in
            try await tx.query("UPDATE audit_months SET detached = false, restored_at = now() WHERE month = $1::date", [label + "-01"])
            try await AuditLog.record(
                tx, tenantID: Self.platformTenant, actor: actor, action: "audit.restore", targetType: "audit_month", targetID: label,
                details: ["tenants": .int(Set(files.map(\.tenant)).count), "links": .int(links)])
        }
        return Summary(month: label, tenants: Set(files.map(\.tenant)).count, links: links)
    }

    /// Creates the monthly partitions a year ahead, every hour, on every instance (idempotent).
    public static func partitionsAhead(platform: Database, logger: Logger) -> PeriodicService {
        PeriodicService("audit-partitions", every: .seconds(3_600), logger: logger) {
            _ = try await platform.query("SELECT jarvis_partitions_ahead()")
        }
    }
}
