-- Quota warnings (once per limit and window) and the tenant webhooks that hear of them, with a
-- delivery log that is also the retry queue.
CREATE TABLE quota_notifications (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id uuid NOT NULL,
    metric text NOT NULL,
    subject_kind text NOT NULL,
    subject_id uuid,
    window_key text NOT NULL,
    threshold_percent smallint NOT NULL,
    used bigint NOT NULL,
    "limit" bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX quota_notifications_once ON quota_notifications
    (tenant_id, metric, subject_kind, COALESCE(subject_id, '00000000-0000-0000-0000-000000000000'), window_key);
ALTER TABLE quota_notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE quota_notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON quota_notifications
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT ON quota_notifications TO jarvis_app;
GRANT SELECT, INSERT ON quota_notifications TO jarvis_platform;

-- The signing secret is sealed with JARVIS_MASTER_KEY (AES-256-GCM, the webhook id as associated data).
CREATE TABLE webhooks (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id uuid NOT NULL,
    url text NOT NULL CHECK (url ~ '^https?://[^\s]+$' AND char_length(url) <= 2000),
    sealed_secret bytea NOT NULL,
    events text[] NOT NULL DEFAULT '{quota.warning}',
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
ALTER TABLE webhooks ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhooks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhooks
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, DELETE ON webhooks TO jarvis_app;
GRANT SELECT ON webhooks TO jarvis_platform;

CREATE TABLE webhook_deliveries (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    webhook_id uuid NOT NULL,
    event text NOT NULL,
    payload text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status integer,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (tenant_id, webhook_id, id);
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_deliveries
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT ON webhook_deliveries TO jarvis_app;
GRANT SELECT, INSERT, UPDATE ON webhook_deliveries TO jarvis_platform;
