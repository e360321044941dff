public import Foundation
public import JarvisStore
internal import JarvisCrypto

/// Recomputes a tenant's audit chain link by link and names the first one that does not hold.
public struct AuditVerifier: Sendable {
    let database: Database
    /// Links per window read (see `verify`).
    let window: Int64

    /// `database` reads under the tenant's row-level security (the app role) or across tenants
    /// (the platform role, for the command line); `window` links are read per query.
    public init(database: Database, window: Int64 = 50_000) {
        self.database = database
        self.window = max(window, 1)
    }

    public struct Report: Sendable {
        public let tenantID: UUID
        /// The first link checked (1: the whole chain; 0: nothing in the range).
        public let firstSeq: Int64
        /// Links checked, in order.
        public let checked: Int64
        public let headSeq: Int64
        /// Hex of the last link's hash (all zeros for an empty chain).
        public let headHash: String
        /// Links whose events are in an archived, detached month: their place in the chain holds;
        /// their events are proven by the archive files (`AuditArchive.verify`).
        public let archived: Int64
        /// Events committed but not sealed yet (within one sealer pass of their commit, normally).
        public let unsealed: Int64
        /// Signed checkpoints that hold, and the last one's seq (0: none yet).
        public let checkpoints: Int64
        public let lastCheckpointSeq: Int64
        public let firstBreak: Break?

        public var intact: Bool { firstBreak == nil }
    }

    public struct Break: Sendable, Equatable {
        public enum Kind: String, Sendable {
            /// The event's content is not what was sealed.
            case changed
            /// The sealed event, or a link, is gone.
            case missing
            /// The event sealed here sits at another place in the chain.
            case reordered
            /// A checkpoint whose signature, key or head does not hold.
            case checkpointForged = "checkpoint_forged"
            /// A checkpoint before this one is gone (its successor names another signature).
            case checkpointMissing = "checkpoint_missing"
        }

        public let seq: Int64
        public let eventID: UUID?
        public let kind: Kind
    }

    static let zeroHash = [UInt8](repeating: 0, count: 32)

    /// Verifies the tenant's whole chain, or with `from`/`to` only the links of events that
    /// occurred in `[from, to)`: those are recomputed and their checkpoints checked, and the first
    /// is held against the stored hash of the link before it (the whole chain proves that one).
    public func verify(tenantID: UUID, from: Date? = nil, to: Date? = nil) async throws -> Report {
        let keys = Dictionary(try await AuditKeys.published(database).map { ($0.kid, $0.publicKey) }, uniquingKeysWith: { first, _ in first })
        let detached = Set(try await database.query("SELECT to_char(month, 'YYYY-MM') AS month FROM audit_months WHERE detached").all.map {
            Array(try $0.string("month").utf8)
        })
        var first: Int64 = 1, last = Int64.max
        var previous = Self.zeroHash, signature: [UInt8] = []
        let ranged = from != nil || to != nil
        if ranged {
            let bounds = try await database.withTenant(tenantID) { tx in
                try await tx.query(
                    """
                    SELECT min(seq) AS first, max(seq) AS last FROM audit_chain
                    WHERE tenant_id = $1 AND occurred_at >= COALESCE($2::timestamptz, '-infinity') AND occurred_at < COALESCE($3::timestamptz, 'infinity')
                    """, [tenantID, from, to]).first
            }
            guard let low = try bounds?.optionalInt("first"), let high = try bounds?.optionalInt("last") else {
                return Report(
                    tenantID: tenantID, firstSeq: 0, checked: 0, headSeq: 0, headHash: Hex.encode(Self.zeroHash), archived: 0, unsealed: 0,
                    checkpoints: 0, lastCheckpointSeq: 0, firstBreak: nil)
            }
            (first, last) = (Int64(low), Int64(high))
            let anchor = try await database.withTenant(tenantID) { tx in
                try await tx.query(
                    """
                    SELECT (SELECT hash FROM audit_chain WHERE tenant_id = $1 AND seq = $2 - 1) AS hash,
                           (SELECT signature FROM audit_checkpoints WHERE tenant_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT 1) AS signature
                    """, [tenantID, first]).first
            }
            // A missing predecessor leaves nothing to hold the first link against: it shows as reordered.
            if first > 1, let row = anchor, try row.optionalString("hash") != nil { previous = try row.bytes("hash") } else if first > 1 { previous = [] }
            if let row = anchor, try row.optionalString("signature") != nil { signature = try row.bytes("signature") }
        }
        let walk = Walk(
            tenantID: tenantID, keys: keys, detached: detached, checkpoints: try await fetchCheckpoints(tenantID, from: first, through: last),
            first: first, previous: previous, signature: signature)
        // The links stream out of PostgreSQL as raw columns; each event's canonical bytes are built
        // and hashed here (`AuditCanonical`), so the database only reads rows. They are read in
        // windows of seqs, `fetchesAhead` at a time on connections of their own, while the walk
        // hashes the window before: each window is a short index walk (links in seq order, each
        // event found by its key) that starts answering at once, where one query over the whole
        // chain had PostgreSQL join and sort millions of rows before its first one.
        // Counted before the head is read: every event sealed by then is in the links walked, so a
        // report of nothing unsealed covers every event committed before the verification began.
        let unsealed = try await database.withTenant(tenantID) { tx in
            try await tx.query("SELECT count(*) AS n FROM audit_unsealed WHERE tenant_id = $1", [tenantID]).first?.int("n") ?? 0
        }
        if !ranged {
            last = Int64(try await database.withTenant(tenantID) { tx in
                try await tx.query("SELECT COALESCE(max(seq), 0) AS last FROM audit_chain WHERE tenant_id = $1", [tenantID]).first?.int("last") ?? 0
            })
        }
        let windows = first > last ? [] : stride(from: first, through: last, by: Int(window)).map { ($0, min($0 + window - 1, last)) }
        // Reads in flight, in window order; a window's task is let go once walked (it holds the rows).
        var fetches: [Task<[UInt8], any Error>] = []
        var started = 0
        func fetchNext() {
            guard started < windows.count else { return }
            let (low, high) = windows[started]
            started += 1
            fetches.append(Task { try await self.fetchLinks(tenantID, first: low, last: high) })
        }
        for _ in 0..<Self.fetchesAhead { fetchNext() }
        do {
            while !fetches.isEmpty {
                let rows = try await fetches.removeFirst().value
                fetchNext()
                try CopyText.forEachRow(rows) { row in
                    walk.feed(Link(row))
                    if walk.found != nil { throw Walk.Stop() }
                }
            }
        } catch is Walk.Stop {}
        // Reads still running after a break end before this returns (their rows are not needed).
        for fetch in fetches { _ = try? await fetch.value }
        walk.finish()
        // A checkpoint past the last link, at a seq no link holds: the chain's tail was cut off.
        if !ranged, walk.found == nil, try await checkpointWithoutLink(tenantID, after: walk.expectedSeq - 1) {
            walk.found = Break(seq: walk.expectedSeq, eventID: nil, kind: .missing)
        }
        return Report(
            tenantID: tenantID, firstSeq: first, checked: walk.checked, headSeq: walk.expectedSeq - 1, headHash: Hex.encode(walk.previous), archived: walk.archived,
            unsealed: Int64(unsealed), checkpoints: walk.signed, lastCheckpointSeq: walk.lastSigned, firstBreak: walk.found)
    }

    /// Windows read ahead of the walk.
    static let fetchesAhead = 2

    /// One window of links: its COPY rows, whole.
    private func fetchLinks(_ tenantID: UUID, first: Int64, last: Int64) async throws -> [UInt8] {
        try await database.withTenant(tenantID) { tx in
            // Each link's event by its key, in the links' order: no join of whole tables, no sort; and
            // neither JIT compilation (its 0.2 s per query cost more than the window's rows) nor workers.
            try await tx.query(Self.windowSettings)
            // Gathered into one buffer: a chunk comes with room for a whole megabyte however little it holds.
            var rows: [UInt8] = []
            try await tx.copyOut(Self.linksSQL(first: first, last: last), timeout: .seconds(600), chunkBytes: 1 << 20) { rows += $0 }
            return rows
        }
    }

    /// The settings of a window's transaction.
    static let windowSettings = """
        SELECT set_config('statement_timeout', '600s', true), set_config('enable_hashjoin', 'off', true),
               set_config('enable_mergejoin', 'off', true), set_config('enable_sort', 'off', true),
               set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)
        """

    /// The tenant's links `first` to `last` in order, each with its event's columns (NULL when the
    /// event is gone). COPY takes no parameters: the bounds are two integers written in.
    ///
    /// Each event is looked up by its key once per link (a lateral subquery that cannot be merged
    /// into a join). As a plain join, statistics taken before a burst of the tenant's events (the
    /// tenant then looked like a handful of rows) made PostgreSQL load the tenant's events once and
    /// compare every link with every one of them: 200,000 links took minutes instead of seconds.
    static func linksSQL(first: Int64, last: Int64) -> String {
        """
        COPY (
            SELECT c.seq, c.event_id, c.prev_hash, c.hash, c.occurred_at, e.id IS NOT NULL,
                   \(AuditCanonical.columns.map { "e." + $0 }.joined(separator: ", "))
            FROM audit_chain c
            LEFT JOIN LATERAL (
                SELECT \(AuditCanonical.columns.joined(separator: ", ")) FROM audit_events e
                WHERE e.tenant_id = c.tenant_id AND e.id = c.event_id AND e.occurred_at = c.occurred_at
                LIMIT 1
            ) e ON true
            WHERE c.tenant_id = current_setting('app.tenant_id')::uuid AND c.seq BETWEEN \(first) AND \(last)
            ORDER BY c.seq
        ) TO STDOUT
        """
    }

    /// Whether a checkpoint names a seq after `head` that no link holds.
    private func checkpointWithoutLink(_ tenantID: UUID, after head: Int64) async throws -> Bool {
        try await database.withTenant(tenantID) { tx in
            try await tx.query(
                """
                SELECT EXISTS (SELECT 1 FROM audit_checkpoints k WHERE k.tenant_id = $1 AND k.seq > $2
                               AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.tenant_id = k.tenant_id AND c.seq = k.seq)) AS cut
                """, [tenantID, head]).first?.bool("cut") ?? false
        }
    }

    /// The walk along one tenant's chain: each link is judged with the next in view (for
    /// `reordered`), and the checkpoints at it after it.
    ///
    /// `@unchecked Sendable`: fed by one task at a time (each chunk's task starts after the
    /// previous one ended), and read only after the last.
    final class Walk: @unchecked Sendable {
        struct Stop: Error {}

        let tenantID: UUID
        let keys: [String: [UInt8]]
        let detached: Set<[UInt8]>
        var checkpoints: [Checkpoint]
        var checkpointIndex = 0
        var expectedSeq: Int64 = 1
        var previous = AuditVerifier.zeroHash
        var checked: Int64 = 0
        var archived: Int64 = 0
        var signature: [UInt8] = []
        var signed: Int64 = 0
        var lastSigned: Int64 = 0
        var found: Break?
        var pending: Link?

        init(
            tenantID: UUID, keys: [String: [UInt8]], detached: Set<[UInt8]>, checkpoints: [Checkpoint], first: Int64, previous: [UInt8],
            signature: [UInt8]
        ) {
            self.tenantID = tenantID
            self.keys = keys
            self.detached = detached
            self.checkpoints = checkpoints
            expectedSeq = first
            self.previous = previous
            self.signature = signature
        }

        func feed(_ link: Link) {
            if let pending { step(pending, next: link) }
            pending = link
        }

        func finish() {
            if let pending, found == nil { step(pending, next: nil) }
            pending = nil
        }

        private func step(_ link: Link, next: Link?) {
            guard found == nil else { return }
            if link.canonical == nil, !link.present, detached.contains(link.month), link.seq == expectedSeq, link.prevHash == previous {
                archived += 1
            } else {
                found = AuditVerifier.judge(link, next: next, expectedSeq: expectedSeq, previous: previous)
            }
            guard found == nil else { return }
            while checkpointIndex < checkpoints.count, checkpoints[checkpointIndex].seq <= link.seq {
                let checkpoint = checkpoints[checkpointIndex]
                checkpointIndex += 1
                found = AuditVerifier.judge(checkpoint, tenantID: tenantID, at: link, previousSignature: signature, keys: keys)
                guard found == nil else { return }
                signature = checkpoint.signature
                signed += 1
                lastSigned = checkpoint.seq
            }
            previous = link.hash
            expectedSeq += 1
            checked += 1
        }
    }

    private func fetchCheckpoints(_ tenantID: UUID, from first: Int64, through last: Int64) async throws -> [Checkpoint] {
        try await database.withTenant(tenantID) { tx in
            try await tx.query(
                """
                SELECT seq, head_hash, prev_signature, kid, signature FROM audit_checkpoints
                WHERE tenant_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq
                """, [tenantID, first, last]
            ).all.map(Checkpoint.init)
        }
    }

    struct Checkpoint {
        let seq: Int64
        let headHash: [UInt8]
        let previousSignature: [UInt8]
        let kid: String
        let signature: [UInt8]

        init(_ row: Row) throws {
            seq = Int64(try row.int("seq"))
            headHash = try row.bytes("head_hash")
            previousSignature = try row.bytes("prev_signature")
            kid = try row.string("kid")
            signature = try row.bytes("signature")
        }
    }

    /// Whether `checkpoint` holds over `link` (the link it names) after the last good signature.
    static func judge(_ checkpoint: Checkpoint, tenantID: UUID, at link: Link, previousSignature: [UInt8], keys: [String: [UInt8]]) -> Break? {
        let forged = Break(seq: checkpoint.seq, eventID: nil, kind: .checkpointForged)
        guard checkpoint.seq == link.seq, checkpoint.headHash == link.hash, let key = keys[checkpoint.kid] else { return forged }
        let message = AuditCheckpoints.message(
            tenantID: tenantID, seq: checkpoint.seq, headHash: checkpoint.headHash, previousSignature: checkpoint.previousSignature, kid: checkpoint.kid)
        guard Ed25519.verify(checkpoint.signature, of: message, publicKey: key) else { return forged }
        guard checkpoint.previousSignature == previousSignature else { return Break(seq: checkpoint.seq, eventID: nil, kind: .checkpointMissing) }
        return nil
    }

    struct Link {
        let seq: Int64
        let eventID: UUID
        let prevHash: [UInt8]
        let hash: [UInt8]
        /// The event's canonical bytes; nil when the event is gone (or its row cannot be read).
        let canonical: [UInt8]?
        let present: Bool
        /// `YYYY-MM` of the event's month (UTC).
        let month: [UInt8]

        /// From one row of `linksSQL`.
        init(_ row: CopyRow) {
            seq = row.raw(0).flatMap { digits in
                digits.isEmpty || digits.count > 18 || !digits.allSatisfy({ $0 >= 48 && $0 <= 57 })
                    ? nil : digits.reduce(Int64(0)) { $0 * 10 + Int64($1 - 48) }
            } ?? 0
            eventID = row.raw(1).flatMap { UUID.parse(bytes: $0) } ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
            prevHash = row.bytea(2) ?? []
            hash = row.bytea(3) ?? []
            month = row.raw(4).map { Array($0.prefix(7)) } ?? []
            present = row.raw(5)?.first == UInt8(ascii: "t")
            canonical = present ? AuditCanonical.bytes(row, from: 6) : nil
        }
    }

    /// Whether `link` holds after `previous`; if not, how it broke.
    static func judge(_ link: Link, next: Link?, expectedSeq: Int64, previous: [UInt8]) -> Break? {
        guard link.seq == expectedSeq else { return Break(seq: expectedSeq, eventID: nil, kind: .missing) }
        guard link.prevHash == previous else { return Break(seq: link.seq, eventID: link.eventID, kind: .reordered) }
        guard let canonical = link.canonical else { return Break(seq: link.seq, eventID: link.eventID, kind: .missing) }
        if SHA256.hash(previous, canonical) == link.hash { return nil }
        // The next link's event, sealed here, would hash right: two events swapped places.
        if let other = next?.canonical, SHA256.hash(previous, other) == link.hash {
            return Break(seq: link.seq, eventID: link.eventID, kind: .reordered)
        }
        return Break(seq: link.seq, eventID: link.eventID, kind: .changed)
    }
}
