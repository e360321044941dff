-- Foundation: tenants, principals (users and service accounts), API keys, role bindings, audit events.
--
-- Roles. A role with BYPASSRLS can only be made by a superuser, and neither the migrations nor the
-- server run as one, so the DBA step (deploy/postgres/roles.sql, run by `make run`/`make test`)
-- creates jarvis_app and jarvis_platform. Here we refuse to go on unless they are what we need.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'jarvis_app') THEN
        RAISE EXCEPTION 'role jarvis_app is missing: run deploy/postgres/roles.sql as a superuser first';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'jarvis_app' AND (rolbypassrls OR rolsuper OR rolcreaterole)) THEN
        RAISE EXCEPTION 'role jarvis_app must have neither BYPASSRLS, SUPERUSER nor CREATEROLE';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'jarvis_platform' AND rolbypassrls AND NOT rolsuper) THEN
        RAISE EXCEPTION 'role jarvis_platform must exist with BYPASSRLS and without SUPERUSER';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND rolbypassrls) THEN
        RAISE EXCEPTION 'migrations must run as the table owner role, which must not bypass RLS';
    END IF;
END
$$;

GRANT SELECT ON schema_migrations TO jarvis_app, jarvis_platform;

-- Tenants. The row's own id is its tenant: a tenant-scoped session sees only its own tenant.
CREATE TABLE tenants (
    id uuid PRIMARY KEY,
    slug text NOT NULL CHECK (slug ~ '^[a-z][a-z0-9-]{1,61}[a-z0-9]$'),
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    plan text NOT NULL DEFAULT 'free' CHECK (plan ~ '^[a-z][a-z0-9_-]{0,31}$'),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
-- A deleted tenant's slug can be taken again; a live slug is unique.
CREATE UNIQUE INDEX tenants_live_slug ON tenants (slug) WHERE deleted_at IS NULL;
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
-- NULLIF: once a session has used SET LOCAL the setting reads '' outside transactions; that and a
-- missing setting both match nothing (fail closed) instead of raising a cast error.
CREATE POLICY tenant_isolation ON tenants
    USING (id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The reserved platform tenant holds super admins and platform service accounts.
SELECT set_config('app.tenant_id', '00000000-0000-7000-8000-000000000001', true);
INSERT INTO tenants (id, slug, name, plan) VALUES ('00000000-0000-7000-8000-000000000001', 'platform', 'Platform', 'platform');

-- Users and service accounts: one table, so keys and bindings reference either kind.
CREATE TABLE principals (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('user', 'service_account')),
    email text CHECK (char_length(email) <= 254),
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    password_hash text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CHECK ((kind = 'user') = (email IS NOT NULL))
);
CREATE UNIQUE INDEX principals_id ON principals (id);
CREATE UNIQUE INDEX principals_user_email ON principals (tenant_id, lower(email)) WHERE kind = 'user';
CREATE UNIQUE INDEX principals_service_account_name ON principals (tenant_id, lower(name)) WHERE kind = 'service_account';
ALTER TABLE principals ENABLE ROW LEVEL SECURITY;
ALTER TABLE principals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON principals
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- API keys: `jvs_<key_id>_<secret>`; only HMAC-SHA256(pepper, secret) is kept.
CREATE TABLE api_keys (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    key_id text NOT NULL CHECK (key_id ~ '^[0-9A-Za-z]{16}$'),
    principal_id uuid NOT NULL,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    secret_hash bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, principal_id) REFERENCES principals (tenant_id, id)
);
CREATE UNIQUE INDEX api_keys_key_id ON api_keys (key_id);
CREATE INDEX api_keys_principal ON api_keys (tenant_id, principal_id);
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Role bindings: a principal holds a role (built-in names for now; custom roles come later).
CREATE TABLE role_bindings (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    principal_id uuid NOT NULL,
    role text NOT NULL CHECK (role ~ '^[a-z][a-z0-9_]{0,62}$'),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, principal_id, role),
    FOREIGN KEY (tenant_id, principal_id) REFERENCES principals (tenant_id, id) ON DELETE CASCADE,
    -- Only platform principals can ever be super admins.
    CHECK (role <> 'super_admin' OR tenant_id = '00000000-0000-7000-8000-000000000001')
);
ALTER TABLE role_bindings ENABLE ROW LEVEL SECURITY;
ALTER TABLE role_bindings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON role_bindings
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Audit events, partitioned by month. Append-only for the application roles.
CREATE TABLE audit_events (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor_id uuid,
    actor_kind text NOT NULL CHECK (actor_kind IN ('user', 'service_account', 'system')),
    action text NOT NULL CHECK (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
    target_type text NOT NULL,
    target_id text,
    request_id text,
    client_ip text,
    outcome text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    details jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (tenant_id, id, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX audit_events_action ON audit_events (tenant_id, action, id);
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_events
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
-- Rows outside every monthly partition still land somewhere instead of failing the mutation.
CREATE TABLE audit_events_default PARTITION OF audit_events DEFAULT;
ALTER TABLE audit_events_default ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events_default FORCE ROW LEVEL SECURITY;

-- Creates the monthly partitions of `parent` around now; `jarvis migrate` calls it on every run.
-- Partitions get RLS with no policy, so reading one directly (not through the parent) shows nothing.
CREATE FUNCTION jarvis_ensure_monthly_partitions(parent text, months_back integer, months_ahead integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    month_start timestamp;
    partition_name text;
    created integer := 0;
BEGIN
    FOR i IN -months_back..months_ahead LOOP
        month_start := date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i);
        partition_name := parent || '_' || to_char(month_start, 'YYYY_MM');
        IF to_regclass(partition_name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                partition_name, parent,
                month_start AT TIME ZONE 'UTC', (month_start + interval '1 month') AT TIME ZONE 'UTC');
            EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', partition_name);
            EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', partition_name);
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END
$$;
SELECT jarvis_ensure_monthly_partitions('audit_events', 1, 12);

-- Privileges: the app role reads and writes tenant rows (RLS decides which); the platform role
-- serves super-admin endpoints and credential lookups. Audit events are never updated or deleted.
GRANT SELECT ON tenants TO jarvis_app;
GRANT SELECT, INSERT, UPDATE ON principals, api_keys TO jarvis_app;
GRANT SELECT, INSERT, DELETE ON role_bindings TO jarvis_app;
GRANT SELECT, INSERT ON audit_events TO jarvis_app;
GRANT SELECT, INSERT, UPDATE ON tenants, principals, api_keys TO jarvis_platform;
GRANT SELECT, INSERT, DELETE ON role_bindings TO jarvis_platform;
GRANT SELECT, INSERT ON audit_events TO jarvis_platform;
