-- Billing, part two: the finance role, cost centers, a rollup wide enough for every finance
-- report, and monthly statements that close for good.

-- `finance` becomes a built-in role name. A tenant's own role of that name (made before it was
-- reserved) keeps working as `finance_custom`, with its bindings and inheritors renamed.
ALTER TABLE roles NO FORCE ROW LEVEL SECURITY;
ALTER TABLE role_bindings NO FORCE ROW LEVEL SECURITY;
UPDATE role_bindings SET role = 'finance_custom' WHERE role = 'finance';
UPDATE roles SET inherits = array_replace(inherits, 'finance', 'finance_custom') WHERE 'finance' = ANY (inherits);
UPDATE roles SET name = 'finance_custom' WHERE name = 'finance';
ALTER TABLE roles FORCE ROW LEVEL SECURITY;
ALTER TABLE role_bindings FORCE ROW LEVEL SECURITY;
ALTER TABLE roles DROP CONSTRAINT roles_name_check;
ALTER TABLE roles ADD CONSTRAINT roles_name_check CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'
    AND name NOT IN ('super_admin', 'tenant_admin', 'developer', 'operator', 'viewer', 'finance'));

-- Cost centers (a department, a project): on principals and API keys; each usage event is
-- attributed at ingestion to its API key's, else its principal's, and keeps it.
CREATE DOMAIN cost_center AS text CHECK (VALUE ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$');
ALTER TABLE principals ADD COLUMN cost_center cost_center;
ALTER TABLE api_keys ADD COLUMN cost_center cost_center;
ALTER TABLE usage_events ADD COLUMN api_key_id uuid, ADD COLUMN cost_center cost_center;

-- The day rollup gains model version, prompt version and cost center ('' for none: a primary key
-- cannot hold NULL), rebuilt from the events so history reports by them too.
ALTER TABLE usage_daily
    ADD COLUMN model_version text NOT NULL DEFAULT '',
    ADD COLUMN prompt_version text NOT NULL DEFAULT '',
    ADD COLUMN cost_center text NOT NULL DEFAULT '';
ALTER TABLE usage_daily DROP CONSTRAINT usage_daily_pkey;
ALTER TABLE usage_daily NO FORCE ROW LEVEL SECURITY;
ALTER TABLE usage_events NO FORCE ROW LEVEL SECURITY;
TRUNCATE usage_daily;
INSERT INTO usage_daily (tenant_id, day, principal_id, model, model_version, prompt_version, cost_center,
                         events, input_tokens, output_tokens, cost_micros, unpriced_events)
SELECT tenant_id, (occurred_at AT TIME ZONE 'UTC')::date, COALESCE(principal_id, '00000000-0000-0000-0000-000000000000'), model,
       COALESCE(model_version, ''), COALESCE(prompt_version, ''), COALESCE(cost_center, ''),
       count(*), sum(input_tokens), sum(output_tokens), COALESCE(sum(cost_micros), 0), count(*) FILTER (WHERE cost_micros IS NULL)
FROM usage_events GROUP BY 1, 2, 3, 4, 5, 6, 7;
ALTER TABLE usage_daily FORCE ROW LEVEL SECURITY;
ALTER TABLE usage_events FORCE ROW LEVEL SECURITY;
ALTER TABLE usage_daily ADD PRIMARY KEY (tenant_id, day, principal_id, model, model_version, prompt_version, cost_center);
-- Platform-wide reports read a month of every tenant.
CREATE INDEX usage_daily_day ON usage_daily (day);

-- Closed monthly statements. A row exists only once its period is closed; the open period is
-- computed from the events when asked. Nothing of a closed statement ever changes: its lines
-- are written in the transaction that closes it and refused afterwards, by the database.
CREATE TABLE statements (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    period date NOT NULL CHECK (period = date_trunc('month', period)::date),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    requests bigint NOT NULL,
    total_micros bigint NOT NULL,
    unpriced_requests bigint NOT NULL,
    closed_at timestamptz NOT NULL DEFAULT now(),
    closed_by uuid,
    PRIMARY KEY (tenant_id, period)
);
ALTER TABLE statements ENABLE ROW LEVEL SECURITY;
ALTER TABLE statements FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON statements USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT ON statements TO jarvis_app, jarvis_platform;

-- One line per model version, cost center and price in force; `usage` lines are the period's own
-- usage, `adjustment` lines what arrived late for an earlier, closed period (`usage_period`).
CREATE TABLE statement_lines (
    tenant_id uuid NOT NULL,
    period date NOT NULL,
    line integer NOT NULL CHECK (line >= 1),
    kind text NOT NULL CHECK (kind IN ('usage', 'adjustment')),
    usage_period date NOT NULL,
    model text NOT NULL,
    model_version text NOT NULL,
    cost_center text NOT NULL,
    price_id uuid,
    input_micros_per_million bigint,
    output_micros_per_million bigint,
    requests bigint NOT NULL,
    input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    amount_micros bigint NOT NULL,
    unpriced_requests bigint NOT NULL,
    PRIMARY KEY (tenant_id, period, line),
    FOREIGN KEY (tenant_id, period) REFERENCES statements (tenant_id, period),
    CHECK (kind = 'adjustment' OR usage_period = period),
    CHECK (kind = 'usage' OR usage_period < period)
);
ALTER TABLE statement_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE statement_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON statement_lines USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT ON statement_lines TO jarvis_app, jarvis_platform;

CREATE FUNCTION jarvis_closed_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a closed statement never changes; late usage goes to the next open period''s adjustment lines'
        USING ERRCODE = 'check_violation';
END
$$;
CREATE TRIGGER closed_is_final BEFORE UPDATE OR DELETE ON statements FOR EACH ROW EXECUTE FUNCTION jarvis_closed_is_final();
CREATE TRIGGER closed_is_final BEFORE UPDATE OR DELETE ON statement_lines FOR EACH ROW EXECUTE FUNCTION jarvis_closed_is_final();
CREATE TRIGGER closed_is_final_truncate BEFORE TRUNCATE ON statements FOR EACH STATEMENT EXECUTE FUNCTION jarvis_closed_is_final();
CREATE TRIGGER closed_is_final_truncate BEFORE TRUNCATE ON statement_lines FOR EACH STATEMENT EXECUTE FUNCTION jarvis_closed_is_final();

-- Lines join only the statement their own transaction closed.
CREATE FUNCTION jarvis_lines_only_while_closing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM statements s WHERE s.tenant_id = NEW.tenant_id AND s.period = NEW.period
                   AND s.xmin = pg_current_xact_id()::xid) THEN
        RAISE EXCEPTION 'a closed statement never changes; late usage goes to the next open period''s adjustment lines'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER lines_only_while_closing BEFORE INSERT ON statement_lines FOR EACH ROW EXECUTE FUNCTION jarvis_lines_only_while_closing();
