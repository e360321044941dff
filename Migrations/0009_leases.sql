-- Concurrency leases: a holder (a workflow run) holds one slot of `concurrent_workflows` until it
-- releases it or stops heartbeating past `expires_at`. Counted live (expires_at > now()) under a
-- per-tenant advisory lock, so concurrent acquires on any instance never exceed the limit.
CREATE TABLE leases (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id uuid NOT NULL,
    metric text NOT NULL CHECK (metric IN ('concurrent_workflows')),
    principal_id uuid NOT NULL,
    api_key_id uuid,
    holder text NOT NULL CHECK (char_length(holder) BETWEEN 1 AND 200),
    ttl_seconds integer NOT NULL CHECK (ttl_seconds BETWEEN 1 AND 3600),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX leases_live ON leases (tenant_id, metric, expires_at);
ALTER TABLE leases ENABLE ROW LEVEL SECURITY;
ALTER TABLE leases FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON leases
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON leases TO jarvis_app;
GRANT SELECT, DELETE ON leases TO jarvis_platform;
