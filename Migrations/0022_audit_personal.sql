-- Data-subject rights without breaking the audit chain: personal values in audit events (a user's
-- email and names in the details, the client address, an address as the target) are kept beside
-- the event, salted, and the event itself — what the chain covers — holds only their digest
-- `pii:sha256:<hex of SHA-256(salt ‖ value)>`. Erasing a person deletes their rows here; every
-- event and link stays as sealed, so verification still passes.

CREATE TABLE audit_personal (
    tenant_id uuid NOT NULL,
    event_id uuid NOT NULL,
    -- `client_ip`, `target_id`, or `details.<key>`.
    field text NOT NULL,
    -- Whose it is: the user the event is about, else the acting principal; NULL when neither is
    -- known (a failed sign-in for an unknown email is found by the email itself).
    subject_id uuid,
    value text NOT NULL,
    salt text NOT NULL,
    PRIMARY KEY (tenant_id, event_id, field)
);
CREATE INDEX audit_personal_subject ON audit_personal (tenant_id, subject_id);
ALTER TABLE audit_personal ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_personal FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_personal USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, DELETE ON audit_personal TO jarvis_app;
GRANT SELECT, INSERT ON audit_personal TO jarvis_platform;

-- Keeps one personal value beside its event and returns the digest the event holds instead.
CREATE FUNCTION jarvis_audit_conceal(p_tenant uuid, p_event uuid, p_field text, p_value text, p_subject uuid) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    salt text := replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
BEGIN
    INSERT INTO audit_personal (tenant_id, event_id, field, subject_id, value, salt) VALUES (p_tenant, p_event, p_field, p_subject, p_value, salt);
    RETURN 'pii:sha256:' || encode(sha256(convert_to(salt || p_value, 'UTF8')), 'hex');
END $$;

CREATE FUNCTION jarvis_audit_personal() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    about uuid;
    key text;
BEGIN
    IF NEW.target_type = 'user' AND NEW.target_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        about := NEW.target_id::uuid;
    END IF;
    IF NEW.client_ip IS NOT NULL THEN
        NEW.client_ip := jarvis_audit_conceal(NEW.tenant_id, NEW.id, 'client_ip', NEW.client_ip, COALESCE(NEW.actor_id, about));
    END IF;
    IF NEW.target_type = 'address' AND NEW.target_id IS NOT NULL THEN
        NEW.target_id := jarvis_audit_conceal(NEW.tenant_id, NEW.id, 'target_id', NEW.target_id, NULL);
    END IF;
    IF NEW.target_type = 'user' THEN
        FOREACH key IN ARRAY ARRAY['email', 'name', 'display_name'] LOOP
            IF jsonb_typeof(NEW.details -> key) = 'string' THEN
                NEW.details := jsonb_set(NEW.details, ARRAY[key],
                    to_jsonb(jarvis_audit_conceal(NEW.tenant_id, NEW.id, 'details.' || key, NEW.details ->> key, COALESCE(about, NEW.actor_id))));
            END IF;
        END LOOP;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_personal BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION jarvis_audit_personal();
