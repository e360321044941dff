public import Foundation
public import JarvisStore
public import Logging
internal import JarvisCrypto

/// Signed checkpoints over each tenant's chain head: after every `everyEvents` sealed events, or
/// once `everySeconds` have passed since the last with anything new sealed. Each signs its
/// tenant, last seq, head hash and the previous checkpoint's signature, so checkpoints chain too:
/// deleting one, or the chain's tail, or forging one, shows on verification.
public struct AuditCheckpoints: Sendable {
    let platform: Database
    let keys: AuditKeys
    let everyEvents: Int64
    let everySeconds: Int

    public init(platform: Database, keys: AuditKeys, everyEvents: Int64 = 1_000, everySeconds: Int = 60) {
        self.platform = platform
        self.keys = keys
        self.everyEvents = everyEvents
        self.everySeconds = everySeconds
    }

    /// The signed bytes (README "Audit chain"): UTF-8 lines `jarvis-audit-checkpoint-v1`, tenant
    /// id, seq, head hash (hex), previous signature (hex; empty for the first), key id.
    static func message(tenantID: UUID, seq: Int64, headHash: [UInt8], previousSignature: [UInt8], kid: String) -> [UInt8] {
        Array("jarvis-audit-checkpoint-v1\n\(tenantID.lowercasedString)\n\(seq)\n\(Hex.encode(headHash))\n\(Hex.encode(previousSignature))\n\(kid)".utf8)
    }

    /// Every `interval`, apart from sealing, so a backlog of checkpoints never delays a seal.
    public func service(logger: Logger, interval: Duration = .seconds(1)) -> PeriodicService {
        PeriodicService("audit-checkpoints", every: interval, logger: logger) { try await self.pass() }
    }

    /// Signs the checkpoints that are due, in one statement. - Returns: how many it wrote.
    @discardableResult
    public func pass(force tenantID: UUID? = nil) async throws -> Int {
        let due = try await platform.query(
            """
            SELECT tenant_id, seq, hash, checkpoint_seq, checkpoint_signature FROM audit_heads
            WHERE seq > checkpoint_seq
              AND ($3::uuid IS NOT NULL AND tenant_id = $3
                   OR $3::uuid IS NULL AND (seq - checkpoint_seq >= $1 OR checkpoint_at IS NULL
                                            OR checkpoint_at < now() - make_interval(secs => $2)))
            LIMIT 1000
            """, [everyEvents, everySeconds, tenantID], idempotent: true)
        guard !due.isEmpty else { return 0 }
        guard let key = try await keys.active() else { return 0 }
        var tenants: [String] = [], covered: [String] = [], seqs: [String] = [], heads: [String] = [], previous: [String] = [], signatures: [String] = []
        for row in due.all {
            let tenant = try row.uuid("tenant_id")
            let seq = Int64(try row.int("seq"))
            let head = try row.bytes("hash")
            let before = try row.bytes("checkpoint_signature")
            let signature = try Ed25519.sign(
                Self.message(tenantID: tenant, seq: seq, headHash: head, previousSignature: before, kid: key.kid), privateKey: key.privateKey)
            tenants.append(tenant.lowercasedString)
            covered.append(String(try row.int("checkpoint_seq")))
            seqs.append(String(seq))
            heads.append(Hex.encode(head))
            previous.append(Hex.encode(before))
            signatures.append(Hex.encode(signature))
        }
        // One statement for the pass. Another instance may have signed a head meanwhile: for each
        // tenant the first one to move its head's checkpoint wins, and only that one is stored.
        let written = try await platform.query(
            """
            WITH input AS (
                SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[])
                    AS x(tenant_id, covered, seq, head, previous, signature)
            ), moved AS (
                UPDATE audit_heads h SET checkpoint_seq = i.seq, checkpoint_signature = decode(i.signature, 'hex'), checkpoint_at = now()
                FROM input i WHERE h.tenant_id = i.tenant_id AND h.checkpoint_seq = i.covered
                RETURNING h.tenant_id
            )
            INSERT INTO audit_checkpoints (tenant_id, seq, head_hash, prev_signature, kid, signature)
            SELECT i.tenant_id, i.seq, decode(i.head, 'hex'), decode(i.previous, 'hex'), $7, decode(i.signature, 'hex')
            FROM input i JOIN moved m ON m.tenant_id = i.tenant_id
            ORDER BY i.tenant_id
            """,
            [TextArray(tenants), TextArray(covered), TextArray(seqs), TextArray(heads), TextArray(previous), TextArray(signatures), key.kid])
        return written.affected
    }
}
