-- Rating once per batch instead of once per event. jarvis_rate (0016) looked the price book up for
-- every event: a scan and a sort of the model's prices and a read of the tenant's plan, each time.
-- The usage ledger now fetches the candidates once per (tenant, model, version) in a batch and
-- picks the price in force once per distinct occurred_at; jarvis_rate (re-rating) is rewritten on
-- the same two functions so both apply one rule.

-- The prices that can apply to one (tenant, model, version), with their precedence as one number:
-- the tenant's own (4) over the platform's for the tenant's plan (2) over the platform's for every
-- plan; a price of the version (1) over the model's general one. Of those in force at a time, the
-- highest precedence wins, then the latest effective_from (the unique key leaves no tie).
CREATE FUNCTION jarvis_price_candidates(p_tenant uuid, p_model text, p_version text)
RETURNS TABLE (price_id uuid, effective_from timestamptz, input_micros_per_million bigint, output_micros_per_million bigint,
               precedence integer)
LANGUAGE sql STABLE AS $$
    SELECT pr.id, pr.effective_from, pr.input_micros_per_million, pr.output_micros_per_million,
           (pr.tenant_id = p_tenant)::integer * 4 + (pr.plan <> '')::integer * 2 + (pr.model_version <> '')::integer
    FROM prices pr
    WHERE pr.model = p_model AND pr.model_version IN (COALESCE(p_version, ''), '')
      AND (pr.tenant_id = p_tenant
           OR (pr.tenant_id = '00000000-0000-7000-8000-000000000001'
               AND pr.plan IN ('', (SELECT t.plan FROM tenants t WHERE t.id = p_tenant))))
$$;

-- One event's cost in micro-units: tokens × price per million, rounded half up (exact numeric).
CREATE FUNCTION jarvis_cost(p_input bigint, p_output bigint, p_input_price bigint, p_output_price bigint)
RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT div(p_input::numeric * p_input_price + p_output::numeric * p_output_price + 500000, 1000000)::bigint
$$;

CREATE OR REPLACE FUNCTION jarvis_rate(p_tenant uuid, p_model text, p_version text, p_at timestamptz, p_input bigint, p_output bigint)
RETURNS TABLE (price_id uuid, cost_micros bigint) LANGUAGE sql STABLE AS $$
    SELECT c.price_id, jarvis_cost(p_input, p_output, c.input_micros_per_million, c.output_micros_per_million)
    FROM jarvis_price_candidates(p_tenant, p_model, p_version) c
    WHERE c.effective_from <= p_at
    ORDER BY c.precedence DESC, c.effective_from DESC
    LIMIT 1
$$;
