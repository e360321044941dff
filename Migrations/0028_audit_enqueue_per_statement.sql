-- The sealing queue is filled once per statement instead of once per row: a row trigger ran a
-- PL/pgSQL call and a one-row INSERT for every audit event, which was most of what appending a
-- burst of security events cost. A statement trigger reads the statement's new rows from its
-- transition table and queues them in one INSERT. It fires for statements on audit_events
-- itself; the application roles hold no privilege on its partitions, so nothing can write an event
-- around it (a restored archive month is attached, not inserted, through the parent: its events
-- are sealed already).
CREATE FUNCTION jarvis_audit_enqueue_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_unsealed (tenant_id, event_id, occurred_at) SELECT tenant_id, id, occurred_at FROM inserted;
    RETURN NULL;
END
$$;
DROP TRIGGER audit_enqueue ON audit_events;
CREATE TRIGGER audit_enqueue AFTER INSERT ON audit_events REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION jarvis_audit_enqueue_statement();
DROP FUNCTION jarvis_audit_enqueue();
