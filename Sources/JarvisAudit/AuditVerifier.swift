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
        /// Events committed but not sealed yet (within one sealer pass of their commit, normally).
        public let unsealed: Int64
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
        }

        public let seq: Int64
        public let eventID: UUID?
        public let kind: Kind
    }

    static let zeroHash = [UInt8](repeating: 0, count: 32)

    public func verify(tenantID: UUID, page: Int = 5_000) async throws -> Report {
        var expectedSeq: Int64 = 1
        var previous = Self.zeroHash
        var checked: Int64 = 0
        var found: Break?
        // Links in hand; each is judged with the one after it in view (for `reordered`).
        var links: [Link] = []
        var index = 0
        var fetchFrom: Int64 = 1
        var exhausted = false
        while found == nil {
            if links.count - index < 2 && !exhausted {
                links = Array(links[index...])
                index = 0
                let more = try await fetch(tenantID, from: fetchFrom, limit: page)
                if let last = more.last { fetchFrom = last.seq + 1 }
                exhausted = more.count < page
                links += more
            }
            guard index < links.count else { break }
            let link = links[index]
            found = Self.judge(link, next: index + 1 < links.count ? links[index + 1] : nil, expectedSeq: expectedSeq, previous: previous)
            if found == nil {
                previous = link.hash
                expectedSeq += 1
                checked += 1
                index += 1
            }
        }
        let unsealed = try await database.withTenant(tenantID) { tx in
            try await tx.query("SELECT count(*) AS n FROM audit_unsealed WHERE tenant_id = $1", [tenantID]).first?.int("n") ?? 0
        }
        return Report(
            tenantID: tenantID, checked: checked, headSeq: expectedSeq - 1, headHash: Self.hex(previous), unsealed: Int64(unsealed),
            firstBreak: found)
    }

    private func fetch(_ tenantID: UUID, from seq: Int64, limit: Int) async throws -> [Link] {
        try await database.withTenant(tenantID) { tx in
            try await tx.query(
                """
                SELECT c.seq, c.event_id, c.prev_hash, c.hash,
                       CASE WHEN e.id IS NULL THEN NULL ELSE jarvis_audit_canonical(e) END AS canonical
                FROM audit_chain c
                LEFT JOIN audit_events e ON e.tenant_id = c.tenant_id AND e.id = c.event_id AND e.occurred_at = c.occurred_at
                WHERE c.tenant_id = $1 AND c.seq >= $2
                ORDER BY c.seq LIMIT $3
                """, [tenantID, seq, limit]
            ).all.map(Link.init)
        }
    }

    struct Link {
        let seq: Int64
        let eventID: UUID
        let prevHash: [UInt8]
        let hash: [UInt8]
        let canonical: String?

        init(_ row: Row) throws {
            seq = Int64(try row.int("seq"))
            eventID = try row.uuid("event_id")
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

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
