internal import Foundation
internal import JarvisStore

/// The SQL of usage ingestion: keys first (the idempotency check), then the events whose keys were
/// new, then the day rollup — one transaction, one statement per table, arrays bound as parameters.
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
        return try await platform.withTransaction { tx in
            let inserted = try await tx.query(
                """
                INSERT INTO usage_event_keys (tenant_id, idempotency_key, event_id)
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[])
                ON CONFLICT DO NOTHING
                RETURNING event_id
                """,
                [TextArray(fresh.map { events[$0].tenantID.lowercasedString }), TextArray(fresh.map { events[$0].idempotencyKey }),
                 TextArray(ids.map(\.lowercasedString))])
            let stored = Set(try inserted.all.map { try $0.uuid("event_id") })
            var accepted = [Bool](repeating: false, count: events.count)
            var rows: [(UUID, UsageEvent)] = []
            for (n, index) in fresh.enumerated() where stored.contains(ids[n]) {
                accepted[index] = true
                rows.append((ids[n], events[index]))
            }
            guard !rows.isEmpty else { return accepted }
            func column(_ value: (UsageEvent) -> String?) -> TextArray { TextArray(nullable: rows.map { value($0.1) }) }
            let parameters: [any SQLBindable] = [
                column { $0.tenantID.lowercasedString }, TextArray(rows.map { $0.0.lowercasedString }),
                column { Timestamp.format($0.occurredAt) }, column { $0.principalID?.lowercasedString }, column { $0.model },
                column { $0.modelVersion }, column { $0.promptVersion }, column { String($0.inputTokens) },
                column { String($0.outputTokens) }, column { $0.latencyMs.map(String.init) }, column { $0.status },
                column { $0.idempotencyKey }, column { $0.reservationID?.lowercasedString },
            ]
            try await tx.query(
                """
                INSERT INTO usage_events (tenant_id, id, occurred_at, principal_id, model, model_version, prompt_version,
                                          input_tokens, output_tokens, latency_ms, status, idempotency_key, reservation_id)
                SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::uuid[], $5::text[], $6::text[], $7::text[],
                                     $8::bigint[], $9::bigint[], $10::integer[], $11::text[], $12::text[], $13::uuid[])
                """, parameters)
            try await tx.query(
                """
                INSERT INTO usage_daily (tenant_id, day, principal_id, model, events, input_tokens, output_tokens)
                SELECT tenant_id, (occurred_at AT TIME ZONE 'UTC')::date,
                       COALESCE(principal_id, '00000000-0000-0000-0000-000000000000'), model,
                       count(*), sum(input_tokens), sum(output_tokens)
                FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::text[], $5::bigint[], $6::bigint[])
                     AS e(tenant_id, occurred_at, principal_id, model, input_tokens, output_tokens)
                GROUP BY 1, 2, 3, 4
                ORDER BY 1, 2, 3, 4
                ON CONFLICT (tenant_id, day, principal_id, model) DO UPDATE SET
                    events = usage_daily.events + EXCLUDED.events,
                    input_tokens = usage_daily.input_tokens + EXCLUDED.input_tokens,
                    output_tokens = usage_daily.output_tokens + EXCLUDED.output_tokens
                """, [parameters[0], parameters[2], parameters[3], parameters[4], parameters[7], parameters[8]])
            return accepted
        }
    }
}
