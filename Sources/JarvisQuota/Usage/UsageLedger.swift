internal import Foundation
internal import JarvisStore

/// The SQL of usage ingestion: one statement (so one round trip, atomic) that stores the keys (the
/// idempotency check), the events whose keys were new, and their day rollup, from arrays bound as
/// parameters.
enum UsageLedger {
    /// - Returns: for each event, whether it was stored now (false: its key was seen before).
    static func insert(_ platform: Database, _ events: [UsageEvent]) async throws -> [Bool] {
        // Within the batch the first event with a key wins; later ones are duplicates.
        var firstIndex: [String: Int] = [:]
        var fresh: [Int] = []
        for (index, event) in events.enumerated() {
            let key = event.tenantID.lowercasedString + "\u{0}" + event.idempotencyKey
            if firstIndex[key] == nil {
                firstIndex[key] = index
                fresh.append(index)
            }
        }
        // One order for every writer, so concurrent batches sharing keys wait instead of deadlocking.
        fresh.sort { (events[$0].tenantID.uuidString, events[$0].idempotencyKey) < (events[$1].tenantID.uuidString, events[$1].idempotencyKey) }
        let ids = fresh.map { _ in UUIDv7.make() }
        func column(_ value: (UsageEvent) -> String?) -> TextArray { TextArray(nullable: fresh.map { value(events[$0]) }) }
        let parameters: [any SQLBindable] = [
            column { $0.tenantID.lowercasedString }, TextArray(ids.map(\.lowercasedString)),
            column { Timestamp.format($0.occurredAt) }, column { $0.principalID?.lowercasedString }, column { $0.model },
            column { $0.modelVersion }, column { $0.promptVersion }, column { String($0.inputTokens) },
            column { String($0.outputTokens) }, column { $0.latencyMs.map(String.init) }, column { $0.status },
            column { $0.idempotencyKey }, column { $0.reservationID?.lowercasedString }, column { $0.prompt },
        ]
        // One statement, so one round trip and atomic without BEGIN/COMMIT: the keys whose insert
        // went through are the events stored and rolled up; the others were stored before.
        let inserted = try await platform.query(
            """
            WITH input AS (
                SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::uuid[], $5::text[], $6::text[], $7::text[],
                                     $8::bigint[], $9::bigint[], $10::integer[], $11::text[], $12::text[], $13::uuid[], $14::text[])
                    AS e(tenant_id, id, occurred_at, principal_id, model, model_version, prompt_version,
                         input_tokens, output_tokens, latency_ms, status, idempotency_key, reservation_id, prompt)
            ), keys AS (
                INSERT INTO usage_event_keys (tenant_id, idempotency_key, event_id)
                SELECT tenant_id, idempotency_key, id FROM input ORDER BY tenant_id, idempotency_key
                ON CONFLICT DO NOTHING
                RETURNING event_id
            ), stored AS (
                INSERT INTO usage_events (tenant_id, id, occurred_at, principal_id, model, model_version, prompt_version,
                                          input_tokens, output_tokens, latency_ms, status, idempotency_key, reservation_id, prompt)
                SELECT i.* FROM input i JOIN keys k ON k.event_id = i.id
            ), rolled AS (
                INSERT INTO usage_daily (tenant_id, day, principal_id, model, events, input_tokens, output_tokens)
                SELECT i.tenant_id, (i.occurred_at AT TIME ZONE 'UTC')::date,
                       COALESCE(i.principal_id, '00000000-0000-0000-0000-000000000000'), i.model,
                       count(*), sum(i.input_tokens), sum(i.output_tokens)
                FROM input i JOIN keys k ON k.event_id = i.id
                GROUP BY 1, 2, 3, 4
                ORDER BY 1, 2, 3, 4
                ON CONFLICT (tenant_id, day, principal_id, model) DO UPDATE SET
                    events = usage_daily.events + EXCLUDED.events,
                    input_tokens = usage_daily.input_tokens + EXCLUDED.input_tokens,
                    output_tokens = usage_daily.output_tokens + EXCLUDED.output_tokens
            )
            SELECT event_id FROM keys
            """, parameters)
        let stored = Set(try inserted.all.map { try $0.uuid("event_id") })
        var accepted = [Bool](repeating: false, count: events.count)
        for (n, index) in fresh.enumerated() where stored.contains(ids[n]) { accepted[index] = true }
        return accepted
    }
}
