package import Foundation
package import JarvisStore

/// The SQL of usage ingestion: one statement (so one round trip, atomic) that stores the keys (the
/// idempotency check), the events whose keys were new, and their day rollup, from arrays bound as
/// parameters.
package enum UsageLedger {
    /// What storing one new event decided: its cost (nil: unpriced) and cost center.
    struct Stored {
        let costMicros: Int64?
        let costCenter: String?
    }

    /// - Returns: for each event, how it was stored now (nil: its key was seen before).
    static func insert(_ platform: Database, _ events: [UsageEvent], rating: Bool = true) async throws -> [Stored?] {
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
        fresh.sort {
            let (a, b) = (events[$0].tenantID.orderKey, events[$1].tenantID.orderKey)
            return (a.0, a.1, events[$0].idempotencyKey) < (b.0, b.1, events[$1].idempotencyKey)
        }
        let ids = fresh.map { _ in UUIDv7.makeUnique() }
        func column(_ value: (UsageEvent) -> String?) -> TextArray { TextArray(nullable: fresh.map { value(events[$0]) }) }
        let parameters: [any SQLBindable] = [
            column { $0.tenantID.lowercasedString }, TextArray(ids.map(\.lowercasedString)),
            column { Timestamp.format($0.occurredAt) }, column { $0.principalID?.lowercasedString }, column { $0.model },
            column { $0.modelVersion }, column { $0.promptVersion }, column { String($0.inputTokens) },
            column { String($0.outputTokens) }, column { $0.latencyMs.map(String.init) }, column { $0.status },
            column { $0.idempotencyKey }, column { $0.reservationID?.lowercasedString }, column { $0.prompt },
            column { $0.apiKeyID?.lowercasedString }, rating,
        ]
        // One statement, so one round trip and atomic without BEGIN/COMMIT: the keys whose insert
        // went through are the events stored and rolled up; the others were stored before.
        let inserted = try await platform.query(
            """
            WITH input AS (
                SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::uuid[], $5::text[], $6::text[], $7::text[],
                                     $8::bigint[], $9::bigint[], $10::integer[], $11::text[], $12::text[], $13::uuid[], $14::text[],
                                     $15::uuid[])
                    AS e(tenant_id, id, occurred_at, principal_id, model, model_version, prompt_version,
                         input_tokens, output_tokens, latency_ms, status, idempotency_key, reservation_id, prompt, api_key_id)
            ), keys AS (
                -- Found by the digest of the key (migration 0033's jarvis_usage_key_digest, written out
                -- so that it is computed inline rather than through a function call).
                INSERT INTO usage_event_keys (tenant_id, key_digest, idempotency_key, event_id)
                SELECT tenant_id, encode(substring(sha256(convert_to(idempotency_key, 'UTF8')) FROM 1 FOR 16), 'hex')::uuid,
                       idempotency_key, id
                FROM input ORDER BY tenant_id, idempotency_key
                ON CONFLICT DO NOTHING
                RETURNING event_id
            ), candidates AS (
                -- The billing module's price book (migrations 0016, 0027), read once per (tenant, model,
                -- version) in the batch rather than once per event.
                SELECT k.tenant_id, k.model, k.model_version, c.*
                FROM (SELECT DISTINCT tenant_id, model, COALESCE(model_version, '') AS model_version FROM input WHERE $16) k
                CROSS JOIN LATERAL jarvis_price_candidates(k.tenant_id, k.model, k.model_version) c
            ), in_force AS (
                -- The price in force at each distinct occurred_at: jarvis_rate's rule (precedence, then
                -- the latest), once per time rather than per event (a batch often shares one).
                SELECT DISTINCT ON (m.tenant_id, m.model, m.model_version, m.occurred_at)
                       m.*, c.price_id, c.input_micros_per_million, c.output_micros_per_million
                FROM (SELECT DISTINCT tenant_id, model, COALESCE(model_version, '') AS model_version, occurred_at FROM input WHERE $16) m
                JOIN candidates c ON c.tenant_id = m.tenant_id AND c.model = m.model AND c.model_version = m.model_version
                                 AND c.effective_from <= m.occurred_at
                ORDER BY m.tenant_id, m.model, m.model_version, m.occurred_at, c.precedence DESC, c.effective_from DESC
            ), rated AS (
                -- Each new event's cost from that price, and its key's cost center, else its
                -- principal's (migration 0017).
                SELECT i.*, r.price_id,
                       jarvis_cost(i.input_tokens, i.output_tokens, r.input_micros_per_million, r.output_micros_per_million) AS cost_micros,
                       COALESCE((SELECT ak.cost_center FROM api_keys ak WHERE ak.tenant_id = i.tenant_id AND ak.id = i.api_key_id),
                                (SELECT p.cost_center FROM principals p WHERE p.tenant_id = i.tenant_id AND p.id = i.principal_id)) AS cost_center
                FROM input i JOIN keys k ON k.event_id = i.id
                LEFT JOIN in_force r ON r.tenant_id = i.tenant_id AND r.model = i.model
                                    AND r.model_version = COALESCE(i.model_version, '') AND r.occurred_at = i.occurred_at
            ), stored AS (
                INSERT INTO usage_events (tenant_id, id, occurred_at, principal_id, model, model_version, prompt_version,
                                          input_tokens, output_tokens, latency_ms, status, idempotency_key, reservation_id, prompt,
                                          api_key_id, price_id, cost_micros, cost_center)
                SELECT * FROM rated
            ), rolled AS (
                INSERT INTO usage_daily (tenant_id, day, principal_id, model, model_version, prompt_version, cost_center,
                                         events, input_tokens, output_tokens, cost_micros, unpriced_events)
                SELECT tenant_id, (occurred_at AT TIME ZONE 'UTC')::date,
                       COALESCE(principal_id, '00000000-0000-0000-0000-000000000000'), model,
                       COALESCE(model_version, ''), COALESCE(prompt_version, ''), COALESCE(cost_center, ''),
                       count(*), sum(input_tokens), sum(output_tokens), COALESCE(sum(cost_micros), 0), count(*) FILTER (WHERE cost_micros IS NULL)
                FROM rated
                GROUP BY 1, 2, 3, 4, 5, 6, 7
                ORDER BY 1, 2, 3, 4, 5, 6, 7
                ON CONFLICT (tenant_id, day, principal_id, model, model_version, prompt_version, cost_center) DO UPDATE SET
                    events = usage_daily.events + EXCLUDED.events,
                    input_tokens = usage_daily.input_tokens + EXCLUDED.input_tokens,
                    output_tokens = usage_daily.output_tokens + EXCLUDED.output_tokens,
                    cost_micros = usage_daily.cost_micros + EXCLUDED.cost_micros,
                    unpriced_events = usage_daily.unpriced_events + EXCLUDED.unpriced_events
            )
            SELECT id AS event_id, cost_micros, cost_center FROM rated
            """, parameters, prepared: true)
        var stored: [UUID: Stored] = [:]
        for row in inserted.all {
            stored[try row.uuid("event_id")] = Stored(
                costMicros: try row.optionalInt("cost_micros").map { Int64($0) }, costCenter: try row.optionalString("cost_center"))
        }
        var accepted = [Stored?](repeating: nil, count: events.count)
        for (n, index) in fresh.enumerated() { accepted[index] = stored[ids[n]] }
        return accepted
    }

    /// Rates the tenant's events stored without a price, with the price book as it is now (the
    /// price in force when each occurred), and moves their cost into the day rollup — one
    /// statement, in the caller's transaction (the billing module audits it there).
    package static func rerate(_ tx: Transaction, tenantID: UUID) async throws -> (events: Int64, costMicros: Int64) {
        let row = try await tx.query(
            """
            WITH rated AS (
                UPDATE usage_events e SET price_id = r.price_id, cost_micros = r.cost_micros
                FROM usage_events x
                CROSS JOIN LATERAL jarvis_rate(x.tenant_id, x.model, x.model_version, x.occurred_at, x.input_tokens, x.output_tokens) r
                WHERE e.tenant_id = $1 AND e.cost_micros IS NULL
                  AND x.tenant_id = e.tenant_id AND x.occurred_at = e.occurred_at AND x.id = e.id
                RETURNING e.tenant_id, e.occurred_at, e.principal_id, e.model, e.model_version, e.prompt_version, e.cost_center, e.cost_micros
            ), days AS (
                SELECT tenant_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
                       COALESCE(principal_id, '00000000-0000-0000-0000-000000000000') AS principal_id, model,
                       COALESCE(model_version, '') AS model_version, COALESCE(prompt_version, '') AS prompt_version,
                       COALESCE(cost_center, '') AS cost_center, sum(cost_micros) AS cost, count(*) AS events
                FROM rated GROUP BY 1, 2, 3, 4, 5, 6, 7
            ), rolled AS (
                UPDATE usage_daily d SET cost_micros = d.cost_micros + days.cost, unpriced_events = d.unpriced_events - days.events
                FROM days
                WHERE d.tenant_id = days.tenant_id AND d.day = days.day AND d.principal_id = days.principal_id AND d.model = days.model
                  AND d.model_version = days.model_version AND d.prompt_version = days.prompt_version AND d.cost_center = days.cost_center
                RETURNING 1
            )
            SELECT count(*) AS events, COALESCE(sum(cost_micros), 0) AS cost_micros, (SELECT count(*) FROM rolled) AS days FROM rated
            """, [tenantID]
        ).first
        return (Int64(try row?.int("events") ?? 0), Int64(try row?.int("cost_micros") ?? 0))
    }
}

extension UsageLedger {
    /// How long a usage idempotency key is kept: an event is accepted up to 35 days after it
    /// occurred and 5 minutes ahead (`UsageIngest`), plus a day for clocks that disagree. A retry of
    /// an event whose key is gone is refused as too old, so no event is ever counted twice.
    package static let keyRetention: Duration = .seconds(Int(UsageIngest.maxAge + UsageIngest.maxSkew) + 86_400)

    /// Forgets keys past `keyRetention`, so the key table holds about 36 days of events, not all of them.
    package static func keyExpiry(platform: Database, chunk: Int = 5_000, chunksPerPass: Int = 200) -> ExpirySweep {
        ExpirySweep(
            table: "usage_event_keys", timeColumn: "received_at", keep: keyRetention, platform: platform, chunk: chunk,
            chunksPerPass: chunksPerPass)
    }
}
