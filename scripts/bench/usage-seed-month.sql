-- One month of the finance benchmark's events (see usage-seed.sql): :months_back before this one,
-- event numbers :first to :last.
WITH t AS (SELECT id, (row_number() OVER (ORDER BY slug) - 1)::bigint AS n FROM tenants WHERE slug LIKE 'seed-t%'),
p AS (SELECT id, model, input_micros_per_million AS pin, output_micros_per_million AS pout FROM prices
      WHERE tenant_id = '00000000-0000-7000-8000-000000000001' AND model IN ('bench-m0', 'bench-m1', 'bench-m2', 'bench-m3', 'bench-m4')),
span AS (SELECT ts AT TIME ZONE 'UTC' AS start, extract(epoch FROM (ts + interval '1 month') - ts)::bigint AS seconds
         FROM (SELECT date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => :months_back) AS ts) m),
-- Tenant, model, version and cost center vary independently (g / 1000, / 5000, / 10000), so every
-- tenant uses every model, version and cost center.
e AS (SELECT g, t.id AS tenant_id, 'bench-m' || ((g / 1000) % 5) AS model, 'v' || ((g / 5000) % 2 + 1) AS model_version,
             100 + g % 900 AS input_tokens, 50 + (g * 7) % 450 AS output_tokens,
             span.start + make_interval(secs => (g * 7919) % span.seconds) AS occurred_at,
             CASE WHEN (g / 10000) % 11 = 10 THEN NULL ELSE 'cc-' || ((g / 10000) % 11) END AS cost_center
      FROM generate_series(:first::bigint, :last::bigint) g JOIN t ON t.n = g % 1000 CROSS JOIN span)
INSERT INTO usage_events (tenant_id, id, occurred_at, principal_id, model, model_version, prompt_version, input_tokens, output_tokens,
                          latency_ms, status, idempotency_key, price_id, cost_micros, cost_center)
SELECT e.tenant_id, gen_random_uuid(), e.occurred_at, NULL, e.model, e.model_version, NULL, e.input_tokens, e.output_tokens,
       100, 'success', 'seed-' || e.g, p.id, div(e.input_tokens::numeric * p.pin + e.output_tokens::numeric * p.pout + 500000, 1000000)::bigint,
       e.cost_center
FROM e JOIN p ON p.model = e.model;
