-- Billing, part one: the price book, and rating at ingestion. Money is integer micro-units
-- (1/1,000,000) of the price book's currency; prices are per million tokens. No floating point:
-- costs are computed in numeric and rounded half up to the micro-unit, once per event.
--
-- A price belongs to the platform tenant (platform-wide, optionally for one plan only) or to a
-- tenant (that tenant's negotiated override). Prices are never changed or deleted: a new price
-- takes effect from its `effective_from`, and history is what rated every event.
CREATE TABLE prices (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    model text NOT NULL CHECK (char_length(model) BETWEEN 1 AND 200),
    -- '' prices every version of the model that has no price of its own.
    model_version text NOT NULL DEFAULT '' CHECK (char_length(model_version) <= 100),
    -- '' is every plan; only platform prices name one.
    plan text NOT NULL DEFAULT '' CHECK (plan ~ '^[a-z0-9_-]{0,32}$'),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    input_micros_per_million bigint NOT NULL CHECK (input_micros_per_million BETWEEN 0 AND 1000000000000),
    output_micros_per_million bigint NOT NULL CHECK (output_micros_per_million BETWEEN 0 AND 1000000000000),
    effective_from timestamptz NOT NULL,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, model, model_version, plan, effective_from)
);
CREATE INDEX prices_lookup ON prices (model, model_version, effective_from DESC);
ALTER TABLE prices ENABLE ROW LEVEL SECURITY;
ALTER TABLE prices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON prices USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT ON prices TO jarvis_app, jarvis_platform;

CREATE FUNCTION jarvis_prices_are_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'prices are never changed or deleted; add a price effective from a later time' USING ERRCODE = 'check_violation';
END
$$;
CREATE TRIGGER prices_are_history BEFORE UPDATE OR DELETE ON prices FOR EACH ROW EXECUTE FUNCTION jarvis_prices_are_history();

-- Each event's cost, from the price in force at its occurred_at (null: no price applied; listed
-- for finance, rated later when a price arrives).
ALTER TABLE usage_events ADD COLUMN cost_micros bigint, ADD COLUMN price_id uuid;
CREATE INDEX usage_events_unpriced ON usage_events (tenant_id, occurred_at) WHERE cost_micros IS NULL;

-- The day rollup carries cost and the count of events with none.
ALTER TABLE usage_daily ADD COLUMN cost_micros bigint NOT NULL DEFAULT 0, ADD COLUMN unpriced_events bigint NOT NULL DEFAULT 0;

-- The price book's answer for one event, for the usage ledger to store in the same statement:
-- the tenant's own price first, then the platform's for the tenant's plan, then the platform's
-- for every plan; within each, a price of the event's model version before the model's
-- general one; the latest in force at `occurred_at`. Cost rounds half up to the micro-unit.
-- (A set-returning SQL function: PostgreSQL inlines it into the caller's query.)
CREATE FUNCTION jarvis_rate(p_tenant uuid, p_model text, p_version text, p_at timestamptz, p_input bigint, p_output bigint)
RETURNS TABLE (price_id uuid, cost_micros bigint) LANGUAGE sql STABLE AS $$
    SELECT pr.id,
           div(p_input::numeric * pr.input_micros_per_million + p_output::numeric * pr.output_micros_per_million + 500000, 1000000)::bigint
    FROM prices pr
    WHERE pr.model = p_model AND pr.model_version IN (COALESCE(p_version, ''), '') AND pr.effective_from <= p_at
      AND (pr.tenant_id = p_tenant
           OR (pr.tenant_id = '00000000-0000-7000-8000-000000000001'
               AND pr.plan IN ('', (SELECT t.plan FROM tenants t WHERE t.id = p_tenant))))
    ORDER BY pr.tenant_id = p_tenant DESC, pr.plan <> '' DESC, pr.model_version <> '' DESC, pr.effective_from DESC
    LIMIT 1
$$;

-- Re-rating events that had no price when they arrived sets these two columns, nothing else.
GRANT UPDATE (cost_micros, price_id) ON usage_events TO jarvis_platform;
