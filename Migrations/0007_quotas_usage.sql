-- Quota policies and usage metering.

-- A limit on one metric for a tenant, or for one of its principals or API keys (the tightest
-- applicable limit decides). `requests` is per second with a burst; tokens per day or month;
-- storage gauges are absolute; concurrent_workflows counts live leases.
CREATE TABLE quota_policies (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id uuid NOT NULL,
    subject_kind text NOT NULL CHECK (subject_kind IN ('tenant', 'principal', 'api_key')),
    subject_id uuid,
    metric text NOT NULL CHECK (metric IN ('requests', 'tokens_daily', 'tokens_monthly', 'storage_documents',
                                           'storage_vectors', 'storage_bytes', 'concurrent_workflows')),
    "limit" bigint NOT NULL CHECK ("limit" >= 0),
    burst bigint CHECK (burst >= 1),
    warn_at_percent smallint NOT NULL DEFAULT 80 CHECK (warn_at_percent BETWEEN 1 AND 100),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CHECK ((subject_kind = 'tenant') = (subject_id IS NULL)),
    CHECK (burst IS NULL OR metric = 'requests')
);
CREATE UNIQUE INDEX quota_policies_subject_metric
    ON quota_policies (tenant_id, subject_kind, COALESCE(subject_id, '00000000-0000-0000-0000-000000000000'), metric);
ALTER TABLE quota_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE quota_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON quota_policies
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON quota_policies TO jarvis_app;
GRANT SELECT ON quota_policies TO jarvis_platform;
CREATE TRIGGER invalidate AFTER INSERT OR UPDATE OR DELETE ON quota_policies
    FOR EACH ROW EXECUTE FUNCTION jarvis_notify_invalidate();

-- One row per accepted idempotency key: a repeated key is acknowledged and never counted twice.
-- Not partitioned, so the key is unique across months.
CREATE TABLE usage_event_keys (
    tenant_id uuid NOT NULL,
    idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 200),
    event_id uuid NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, idempotency_key)
);
ALTER TABLE usage_event_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_event_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON usage_event_keys
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT ON usage_event_keys TO jarvis_app;
GRANT SELECT, INSERT ON usage_event_keys TO jarvis_platform;

-- The usage ledger, partitioned by month of occurrence. Append-only.
CREATE TABLE usage_events (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    principal_id uuid,
    model text NOT NULL CHECK (char_length(model) BETWEEN 1 AND 200),
    model_version text CHECK (char_length(model_version) <= 100),
    prompt_version text CHECK (char_length(prompt_version) <= 100),
    input_tokens bigint NOT NULL CHECK (input_tokens >= 0),
    output_tokens bigint NOT NULL CHECK (output_tokens >= 0),
    latency_ms integer CHECK (latency_ms >= 0),
    status text NOT NULL CHECK (status ~ '^[a-z][a-z0-9_]{0,31}$'),
    idempotency_key text NOT NULL,
    reservation_id uuid,
    PRIMARY KEY (tenant_id, occurred_at, id)
) PARTITION BY RANGE (occurred_at);
ALTER TABLE usage_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON usage_events
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE TABLE usage_events_default PARTITION OF usage_events DEFAULT;
ALTER TABLE usage_events_default ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_events_default FORCE ROW LEVEL SECURITY;
GRANT SELECT ON usage_events TO jarvis_app;
GRANT SELECT, INSERT ON usage_events TO jarvis_platform;
SELECT jarvis_ensure_monthly_partitions('usage_events', 2, 12);

-- Per-day rollup, kept current in the transaction that inserts the events. principal_id is the
-- nil UUID for events without a principal (a primary key cannot hold NULL).
CREATE TABLE usage_daily (
    tenant_id uuid NOT NULL,
    day date NOT NULL,
    principal_id uuid NOT NULL,
    model text NOT NULL,
    events bigint NOT NULL,
    input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    PRIMARY KEY (tenant_id, day, principal_id, model)
);
ALTER TABLE usage_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON usage_daily
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT ON usage_daily TO jarvis_app;
GRANT SELECT, INSERT, UPDATE ON usage_daily TO jarvis_platform;
