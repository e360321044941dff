-- Global quota state shared by every instance (the design's "global bucket"): one row per
-- (tenant, subject, metric, window). Instances decide from local allowances they take from
-- these rows and give back what they do not use, so together they never admit more than the
-- limit allows, and no check waits for the database while its instance holds an allowance.
--   requests: `tokens` is the shared token bucket, refilled at the policy's rate up to its burst.
--   tokens_daily / tokens_monthly: `tokens` is how much of the window's budget is handed out
--   (it starts at what the rollup already counts for the window).
CREATE TABLE quota_allowances (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    subject_kind text NOT NULL CHECK (subject_kind IN ('tenant', 'principal', 'api_key')),
    subject_id uuid NOT NULL,
    metric text NOT NULL CHECK (metric IN ('requests', 'tokens_daily', 'tokens_monthly')),
    time_window bigint NOT NULL,
    tokens double precision NOT NULL,
    refilled_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, subject_kind, subject_id, metric, time_window)
);
ALTER TABLE quota_allowances ENABLE ROW LEVEL SECURITY;
ALTER TABLE quota_allowances FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON quota_allowances
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT ON quota_allowances TO jarvis_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON quota_allowances TO jarvis_platform;

-- Gives back `returned` and takes up to `wanted`; returns what was granted. `amount_limit` is the
-- bucket's size (requests) or the window's budget (tokens); `rate` is per second (requests only).
-- Days and months are UTC; `time_window` is the day or month number the instance computed.
CREATE FUNCTION jarvis_quota_grant(
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
            SELECT COALESCE(sum(input_tokens + output_tokens), 0) INTO current_tokens
            FROM usage_daily
            WHERE tenant_id = p_tenant AND day BETWEEN start_day AND end_day
              AND (p_kind = 'tenant' OR principal_id = p_subject);
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
