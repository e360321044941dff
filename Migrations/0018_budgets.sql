-- Budgets: a monthly amount of money per tenant, or per cost center of a tenant, with alert
-- thresholds and an optional hard stop the quota engine enforces on the hot path.

CREATE TABLE budgets (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id uuid NOT NULL,
    -- NULL: the whole tenant.
    cost_center cost_center,
    -- Whole micro-units of the price book's currency, every month. The quota engine's allowances
    -- count them exactly: at most 2^53.
    amount_micros bigint NOT NULL CHECK (amount_micros BETWEEN 1 AND 9007199254740992),
    thresholds integer[] NOT NULL DEFAULT '{50,80,100}'
        CHECK (cardinality(thresholds) BETWEEN 1 AND 10 AND 1 <= ALL (thresholds) AND 1000 >= ALL (thresholds)),
    hard_stop boolean NOT NULL DEFAULT false,
    -- What a check that reserves without a cost estimate holds of the budget.
    check_reservation_micros bigint NOT NULL DEFAULT 0 CHECK (check_reservation_micros BETWEEN 0 AND 9007199254740992),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX budgets_scope ON budgets (tenant_id, COALESCE(cost_center::text, ''));
ALTER TABLE budgets ENABLE ROW LEVEL SECURITY;
ALTER TABLE budgets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON budgets USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON budgets TO jarvis_app;
GRANT SELECT ON budgets TO jarvis_platform;

-- Each threshold of each budget alerts once per month; the key makes that hold across instances.
CREATE TABLE budget_alerts (
    tenant_id uuid NOT NULL,
    budget_id uuid NOT NULL,
    period date NOT NULL CHECK (period = date_trunc('month', period)::date),
    threshold integer NOT NULL,
    spent_micros bigint NOT NULL,
    amount_micros bigint NOT NULL,
    raised_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, budget_id, period, threshold),
    FOREIGN KEY (tenant_id, budget_id) REFERENCES budgets (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE budget_alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE budget_alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON budget_alerts USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, DELETE ON budget_alerts TO jarvis_app;
GRANT SELECT, INSERT ON budget_alerts TO jarvis_platform;

-- A hard-stop budget is a global allowance like a token budget: subject 'budget' (its id),
-- metric 'cost_monthly', counted in micro-units.
ALTER TABLE quota_allowances DROP CONSTRAINT quota_allowances_subject_kind_check;
ALTER TABLE quota_allowances ADD CONSTRAINT quota_allowances_subject_kind_check
    CHECK (subject_kind IN ('tenant', 'principal', 'api_key', 'budget'));
ALTER TABLE quota_allowances DROP CONSTRAINT quota_allowances_metric_check;
ALTER TABLE quota_allowances ADD CONSTRAINT quota_allowances_metric_check
    CHECK (metric IN ('requests', 'tokens_daily', 'tokens_monthly', 'cost_monthly'));

CREATE OR REPLACE FUNCTION jarvis_quota_grant(
    p_tenant uuid, p_kind text, p_subject uuid, p_metric text, p_window bigint,
    p_rate double precision, p_limit double precision, p_returned double precision, p_wanted double precision
) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    available double precision;
    granted double precision;
    current_tokens double precision;
    current_refilled timestamptz;
    start_day date;
    end_day date;
BEGIN
    SELECT tokens, refilled_at INTO current_tokens, current_refilled
    FROM quota_allowances
    WHERE tenant_id = p_tenant AND subject_kind = p_kind AND subject_id = p_subject AND metric = p_metric AND time_window = p_window
    FOR UPDATE;
    IF NOT FOUND THEN
        IF p_metric = 'requests' THEN
            current_tokens := p_limit;
        ELSE
            IF p_metric = 'tokens_daily' THEN
                start_day := date '1970-01-01' + p_window::integer;
                end_day := start_day;
            ELSE
                start_day := make_date((p_window / 12)::integer, (p_window % 12)::integer + 1, 1);
                end_day := (start_day + interval '1 month' - interval '1 day')::date;
            END IF;
            IF p_metric = 'cost_monthly' THEN
                -- The month's spend so far within the budget's scope (the tenant, or one cost center).
                SELECT COALESCE(sum(d.cost_micros), 0) INTO current_tokens
                FROM usage_daily d JOIN budgets b ON b.tenant_id = d.tenant_id AND b.id = p_subject
                WHERE d.tenant_id = p_tenant AND d.day BETWEEN start_day AND end_day
                  AND (b.cost_center IS NULL OR d.cost_center = b.cost_center::text);
            ELSE
                SELECT COALESCE(sum(input_tokens + output_tokens), 0) INTO current_tokens
                FROM usage_daily
                WHERE tenant_id = p_tenant AND day BETWEEN start_day AND end_day
                  AND (p_kind = 'tenant' OR principal_id = p_subject);
            END IF;
        END IF;
        current_refilled := clock_timestamp();
        INSERT INTO quota_allowances (tenant_id, subject_kind, subject_id, metric, time_window, tokens, refilled_at)
        VALUES (p_tenant, p_kind, p_subject, p_metric, p_window, current_tokens, current_refilled)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            -- Another instance created it meanwhile: start over on its row.
            RETURN jarvis_quota_grant(p_tenant, p_kind, p_subject, p_metric, p_window, p_rate, p_limit, p_returned, p_wanted);
        END IF;
    END IF;
    IF p_metric = 'requests' THEN
        available := least(p_limit,
            current_tokens + greatest(extract(epoch FROM clock_timestamp() - current_refilled), 0) * p_rate + greatest(p_returned, 0));
        granted := least(greatest(p_wanted, 0), greatest(available, 0));
        UPDATE quota_allowances SET tokens = available - granted, refilled_at = clock_timestamp()
        WHERE tenant_id = p_tenant AND subject_kind = p_kind AND subject_id = p_subject AND metric = p_metric AND time_window = p_window;
    ELSE
        -- Handed out so far, less what comes back; a grant never takes it past the budget.
        available := greatest(current_tokens - greatest(p_returned, 0), 0);
        granted := least(greatest(p_wanted, 0), greatest(p_limit - available, 0));
        UPDATE quota_allowances SET tokens = available + granted, refilled_at = clock_timestamp()
        WHERE tenant_id = p_tenant AND subject_kind = p_kind AND subject_id = p_subject AND metric = p_metric AND time_window = p_window;
    END IF;
    RETURN granted;
END
$$;

-- Webhooks take budget alerts too, existing ones included. (0015's update of existing webhooks ran
-- under forced row security and so changed none: they get rollout aborts here as well.)
ALTER TABLE webhooks ALTER COLUMN events SET DEFAULT '{quota.warning,rollout.aborted,budget.threshold}';
ALTER TABLE webhooks NO FORCE ROW LEVEL SECURITY;
UPDATE webhooks SET events = array_append(events, 'rollout.aborted') WHERE NOT 'rollout.aborted' = ANY(events);
UPDATE webhooks SET events = array_append(events, 'budget.threshold') WHERE NOT 'budget.threshold' = ANY(events);
ALTER TABLE webhooks FORCE ROW LEVEL SECURITY;
