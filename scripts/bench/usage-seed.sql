-- The finance benchmark's data set: 10,000,000 rated usage events over the 1,000 seeded tenants
-- (seed-t*) and the three months before this one, with their day rollup, straight into PostgreSQL
-- as the platform role (it bypasses row-level security; this is fixture data, not audited).
-- Five models at five prices, two versions each, ten cost centers and none.
\set ON_ERROR_STOP on
INSERT INTO prices (tenant_id, id, model, currency, input_micros_per_million, output_micros_per_million, effective_from)
SELECT '00000000-0000-7000-8000-000000000001', gen_random_uuid(), 'bench-m' || m, 'USD', (m + 1) * 250000, (m + 1) * 1000000, '2000-01-01'
FROM generate_series(0, 4) m
ON CONFLICT DO NOTHING;

-- Events first (skipped when an earlier, interrupted seeding stored them), then the rollup.
SELECT EXISTS (SELECT 1 FROM usage_events WHERE model IN ('bench-m0', 'bench-m1', 'bench-m2', 'bench-m3', 'bench-m4')) AS events_seeded \gset
\if :events_seeded
\else
\set months_back 3
\set first 1
\set last 3333333
\ir usage-seed-month.sql
\set months_back 2
\set first 3333334
\set last 6666666
\ir usage-seed-month.sql
\set months_back 1
\set first 6666667
\set last 10000000
\ir usage-seed-month.sql
\endif

INSERT INTO usage_daily (tenant_id, day, principal_id, model, model_version, prompt_version, cost_center,
                         events, input_tokens, output_tokens, cost_micros, unpriced_events)
SELECT tenant_id, (occurred_at AT TIME ZONE 'UTC')::date, '00000000-0000-0000-0000-000000000000'::uuid, model, model_version, '',
       COALESCE(cost_center, ''), count(*), sum(input_tokens), sum(output_tokens), sum(cost_micros), 0
FROM usage_events WHERE model IN ('bench-m0', 'bench-m1', 'bench-m2', 'bench-m3', 'bench-m4')
GROUP BY 1, 2, 3, 4, 5, 6, 7
ON CONFLICT (tenant_id, day, principal_id, model, model_version, prompt_version, cost_center) DO UPDATE SET
    events = usage_daily.events + EXCLUDED.events, input_tokens = usage_daily.input_tokens + EXCLUDED.input_tokens,
    output_tokens = usage_daily.output_tokens + EXCLUDED.output_tokens, cost_micros = usage_daily.cost_micros + EXCLUDED.cost_micros;
