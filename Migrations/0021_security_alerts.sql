-- Security alerts: a lockout, a refresh token used twice, or a burst of refused requests by one
-- principal posts the tenant's webhooks (`security.alert`) within seconds, once each.

CREATE TABLE security_alerts (
    tenant_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('lockout', 'refresh_token_reuse', 'denial_burst')),
    -- What makes it one alert: the audit event's id, or the principal and minute of a burst.
    key text NOT NULL,
    subject text,
    events integer NOT NULL,
    first_at timestamptz NOT NULL,
    last_at timestamptz NOT NULL,
    raised_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, kind, key)
);
ALTER TABLE security_alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE security_alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON security_alerts USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT ON security_alerts TO jarvis_app;
GRANT SELECT, INSERT ON security_alerts TO jarvis_platform;

-- The watcher reads the last minutes of these actions every second.
CREATE INDEX audit_events_security ON audit_events (occurred_at)
    WHERE action IN ('auth.lockout', 'auth.address_lockout', 'auth.refresh_reuse', 'access.denied');

ALTER TABLE webhooks ALTER COLUMN events SET DEFAULT '{quota.warning,rollout.aborted,budget.threshold,security.alert}';
ALTER TABLE webhooks NO FORCE ROW LEVEL SECURITY;
UPDATE webhooks SET events = array_append(events, 'security.alert') WHERE NOT 'security.alert' = ANY(events);
ALTER TABLE webhooks FORCE ROW LEVEL SECURITY;
