-- Storage gauges: absolute amounts the owning services report (documents, vectors, bytes). A
-- check for a write that would take a gauge past its limit is refused.
CREATE TABLE storage_gauges (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    metric text NOT NULL CHECK (metric IN ('storage_documents', 'storage_vectors', 'storage_bytes')),
    value bigint NOT NULL CHECK (value >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, metric)
);
ALTER TABLE storage_gauges ENABLE ROW LEVEL SECURITY;
ALTER TABLE storage_gauges FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON storage_gauges
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE ON storage_gauges TO jarvis_app;
GRANT SELECT, INSERT, UPDATE ON storage_gauges TO jarvis_platform;
