public import Foundation
public import JarvisStore
internal import JarvisCrypto

/// Recomputes a tenant's audit chain link by link and names the first one that does not hold.
public struct AuditVerifier: Sendable {
    let database: Database

    /// `database` reads under the tenant's row-level security (the app role) or across tenants
    /// (the platform role, for the command line).
    public init(database: Database) { self.database = database }

    public struct Report: Sendable {
        public let tenantID: UUID
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

    public func verify(tenantID: UUID, page: Int = 5_000) async throws -> Report {
        let keys = Dictionary(try await AuditKeys.published(database).map { ($0.kid, $0.publicKey) }, uniquingKeysWith: { first, _ in first })
        let detached = Set(try await database.query("SELECT month::timestamptz AS month FROM audit_months WHERE detached").all.map { try $0.date("month") })
        var archived: Int64 = 0
        var expectedSeq: Int64 = 1
        var previous = Self.zeroHash
        var checked: Int64 = 0
        var found: Break?
        // Links in hand; each is judged with the one after it in view (for `reordered`).
        var links: [Link] = []
        var index = 0
        var fetchFrom: Int64 = 1
        var exhausted = false
        // Checkpoints of the links in hand, in order, and the last that held.
        var checkpoints: [Checkpoint] = []
        var signature: [UInt8] = []
        var signed: Int64 = 0
        var lastSigned: Int64 = 0
        while found == nil {
            if links.count - index < 2 && !exhausted {
                links = Array(links[index...])
                index = 0
                let more = try await fetchLinks(tenantID, from: fetchFrom, limit: page)
                if let last = more.last {
                    checkpoints += try await fetchCheckpoints(tenantID, from: fetchFrom, through: last.seq)
                    fetchFrom = last.seq + 1
                }
                exhausted = more.count < page
                links += more
            }
            guard index < links.count else { break }
            let link = links[index]
            if link.canonical == nil, detached.contains(link.month), link.seq == expectedSeq, link.prevHash == previous {
                archived += 1
            } else {
                found = Self.judge(link, next: index + 1 < links.count ? links[index + 1] : nil, expectedSeq: expectedSeq, previous: previous)
            }
            guard found == nil else { break }
            while let checkpoint = checkpoints.first, checkpoint.seq <= link.seq {
                checkpoints.removeFirst()
                found = Self.judge(checkpoint, tenantID: tenantID, at: link, previousSignature: signature, keys: keys)
                guard found == nil else { break }
                signature = checkpoint.signature
                signed += 1
                lastSigned = checkpoint.seq
            }
            guard found == nil else { break }
            previous = link.hash
            expectedSeq += 1
            checked += 1
            index += 1
        }
        // A checkpoint beyond the last link: the chain's tail was cut off.
        if found == nil, try await !fetchCheckpoints(tenantID, from: expectedSeq, through: Int64.max).isEmpty {
            found = Break(seq: expectedSeq, eventID: nil, kind: .missing)
        }
        let unsealed = try await database.withTenant(tenantID) { tx in
            try await tx.query("SELECT count(*) AS n FROM audit_unsealed WHERE tenant_id = $1", [tenantID]).first?.int("n") ?? 0
        }
        return Report(
            tenantID: tenantID, checked: checked, headSeq: expectedSeq - 1, headHash: Hex.encode(previous), archived: archived, unsealed: Int64(unsealed),
            checkpoints: signed, lastCheckpointSeq: lastSigned, firstBreak: found)
    }

    private func fetchLinks(_ tenantID: UUID, from seq: Int64, limit: Int) async throws -> [Link] {
        try await database.withTenant(tenantID) { tx in
            try await tx.query(
                """
                SELECT c.seq, c.event_id, c.prev_hash, c.hash, date_trunc('month', c.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month,
                       CASE WHEN e.id IS NULL THEN NULL ELSE jarvis_audit_canonical(e) END AS canonical
                FROM audit_chain c
                LEFT JOIN audit_events e ON e.tenant_id = c.tenant_id AND e.id = c.event_id AND e.occurred_at = c.occurred_at
                WHERE c.tenant_id = $1 AND c.seq >= $2
                ORDER BY c.seq LIMIT $3
                """, [tenantID, seq, limit]
            ).all.map(Link.init)
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
        let canonical: String?
        /// The first day of the event's month (UTC).
        let month: Date

        init(_ row: Row) throws {
            seq = Int64(try row.int("seq"))
            eventID = try row.uuid("event_id")
            month = try row.date("month")
            prevHash = try row.bytes("prev_hash")
            hash = try row.bytes("hash")
            canonical = try row.optionalString("canonical")
        }
    }

    /// Whether `link` holds after `previous`; if not, how it broke.
    static func judge(_ link: Link, next: Link?, expectedSeq: Int64, previous: [UInt8]) -> Break? {
        guard link.seq == expectedSeq else { return Break(seq: expectedSeq, eventID: nil, kind: .missing) }
        guard link.prevHash == previous else { return Break(seq: link.seq, eventID: link.eventID, kind: .reordered) }
        guard let canonical = link.canonical else { return Break(seq: link.seq, eventID: link.eventID, kind: .missing) }
        if SHA256.hash(previous + Array(canonical.utf8)) == link.hash { return nil }
        // The next link's event, sealed here, would hash right: two events swapped places.
        if let other = next?.canonical, SHA256.hash(previous + Array(other.utf8)) == link.hash {
            return Break(seq: link.seq, eventID: link.eventID, kind: .reordered)
        }
        return Break(seq: link.seq, eventID: link.eventID, kind: .changed)
    }
}
