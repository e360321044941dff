-- Idempotency keys: a retried mutating request with the same Idempotency-Key gets the first
-- answer again instead of acting twice. Per tenant and principal; kept 24 hours.
CREATE TABLE idempotency_keys (
    tenant_id uuid NOT NULL,
    principal_id uuid NOT NULL,
    key text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL CHECK (octet_length(request_hash) = 32),
    -- NULL while the first request is still running.
    status integer CHECK (status BETWEEN 100 AND 599),
    content_type text,
    location text,
    response_body bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (tenant_id, principal_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (tenant_id, created_at);
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency_keys
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO jarvis_app;
