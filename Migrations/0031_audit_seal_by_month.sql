-- Sealing a month at a time. The waiting events were looked up through the partitioned
-- audit_events with their month decided again for every event (run-time partition pruning), and
-- gathered by three array_agg(... ORDER BY ...), each sorting every event's canonical bytes. Now
-- a call seals the earliest month with events waiting: EXECUTE plans the lookups with that month's
-- bounds, so its partition alone is in the plan, and the rows come in order from the queue's key
-- and are hashed as they arrive. Sealing order and hashes are unchanged: (occurred_at, event_id),
-- months in order. Measured on a fresh database (4 x 50,000 events, alternating with the previous
-- function): 19.4-23.2 -> 14.7-17.4 µs per event sealed.
-- The queue's rows are deleted by the row addresses read with them, in a statement planned afresh
-- with those addresses. The join of the queue with the sealed ids it replaces was planned once
-- and reused, from statistics of a queue that swings between empty and hundreds of thousands of
-- rows: in `make bench` it ran past the statement timeout and was cancelled, pass after pass (so
-- did the previous function's read step in an earlier run: the sealer's unexplained stalls of up
-- to 27 seconds). No step of a pass now has a plan whose cost could grow with waiting × sealed.
CREATE OR REPLACE FUNCTION jarvis_audit_seal(p_tenant uuid, p_limit integer) RETURNS integer LANGUAGE plpgsql
SET work_mem = '64MB' AS $$
DECLARE
    head_seq bigint;
    head bytea;
    hash bytea;
    ids uuid[] := '{}';
    queued tid[] := '{}';
    times timestamptz[] := '{}';
    hashes bytea[] := '{}';
    n integer := 0;
    first_at timestamptz;
    month_start timestamptz;
    month_end timestamptz;
    waiting record;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('audit_chain'), hashtext(p_tenant::text)) THEN
        RETURN 0;
    END IF;
    SELECT seq, audit_heads.hash INTO head_seq, head FROM audit_heads WHERE tenant_id = p_tenant;
    IF NOT FOUND THEN
        head_seq := 0;
        head := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    END IF;
    SELECT occurred_at INTO first_at FROM audit_unsealed WHERE tenant_id = p_tenant ORDER BY occurred_at, event_id LIMIT 1;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    hash := head;
    -- The earliest month with events waiting; the next one if none of its rows can be found
    -- (never expected), so such events do not hold up later months.
    LOOP
        month_start := date_trunc('month', first_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
        month_end := month_start + interval '1 month';
        -- EXECUTE plans with these bounds, so only the month's partition is in the plan.
        FOR waiting IN EXECUTE
            $q$SELECT u.ctid AS queued, u.event_id, u.occurred_at, convert_to(jarvis_audit_canonical(e), 'UTF8') AS canonical
               FROM (SELECT ctid, event_id, occurred_at FROM audit_unsealed WHERE tenant_id = $1 AND occurred_at < $4
                     ORDER BY occurred_at, event_id LIMIT $2) u
               CROSS JOIN LATERAL (SELECT * FROM audit_events x
                                   WHERE x.tenant_id = $1 AND x.id = u.event_id AND x.occurred_at = u.occurred_at
                                     AND x.occurred_at >= $3 AND x.occurred_at < $4 OFFSET 0) e
               ORDER BY u.occurred_at, u.event_id$q$
            USING p_tenant, p_limit, month_start, month_end
        LOOP
            n := n + 1;
            hash := sha256(hash || waiting.canonical);
            ids[n] := waiting.event_id;
            queued[n] := waiting.queued;
            times[n] := waiting.occurred_at;
            hashes[n] := hash;
        END LOOP;
        EXIT WHEN n > 0;
        SELECT occurred_at INTO first_at FROM audit_unsealed WHERE tenant_id = p_tenant AND occurred_at >= month_end
        ORDER BY occurred_at, event_id LIMIT 1;
        IF NOT FOUND THEN
            RETURN 0;
        END IF;
    END LOOP;
    INSERT INTO audit_chain (tenant_id, seq, event_id, occurred_at, prev_hash, hash)
    SELECT p_tenant, head_seq + x.o, x.e, x.t, COALESCE(lag(x.h) OVER (ORDER BY x.o), head), x.h
    FROM unnest(ids, times, hashes) WITH ORDINALITY AS x(e, t, h, o);
    -- Only this sealer (the tenant's advisory lock) deletes queue rows, and nobody updates them, so
    -- the addresses read above still hold exactly these rows. EXECUTE plans with the array itself:
    -- a TID scan, or a scan probing a hash of it. A cached generic plan knew neither the array's
    -- size nor the queue's and could test every row against every address in turn (`make bench`
    -- met that too, with 50,000 of each, at the statement timeout).
    EXECUTE 'DELETE FROM audit_unsealed WHERE ctid = ANY ($1) AND tenant_id = $2' USING queued, p_tenant;
    INSERT INTO audit_heads (tenant_id, seq, hash, sealed_at) VALUES (p_tenant, head_seq + n, hash, now())
    ON CONFLICT (tenant_id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, sealed_at = EXCLUDED.sealed_at;
    RETURN n;
END
$$;
