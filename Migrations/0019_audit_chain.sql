-- Provable audit, part one: every tenant's audit events are sealed into a hash chain shortly after
-- they commit, and nobody — not even the owner role — changes or deletes an audit row or a link.

-- The bytes an event is sealed with: a JSON array (PostgreSQL's jsonb text form) of a version tag
-- and every column, times as UTC with microseconds. README "Audit chain" spells it out for outside
-- verifiers.
CREATE FUNCTION jarvis_audit_canonical(e audit_events) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_array('jarvis-audit-v1', e.tenant_id::text, e.id::text,
                             to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                             e.actor_id::text, e.actor_kind, e.action, e.target_type, e.target_id, e.request_id, e.client_ip,
                             e.outcome, e.details)::text
$$;

-- Committed events not yet sealed, in the order they arrived; the sealer empties it.
CREATE TABLE audit_unsealed (
    tenant_id uuid NOT NULL,
    event_id uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, occurred_at, event_id)
);
ALTER TABLE audit_unsealed ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_unsealed FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_unsealed USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT ON audit_unsealed TO jarvis_app;
GRANT SELECT, INSERT, DELETE ON audit_unsealed TO jarvis_platform;

CREATE FUNCTION jarvis_audit_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_unsealed (tenant_id, event_id, occurred_at) VALUES (NEW.tenant_id, NEW.id, NEW.occurred_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER audit_enqueue AFTER INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION jarvis_audit_enqueue();

-- The chain: link `seq` of a tenant seals one event; hash = SHA-256(prev_hash ‖ canonical bytes).
CREATE TABLE audit_chain (
    tenant_id uuid NOT NULL,
    seq bigint NOT NULL CHECK (seq >= 1),
    event_id uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    prev_hash bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash bytea NOT NULL CHECK (octet_length(hash) = 32),
    sealed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, seq),
    UNIQUE (tenant_id, event_id)
);
ALTER TABLE audit_chain ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_chain FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_chain USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT ON audit_chain TO jarvis_app;
GRANT SELECT, INSERT ON audit_chain TO jarvis_platform;

-- Audit rows and links are append-only for every role, the owner included (grants already keep
-- UPDATE and DELETE from the application roles).
CREATE FUNCTION jarvis_audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION jarvis_audit_is_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION jarvis_audit_is_append_only();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON audit_chain FOR EACH ROW EXECUTE FUNCTION jarvis_audit_is_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON audit_chain FOR EACH STATEMENT EXECUTE FUNCTION jarvis_audit_is_append_only();

-- Seals up to `p_limit` of the tenant's waiting events after its chain head, in arrival order.
-- One sealer per tenant at a time (a transaction-level advisory lock); writers never wait for it.
CREATE FUNCTION jarvis_audit_seal(p_tenant uuid, p_limit integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    head_seq bigint;
    head_hash bytea;
    sealed integer := 0;
    waiting record;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('audit_chain'), hashtext(p_tenant::text)) THEN
        RETURN 0;
    END IF;
    SELECT seq, hash INTO head_seq, head_hash FROM audit_chain WHERE tenant_id = p_tenant ORDER BY seq DESC LIMIT 1;
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
        INSERT INTO audit_chain (tenant_id, seq, event_id, occurred_at, prev_hash, hash)
        VALUES (p_tenant, head_seq, waiting.event_id, waiting.occurred_at, head_hash,
                sha256(head_hash || convert_to(waiting.canonical, 'UTF8')));
        head_hash := sha256(head_hash || convert_to(waiting.canonical, 'UTF8'));
        DELETE FROM audit_unsealed WHERE tenant_id = p_tenant AND occurred_at = waiting.occurred_at AND event_id = waiting.event_id;
        sealed := sealed + 1;
    END LOOP;
    RETURN sealed;
END
$$;

-- One sealer pass in one round trip: every tenant with waiting events, oldest waiting first, until
-- about `p_limit` events are sealed.
CREATE FUNCTION jarvis_audit_seal_all(p_limit integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    tenant uuid;
    sealed integer := 0;
BEGIN
    FOR tenant IN SELECT tenant_id FROM audit_unsealed GROUP BY tenant_id ORDER BY min(occurred_at) LOOP
        EXIT WHEN sealed >= p_limit;
        sealed := sealed + jarvis_audit_seal(tenant, p_limit);
    END LOOP;
    RETURN sealed;
END
$$;

-- Events written before the chain existed wait for their first seal like any other.
ALTER TABLE audit_events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_unsealed NO FORCE ROW LEVEL SECURITY;
INSERT INTO audit_unsealed (tenant_id, event_id, occurred_at) SELECT tenant_id, id, occurred_at FROM audit_events;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_unsealed FORCE ROW LEVEL SECURITY;
