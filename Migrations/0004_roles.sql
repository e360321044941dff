-- Custom roles (a DAG over built-in and custom roles) and tenant-registered permissions.
CREATE TABLE roles (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'
        AND name NOT IN ('super_admin', 'tenant_admin', 'developer', 'operator', 'viewer')),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
    permissions text[] NOT NULL DEFAULT '{}',
    inherits text[] NOT NULL DEFAULT '{}',
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name)
);
ALTER TABLE roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE roles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON roles
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON roles TO jarvis_app;
GRANT SELECT ON roles TO jarvis_platform;

CREATE TABLE custom_permissions (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]*:[a-z][a-z0-9_-]*$' AND char_length(name) <= 128),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name)
);
ALTER TABLE custom_permissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE custom_permissions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON custom_permissions
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, DELETE ON custom_permissions TO jarvis_app;
GRANT SELECT ON custom_permissions TO jarvis_platform;
GRANT UPDATE, DELETE ON role_bindings TO jarvis_app;
