-- Access tokens issued before this instant are void: set when a session ends (logout, a reused
-- refresh token revoking its family, a password set or changed, the principal disabled). The
-- principals trigger tells every instance, whose caches drop the tenant's entries, so a token is
-- refused at once everywhere although it has not expired.
ALTER TABLE principals ADD COLUMN tokens_valid_after timestamptz;
