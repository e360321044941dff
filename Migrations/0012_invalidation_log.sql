-- A NOTIFY sent while an instance's listener is disconnected is lost. Every change that NOTIFYs is
-- therefore also written here, in the same transaction, with the id of the transaction that made it:
-- a listener that reconnects reads what committed while it was away (transactions at or after the
-- oldest one still running when it last caught up) and evicts just those tenants, instead of
-- flushing everything or serving a revoked key until its entry expires.
CREATE TABLE cache_invalidations (
    tenant_id uuid NOT NULL,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, xid)
);
CREATE INDEX cache_invalidations_xid ON cache_invalidations (xid);
ALTER TABLE cache_invalidations ENABLE ROW LEVEL SECURITY;
ALTER TABLE cache_invalidations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON cache_invalidations
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
-- Written by the triggers as whichever role changes the row (the app role only ever changes its own
-- tenant's rows, so the policy holds); read and pruned by the platform role's listener.
GRANT SELECT, INSERT ON cache_invalidations TO jarvis_app;
GRANT SELECT, INSERT, DELETE ON cache_invalidations TO jarvis_platform;

CREATE OR REPLACE FUNCTION jarvis_notify_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    affected uuid;
BEGIN
    IF TG_TABLE_NAME = 'tenants' THEN
        affected := COALESCE(NEW.id, OLD.id);
    ELSIF TG_OP = 'DELETE' THEN
        affected := OLD.tenant_id;
    ELSE
        affected := NEW.tenant_id;
    END IF;
    -- One row per tenant and transaction, however many rows it changed.
    INSERT INTO cache_invalidations (tenant_id) VALUES (affected) ON CONFLICT DO NOTHING;
    PERFORM pg_notify('jarvis_invalidate', affected::text);
    RETURN NULL;
END
$$;
