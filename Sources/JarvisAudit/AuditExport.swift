public import Foundation
public import JarvisStore

/// A tenant's audit events as NDJSON, streamed from PostgreSQL (`COPY … TO STDOUT`), with what
/// proves them: each event's link (seq, previous hash, hash, the canonical bytes it was sealed
/// with), the signed checkpoints in the range and the keys that signed them. A verifier needs
/// nothing else (`scripts/verify-audit-export.py`, Python's standard library only).
///
/// Lines, in order: `{"type":"export", …}` (tenant, range, first and last seq), then per seq its
/// `event` and, where one was signed there, its `checkpoint`; then one `key` per key used.
public struct AuditExport: Sendable {
    let app: Database

    public init(app: Database) { self.app = app }

    static let timeout: Duration = .seconds(3_600)

    /// Streams the sealed events of `tenantID` that occurred in `[from, to)`: every link from the
    /// first of them to the first checkpoint at or after the last (so a few events just outside the
    /// range may be in it, sealed between).
    public func export(tenantID: UUID, from: Date, to: Date, write: ([UInt8]) async throws -> Void) async throws {
        try await app.withTenant(tenantID) { tx in
            // COPY takes no parameters: the range is bound into settings the statement reads.
            try await tx.query(
                """
                SELECT set_config('statement_timeout', '\(Self.timeout.components.seconds)s', true),
                       set_config('jarvis.audit_from', $1, true), set_config('jarvis.audit_to', $2, true)
                """, [Timestamp.format(from), Timestamp.format(to)])
            try await tx.copyOut(Self.sql, timeout: Self.timeout, write)
        }
    }

    /// The tenant comes from the transaction's `app.tenant_id` (row-level security shows no other).
    static let sql = """
        COPY (
            WITH range AS (
                SELECT min(seq) AS first, max(seq) AS last FROM audit_chain
                WHERE tenant_id = current_setting('app.tenant_id')::uuid
                  AND occurred_at >= current_setting('jarvis.audit_from')::timestamptz
                  AND occurred_at < current_setting('jarvis.audit_to')::timestamptz
            ), bounds AS (
                -- Every link from the range's first to the first checkpoint at or after its last, so
                -- the links are consecutive and the newest of them signed (where signed already).
                SELECT range.first, COALESCE((SELECT min(k.seq) FROM audit_checkpoints k
                                              WHERE k.tenant_id = current_setting('app.tenant_id')::uuid AND k.seq >= range.last),
                                             range.last) AS last
                FROM range
            ), links AS (
                -- Each event by its key, per link (see `AuditVerifier.linksSQL` for why not a join).
                SELECT c.seq, c.prev_hash, c.hash, l.canonical
                FROM bounds, audit_chain c
                LEFT JOIN LATERAL (
                    SELECT jarvis_audit_canonical(e) AS canonical FROM audit_events e
                    WHERE e.tenant_id = c.tenant_id AND e.id = c.event_id AND e.occurred_at = c.occurred_at LIMIT 1
                ) l ON true
                WHERE c.tenant_id = current_setting('app.tenant_id')::uuid AND c.seq BETWEEN bounds.first AND bounds.last
            ), checkpoints AS (
                SELECT k.* FROM audit_checkpoints k, bounds
                WHERE k.tenant_id = current_setting('app.tenant_id')::uuid AND k.seq BETWEEN bounds.first AND bounds.last
            ), lines AS (
                SELECT 0 AS part, 0::bigint AS seq, 0 AS sub,
                       json_build_object('type', 'export', 'version', 'jarvis-audit-export-v1',
                                         'tenant_id', current_setting('app.tenant_id'),
                                         'from', current_setting('jarvis.audit_from'), 'to', current_setting('jarvis.audit_to'),
                                         'first_seq', bounds.first, 'last_seq', bounds.last)::text AS line
                FROM bounds
                UNION ALL
                SELECT 1, seq, 0, json_build_object('type', 'event', 'seq', seq, 'prev_hash', encode(prev_hash, 'hex'),
                                                   'hash', encode(hash, 'hex'), 'canonical', canonical)::text
                FROM links
                UNION ALL
                SELECT 1, seq, 1, json_build_object('type', 'checkpoint', 'seq', seq, 'head_hash', encode(head_hash, 'hex'),
                                                   'prev_signature', encode(prev_signature, 'hex'), 'kid', kid,
                                                   'signature', encode(signature, 'hex'))::text
                FROM checkpoints
                UNION ALL
                SELECT 2, 0, 0, json_build_object('type', 'key', 'kid', k.kid, 'alg', 'Ed25519', 'public_key', encode(k.public_key, 'hex'),
                                                  'status', k.status)::text
                FROM audit_keys k WHERE k.kid IN (SELECT kid FROM checkpoints)
            )
            SELECT line FROM lines ORDER BY part, seq, sub
        ) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')
        """
}
