-- Retention tiers for the audit log: monthly partitions past the hot window are written to an
-- archive (gzip NDJSON with their chain links and checkpoints), then detached and dropped; a month
-- can be restored for an investigation. The chain's links stay in `audit_chain` (small), so the
-- live verification walks across an archived month and the archive files prove its events.

-- One tenant's links of one archived month (a month archived again after a restore adds a row).
CREATE TABLE audit_archives (
    tenant_id uuid NOT NULL,
    month date NOT NULL CHECK (extract(day FROM month) = 1),
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    links bigint NOT NULL,
    -- The archive file, relative to the archive directory, and its SHA-256.
    file text NOT NULL,
    file_sha256 bytea NOT NULL CHECK (octet_length(file_sha256) = 32),
    archived_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, month, first_seq)
);
ALTER TABLE audit_archives ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_archives FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_archives USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT ON audit_archives TO jarvis_app;
GRANT SELECT, INSERT, UPDATE ON audit_archives TO jarvis_platform;

-- Months whose partition was archived, and whether it is detached now (platform-wide: a monthly
-- partition holds every tenant's events).
CREATE TABLE audit_months (
    month date PRIMARY KEY CHECK (extract(day FROM month) = 1),
    archived_at timestamptz NOT NULL,
    detached boolean NOT NULL,
    restored_at timestamptz
);
GRANT SELECT ON audit_months TO jarvis_app;
GRANT SELECT, INSERT, UPDATE ON audit_months TO jarvis_platform;

-- The months ahead, created by the server's background job: the application roles may not create
-- tables, so this runs with the owner's rights and creates only monthly partitions of these two.
CREATE FUNCTION jarvis_partitions_ahead() RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
    SELECT jarvis_ensure_monthly_partitions('audit_events', 0, 12) + jarvis_ensure_monthly_partitions('usage_events', 0, 12)
$$;
REVOKE ALL ON FUNCTION jarvis_partitions_ahead() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION jarvis_partitions_ahead() TO jarvis_platform;

-- One month's partition by its first day (archiving and restoring name months exactly).
CREATE FUNCTION jarvis_audit_month_partition(p_month date) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT 'audit_events_' || to_char(p_month, 'YYYY_MM')
$$;
