-- Recording a key's last use is not a change to what the key may do: before this, every
-- `last_used_at` write evicted the key's whole tenant from every instance's credential cache,
-- so a tenant with many keys in use kept missing. Only changes to the columns that decide a
-- key's answer notify now (a new column that does must be added here).
DROP TRIGGER invalidate ON api_keys;
CREATE TRIGGER invalidate AFTER DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION jarvis_notify_invalidate();
CREATE TRIGGER invalidate_on_update AFTER UPDATE ON api_keys
    FOR EACH ROW
    WHEN ((OLD.tenant_id, OLD.id, OLD.key_id, OLD.principal_id, OLD.secret_hash, OLD.expires_at, OLD.revoked_at)
          IS DISTINCT FROM (NEW.tenant_id, NEW.id, NEW.key_id, NEW.principal_id, NEW.secret_hash, NEW.expires_at, NEW.revoked_at))
    EXECUTE FUNCTION jarvis_notify_invalidate();
