-- Identity: signing keys for access tokens, refresh tokens, login throttling, password metadata.

-- Platform-wide signing keys (no tenant rows: only the platform role reads them).
-- Private material is sealed with AES-256-GCM under the configured master key.
CREATE TABLE signing_keys (
    kid text PRIMARY KEY CHECK (kid ~ '^[A-Za-z0-9_-]{8,64}$'),
    algorithm text NOT NULL CHECK (algorithm IN ('EdDSA', 'HS256')),
    public_key bytea CHECK ((algorithm = 'EdDSA') = (public_key IS NOT NULL)),
    sealed_secret bytea NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'verifying', 'retired')),
    origin text NOT NULL DEFAULT 'generated' CHECK (origin IN ('generated', 'imported')),
    created_at timestamptz NOT NULL DEFAULT now(),
    rotated_at timestamptz,
    verify_until timestamptz
);
-- Exactly one key signs at a time.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE status = 'active';
GRANT SELECT, INSERT, UPDATE ON signing_keys TO jarvis_platform;

ALTER TABLE principals ADD COLUMN password_changed_at timestamptz;

-- Refresh tokens: `jvr_<token_id>_<secret>`, one-time use, rotated within a family.
CREATE TABLE refresh_tokens (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    token_id text NOT NULL CHECK (token_id ~ '^[0-9A-Za-z]{16}$'),
    family_id uuid NOT NULL,
    principal_id uuid NOT NULL,
    secret_hash bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, principal_id) REFERENCES principals (tenant_id, id)
);
CREATE UNIQUE INDEX refresh_tokens_token_id ON refresh_tokens (token_id);
CREATE INDEX refresh_tokens_family ON refresh_tokens (tenant_id, family_id);
CREATE INDEX refresh_tokens_principal ON refresh_tokens (tenant_id, principal_id) WHERE revoked_at IS NULL;
ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON refresh_tokens
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE ON refresh_tokens TO jarvis_app, jarvis_platform;

-- Failed logins per (tenant, email), whether or not the email exists, so a lockout reveals nothing.
CREATE TABLE login_failures (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    email_key text NOT NULL CHECK (char_length(email_key) <= 254),
    failures integer NOT NULL DEFAULT 0,
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    PRIMARY KEY (tenant_id, email_key)
);
ALTER TABLE login_failures ENABLE ROW LEVEL SECURITY;
ALTER TABLE login_failures FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON login_failures
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON login_failures TO jarvis_app, jarvis_platform;
