-- Provable audit, part two: Ed25519-signed checkpoints over each tenant's chain head, with a key
-- of their own (not the token signing key), rotatable; public keys are published.

CREATE TABLE audit_keys (
    kid text PRIMARY KEY CHECK (kid ~ '^[A-Za-z0-9_-]{8,64}$'),
    public_key bytea NOT NULL CHECK (octet_length(public_key) = 32),
    -- The private key, sealed (AES-256-GCM) under the master key.
    sealed_private_key bytea NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'retired')),
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz
);
CREATE UNIQUE INDEX audit_keys_one_active ON audit_keys ((true)) WHERE status = 'active';
GRANT SELECT, INSERT, UPDATE ON audit_keys TO jarvis_platform;
-- Verifiers reading as a tenant need the public halves only.
GRANT SELECT (kid, public_key, status, created_at, retired_at) ON audit_keys TO jarvis_app;

-- A checkpoint signs (tenant, last seq, head hash, previous checkpoint's signature): README
-- "Audit chain" gives the exact message.
CREATE TABLE audit_checkpoints (
    tenant_id uuid NOT NULL,
    seq bigint NOT NULL CHECK (seq >= 1),
    head_hash bytea NOT NULL CHECK (octet_length(head_hash) = 32),
    prev_signature bytea NOT NULL,
    kid text NOT NULL,
    signature bytea NOT NULL CHECK (octet_length(signature) = 64),
    signed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, seq)
);
ALTER TABLE audit_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_checkpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_checkpoints USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT ON audit_checkpoints TO jarvis_app;
GRANT SELECT, INSERT ON audit_checkpoints TO jarvis_platform;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION jarvis_audit_is_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION jarvis_audit_is_append_only();

-- Each tenant's chain head and last checkpoint, kept by the sealer so neither sealing nor choosing
-- what to checkpoint searches the chain. Bookkeeping only: verification never trusts it.
CREATE TABLE audit_heads (
    tenant_id uuid PRIMARY KEY,
    seq bigint NOT NULL,
    hash bytea NOT NULL,
    sealed_at timestamptz NOT NULL DEFAULT now(),
    checkpoint_seq bigint NOT NULL DEFAULT 0,
    checkpoint_signature bytea NOT NULL DEFAULT '\x'::bytea,
    checkpoint_at timestamptz
);
ALTER TABLE audit_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_heads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_heads USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT ON audit_heads TO jarvis_app;
GRANT SELECT, INSERT, UPDATE ON audit_heads TO jarvis_platform;
ALTER TABLE audit_chain NO FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_heads NO FORCE ROW LEVEL SECURITY;
INSERT INTO audit_heads (tenant_id, seq, hash)
SELECT DISTINCT ON (tenant_id) tenant_id, seq, hash FROM audit_chain ORDER BY tenant_id, seq DESC;
ALTER TABLE audit_chain FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_heads FORCE ROW LEVEL SECURITY;

-- Sealing as in 0019, keeping the head in `audit_heads`.
CREATE OR REPLACE FUNCTION jarvis_audit_seal(p_tenant uuid, p_limit integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    head_seq bigint;
    head_hash bytea;
    previous bytea;
    sealed integer := 0;
    waiting record;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('audit_chain'), hashtext(p_tenant::text)) THEN
        RETURN 0;
    END IF;
    SELECT seq, hash INTO head_seq, head_hash FROM audit_heads WHERE tenant_id = p_tenant;
    IF NOT FOUND THEN
        head_seq := 0;
        head_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    END IF;
    FOR waiting IN
        SELECT u.event_id, u.occurred_at, jarvis_audit_canonical(e) AS canonical
        FROM audit_unsealed u JOIN audit_events e ON e.tenant_id = u.tenant_id AND e.id = u.event_id AND e.occurred_at = u.occurred_at
        WHERE u.tenant_id = p_tenant
        ORDER BY u.occurred_at, u.event_id
        LIMIT p_limit
    LOOP
        head_seq := head_seq + 1;
        previous := head_hash;
        head_hash := sha256(previous || convert_to(waiting.canonical, 'UTF8'));
        INSERT INTO audit_chain (tenant_id, seq, event_id, occurred_at, prev_hash, hash)
        VALUES (p_tenant, head_seq, waiting.event_id, waiting.occurred_at, previous, head_hash);
        DELETE FROM audit_unsealed WHERE tenant_id = p_tenant AND occurred_at = waiting.occurred_at AND event_id = waiting.event_id;
        sealed := sealed + 1;
    END LOOP;
    IF sealed > 0 THEN
        INSERT INTO audit_heads (tenant_id, seq, hash, sealed_at) VALUES (p_tenant, head_seq, head_hash, now())
        ON CONFLICT (tenant_id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, sealed_at = EXCLUDED.sealed_at;
    END IF;
    RETURN sealed;
END
$$;
