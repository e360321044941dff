-- Cache invalidation: any change to what decides a credential's answer (tenants, principals,
-- keys, bindings, roles, tenant permissions) sends NOTIFY jarvis_invalidate with the tenant id,
-- inside the changing transaction, so it is delivered exactly when the change commits.
-- PostgreSQL folds identical notifications of one transaction into one.
CREATE FUNCTION jarvis_notify_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$
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
    PERFORM pg_notify('jarvis_invalidate', affected::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER invalidate AFTER UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION jarvis_notify_invalidate();
CREATE TRIGGER invalidate AFTER UPDATE OR DELETE ON principals
    FOR EACH ROW EXECUTE FUNCTION jarvis_notify_invalidate();
CREATE TRIGGER invalidate AFTER UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION jarvis_notify_invalidate();
CREATE TRIGGER invalidate AFTER INSERT OR UPDATE OR DELETE ON role_bindings
    FOR EACH ROW EXECUTE FUNCTION jarvis_notify_invalidate();
CREATE TRIGGER invalidate AFTER INSERT OR UPDATE OR DELETE ON roles
    FOR EACH ROW EXECUTE FUNCTION jarvis_notify_invalidate();
CREATE TRIGGER invalidate AFTER INSERT OR UPDATE OR DELETE ON custom_permissions
    FOR EACH ROW EXECUTE FUNCTION jarvis_notify_invalidate();
