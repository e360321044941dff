-- Sealing without a statement per event: the waiting events are read in one statement — each
-- looked up by its key (an OFFSET 0 fence keeps PostgreSQL from flattening the lookups into a join
-- over the tenant's whole log, which made sealing slower as the log grew) — hashed in order, and
-- their links written and the queue emptied in one statement each.

CREATE OR REPLACE FUNCTION jarvis_audit_seal(p_tenant uuid, p_limit integer) RETURNS integer LANGUAGE plpgsql
SET work_mem = '64MB' AS $$
DECLARE
    head_seq bigint;
    head bytea;
    hash bytea;
    ids uuid[];
    times timestamptz[];
    canonicals bytea[];
    canonical bytea;
    hashes bytea[] := '{}';
    n integer := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('audit_chain'), hashtext(p_tenant::text)) THEN
        RETURN 0;
    END IF;
    SELECT seq, audit_heads.hash INTO head_seq, head FROM audit_heads WHERE tenant_id = p_tenant;
    IF NOT FOUND THEN
        head_seq := 0;
        head := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    END IF;
    SELECT array_agg(w.event_id ORDER BY w.occurred_at, w.event_id), array_agg(w.occurred_at ORDER BY w.occurred_at, w.event_id),
           array_agg(w.canonical ORDER BY w.occurred_at, w.event_id)
    INTO ids, times, canonicals
    FROM (SELECT u.event_id, u.occurred_at, convert_to(jarvis_audit_canonical(e), 'UTF8') AS canonical
          FROM (SELECT event_id, occurred_at FROM audit_unsealed WHERE tenant_id = p_tenant
                ORDER BY occurred_at, event_id LIMIT p_limit) u
          -- One index lookup per waiting event: a join over the tenant's whole log grew with it.
          -- OFFSET 0 keeps the planner from flattening this into a join over the tenant's whole log.
          CROSS JOIN LATERAL (SELECT * FROM audit_events x
                              WHERE x.tenant_id = p_tenant AND x.id = u.event_id AND x.occurred_at = u.occurred_at OFFSET 0) e
          ORDER BY u.occurred_at, u.event_id) w;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    -- The chain is sequential: only the hashing runs row by row here; the links are written and
    -- the queue emptied in one statement each (a statement per event was the cost of sealing).
    hash := head;
    FOREACH canonical IN ARRAY canonicals LOOP
        n := n + 1;
        hash := sha256(hash || canonical);
        hashes[n] := hash;
    END LOOP;
    INSERT INTO audit_chain (tenant_id, seq, event_id, occurred_at, prev_hash, hash)
    SELECT p_tenant, head_seq + x.o, x.e, x.t, COALESCE(lag(x.h) OVER (ORDER BY x.o), head), x.h
    FROM unnest(ids, times, hashes) WITH ORDINALITY AS x(e, t, h, o);
    DELETE FROM audit_unsealed u USING unnest(ids, times) AS x(e, t)
    WHERE u.tenant_id = p_tenant AND u.occurred_at = x.t AND u.event_id = x.e;
    INSERT INTO audit_heads (tenant_id, seq, hash, sealed_at) VALUES (p_tenant, head_seq + n, hash, now())
    ON CONFLICT (tenant_id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, sealed_at = EXCLUDED.sealed_at;
    RETURN n;
END
$$;
