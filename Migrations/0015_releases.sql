-- Releases: prompts and models with semantic versions, labels pointing at versions (with their
-- history), canary rollouts moving a label from a stable to a candidate version, feature flags,
-- and a per-tenant change log clients follow. Every table is a tenant table under forced RLS.
-- Platform-wide models live in the platform tenant.

CREATE TABLE prompts (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_.-]{0,99}$'),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE prompt_versions (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    prompt_id uuid NOT NULL,
    version text NOT NULL CHECK (version ~ '^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})$'),
    major integer NOT NULL,
    minor integer NOT NULL,
    patch integer NOT NULL,
    template text NOT NULL CHECK (char_length(template) <= 100000),
    variables jsonb NOT NULL DEFAULT '[]',
    parameters jsonb NOT NULL DEFAULT '{}',
    changelog text NOT NULL DEFAULT '' CHECK (char_length(changelog) <= 1000),
    status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, prompt_id, version),
    FOREIGN KEY (tenant_id, prompt_id) REFERENCES prompts (tenant_id, id)
);

CREATE TABLE models (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_.-]{0,99}$'),
    provider text NOT NULL CHECK (char_length(provider) BETWEEN 1 AND 100),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE model_versions (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    model_id uuid NOT NULL,
    version text NOT NULL CHECK (version ~ '^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})$'),
    major integer NOT NULL,
    minor integer NOT NULL,
    patch integer NOT NULL,
    provider_model_id text NOT NULL CHECK (char_length(provider_model_id) BETWEEN 1 AND 200),
    parameters jsonb NOT NULL DEFAULT '{}',
    lifecycle text NOT NULL DEFAULT 'active' CHECK (lifecycle IN ('active', 'deprecated', 'retired')),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, model_id, version),
    FOREIGN KEY (tenant_id, model_id) REFERENCES models (tenant_id, id)
);

-- A label of a prompt or a model points at one version of it. A label of a platform model used
-- by a tenant is the tenant's own row (its version may belong to the platform tenant).
CREATE TABLE release_labels (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('prompt', 'model')),
    subject_id uuid NOT NULL,
    name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]{0,62}$'),
    version_id uuid NOT NULL,
    -- The version's number, kept with it: a platform model's versions are not the tenant's rows.
    version text NOT NULL,
    updated_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, kind, subject_id, name)
);

CREATE TABLE release_label_history (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    label_id uuid NOT NULL,
    from_version_id uuid,
    from_version text,
    to_version_id uuid NOT NULL,
    to_version text NOT NULL,
    reason text NOT NULL CHECK (reason IN ('move', 'rollback', 'promote')),
    actor_id uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, label_id) REFERENCES release_labels (tenant_id, id)
);
CREATE INDEX release_label_history_label ON release_label_history (tenant_id, label_id, id);

CREATE TABLE rollouts (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    label_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('prompt', 'model')),
    subject_name text NOT NULL,
    label_name text NOT NULL,
    stable_version_id uuid NOT NULL,
    stable_version text NOT NULL,
    candidate_version_id uuid NOT NULL,
    candidate_version text NOT NULL,
    steps jsonb NOT NULL,
    step_index integer NOT NULL DEFAULT 0,
    percent integer NOT NULL CHECK (percent BETWEEN 0 AND 100),
    state text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'paused', 'promoted', 'aborted')),
    guards jsonb NOT NULL DEFAULT '{}',
    step_started_at timestamptz NOT NULL DEFAULT now(),
    abort_reason text,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, label_id) REFERENCES release_labels (tenant_id, id)
);
-- At most one active rollout per label.
CREATE UNIQUE INDEX rollouts_one_active ON rollouts (tenant_id, label_id) WHERE state IN ('running', 'paused');
CREATE INDEX rollouts_active ON rollouts (state) WHERE state IN ('running', 'paused');

CREATE TABLE feature_flags (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    key text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_.-]{0,99}$'),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
    kind text NOT NULL CHECK (kind IN ('boolean', 'variant')),
    variants jsonb NOT NULL DEFAULT '[]',
    default_value text NOT NULL,
    rules jsonb NOT NULL DEFAULT '[]',
    enabled boolean NOT NULL DEFAULT true,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, key)
);

-- What changed, in order, per tenant: the cursor of GET /v1/resolve/changes.
CREATE TABLE release_changes (
    tenant_id uuid NOT NULL,
    seq bigserial NOT NULL,
    kind text NOT NULL,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, seq)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['prompts', 'prompt_versions', 'models', 'model_versions', 'release_labels', 'release_label_history',
                             'rollouts', 'feature_flags', 'release_changes'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I TO jarvis_app, jarvis_platform', t);
    END LOOP;
END
$$;
GRANT DELETE ON feature_flags TO jarvis_app, jarvis_platform;
GRANT USAGE ON SEQUENCE release_changes_seq_seq TO jarvis_app, jarvis_platform;
-- The forced-RLS check of the before-stop hook reads these statements literally.
ALTER TABLE prompts FORCE ROW LEVEL SECURITY;
ALTER TABLE prompt_versions FORCE ROW LEVEL SECURITY;
ALTER TABLE models FORCE ROW LEVEL SECURITY;
ALTER TABLE model_versions FORCE ROW LEVEL SECURITY;
ALTER TABLE release_labels FORCE ROW LEVEL SECURITY;
ALTER TABLE release_label_history FORCE ROW LEVEL SECURITY;
ALTER TABLE rollouts FORCE ROW LEVEL SECURITY;
ALTER TABLE feature_flags FORCE ROW LEVEL SECURITY;
ALTER TABLE release_changes FORCE ROW LEVEL SECURITY;

-- A published version is immutable: the database refuses to change or delete it, whoever asks.
CREATE FUNCTION jarvis_published_is_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'published' THEN
        RAISE EXCEPTION 'prompt version % is published and cannot change', OLD.version USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER published_is_immutable BEFORE UPDATE OR DELETE ON prompt_versions
    FOR EACH ROW EXECUTE FUNCTION jarvis_published_is_immutable();
-- Model versions change only their lifecycle.
CREATE FUNCTION jarvis_model_version_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.version, OLD.provider_model_id, OLD.parameters, OLD.model_id) IS DISTINCT FROM
       (NEW.version, NEW.provider_model_id, NEW.parameters, NEW.model_id) THEN
        RAISE EXCEPTION 'a model version changes only its lifecycle' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER model_version_fixed BEFORE UPDATE ON model_versions
    FOR EACH ROW EXECUTE FUNCTION jarvis_model_version_fixed();

-- Every change to what resolves tells every instance (NOTIFY and the change log of 0012) and
-- clients following the tenant's changes (release_changes).
CREATE FUNCTION jarvis_release_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_tenant uuid := COALESCE(NEW.tenant_id, OLD.tenant_id);
BEGIN
    INSERT INTO release_changes (tenant_id, kind, name) VALUES (row_tenant, TG_TABLE_NAME, TG_OP);
    RETURN NULL;
END
$$;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['prompt_versions', 'model_versions', 'release_labels', 'rollouts', 'feature_flags', 'prompts', 'models'] LOOP
        EXECUTE format('CREATE TRIGGER release_changed AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION jarvis_release_changed()', t);
        EXECUTE format('CREATE TRIGGER invalidate AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION jarvis_notify_invalidate()', t);
    END LOOP;
END
$$;

-- Usage events may name the prompt they used, so rollouts can be judged by their traffic.
ALTER TABLE usage_events ADD COLUMN prompt text;
CREATE INDEX usage_events_prompt ON usage_events (tenant_id, prompt, prompt_version, occurred_at) WHERE prompt IS NOT NULL;
CREATE INDEX usage_events_model_version ON usage_events (tenant_id, model, model_version, occurred_at) WHERE model_version IS NOT NULL;

-- Webhooks also hear of rollouts their guards aborted.
ALTER TABLE webhooks ALTER COLUMN events SET DEFAULT '{quota.warning,rollout.aborted}';
UPDATE webhooks SET events = array_append(events, 'rollout.aborted') WHERE NOT 'rollout.aborted' = ANY(events);
