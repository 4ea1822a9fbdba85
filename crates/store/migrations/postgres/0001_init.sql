-- paasportal schema, PostgreSQL flavour. Keep in step with ../sqlite/0001_init.sql.

CREATE TABLE users (
    id              UUID PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    is_portal_admin BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE organizations (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE organization_members (
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id         UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX idx_org_members_user ON organization_members (user_id);

CREATE TABLE projects (
    id              UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (organization_id, name)
);

CREATE TABLE project_members (
    project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX idx_project_members_user ON project_members (user_id);

CREATE TABLE servers (
    id                     UUID PRIMARY KEY,
    organization_id        UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name                   TEXT NOT NULL,
    ip                     TEXT NOT NULL,
    ssh_port               BIGINT NOT NULL,
    ssh_user               TEXT NOT NULL,
    auth_method            TEXT NOT NULL CHECK (auth_method IN ('key', 'password')),
    ssh_private_key_enc    BYTEA,
    ssh_key_passphrase_enc BYTEA,
    ssh_password_enc       BYTEA,
    host_key               TEXT,
    host_key_fingerprint   TEXT,
    created_at             TIMESTAMPTZ NOT NULL,
    updated_at             TIMESTAMPTZ NOT NULL
);
CREATE INDEX idx_servers_org ON servers (organization_id);

CREATE TABLE odoo_versions (
    id                    UUID PRIMARY KEY,
    version               TEXT NOT NULL UNIQUE,
    image                 TEXT NOT NULL,
    registry_username     TEXT,
    registry_password_enc BYTEA,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);

CREATE TABLE repositories (
    id              UUID PRIMARY KEY,
    scope           TEXT NOT NULL CHECK (scope IN ('platform', 'organization', 'project')),
    organization_id UUID REFERENCES organizations(id) ON DELETE CASCADE,
    project_id      UUID REFERENCES projects(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    slug            TEXT NOT NULL,
    url             TEXT NOT NULL,
    branch          TEXT NOT NULL,
    token_enc       BYTEA,
    is_primary      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    CHECK ((scope = 'platform' AND organization_id IS NULL AND project_id IS NULL)
        OR (scope = 'organization' AND organization_id IS NOT NULL AND project_id IS NULL)
        OR (scope = 'project' AND project_id IS NOT NULL))
);
CREATE UNIQUE INDEX idx_repositories_primary ON repositories (project_id) WHERE is_primary;
CREATE INDEX idx_repositories_org ON repositories (organization_id);

CREATE TABLE dns_providers (
    organization_id UUID PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    provider        TEXT NOT NULL CHECK (provider IN ('cloudflare')),
    zone_id         TEXT NOT NULL,
    api_token_enc   BYTEA NOT NULL,
    api_base_url    TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE migrations (
    id              UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    backup_key      TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE environments (
    id                             UUID PRIMARY KEY,
    project_id                     UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    server_id                      UUID NOT NULL REFERENCES servers(id),
    name                           TEXT NOT NULL,
    branch                         TEXT NOT NULL,
    subdomain                      TEXT NOT NULL,
    apps_domain                    TEXT NOT NULL,
    odoo_version                   TEXT NOT NULL,
    cpu_cores                      DOUBLE PRECISION NOT NULL,
    ram_mb                         BIGINT NOT NULL,
    disk_gb                        BIGINT NOT NULL,
    config_overrides               JSONB NOT NULL DEFAULT '{}',
    read_replica                   BOOLEAN NOT NULL DEFAULT FALSE,
    migration_id                   UUID REFERENCES migrations(id) ON DELETE SET NULL,
    migration_restore_completed    BOOLEAN NOT NULL DEFAULT FALSE,
    migration_restore_completed_at TIMESTAMPTZ,
    status                         TEXT NOT NULL CHECK (status IN ('pending', 'deploying', 'running', 'failed', 'stopped')),
    db_password_enc                BYTEA,
    admin_password_enc             BYTEA,
    created_at                     TIMESTAMPTZ NOT NULL,
    updated_at                     TIMESTAMPTZ NOT NULL,
    UNIQUE (project_id, name),
    UNIQUE (subdomain, apps_domain)
);
CREATE INDEX idx_environments_server ON environments (server_id);

CREATE TABLE deployments (
    id                  UUID PRIMARY KEY,
    project_id          UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    environment_id      UUID NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    vm_id               UUID REFERENCES servers(id) ON DELETE SET NULL,
    version             BIGINT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'running', 'success', 'failed', 'cancelled')),
    trigger             TEXT NOT NULL,
    triggered_by        UUID REFERENCES users(id) ON DELETE SET NULL,
    git_commit          TEXT,
    git_branch          TEXT,
    git_message         TEXT,
    committer_name      TEXT,
    committer_email     TEXT,
    commit_date         TIMESTAMPTZ,
    started_at          TIMESTAMPTZ,
    completed_at        TIMESTAMPTZ,
    duration_seconds    DOUBLE PRECISION,
    container_id        TEXT,
    image_tag           TEXT,
    error_message       TEXT,
    current_step        TEXT,
    progress_percent    BIGINT NOT NULL DEFAULT 0,
    worker_id           TEXT,
    lease_expires_at    TIMESTAMPTZ,
    cancel_requested_at TIMESTAMPTZ,
    cancelled_by        UUID REFERENCES users(id) ON DELETE SET NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    UNIQUE (environment_id, version)
);
-- One deployment at a time per environment.
CREATE UNIQUE INDEX idx_deployments_one_active ON deployments (environment_id) WHERE status IN ('pending', 'running');
CREATE INDEX idx_deployments_project_created ON deployments (project_id, created_at DESC);
CREATE INDEX idx_deployments_created ON deployments (created_at DESC);
CREATE INDEX idx_deployments_queue ON deployments (created_at) WHERE status IN ('pending', 'running');

CREATE TABLE deployment_steps (
    deployment_id    UUID NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    step             TEXT NOT NULL,
    status           TEXT NOT NULL,
    started_at       TIMESTAMPTZ,
    completed_at     TIMESTAMPTZ,
    duration_seconds DOUBLE PRECISION,
    PRIMARY KEY (deployment_id, step)
);

-- The spec's table, plus `seq` (global, dense, commit-ordered: the stream's event id)
-- and the deployment's status and progress at the time of the line.
--
-- `deployment_id` references deployments(id) with ON DELETE CASCADE, enforced by the
-- two triggers below rather than a declarative FOREIGN KEY: PostgreSQL checks a
-- declarative key with one locking query per inserted row, which halves bulk-ingest
-- throughput; the statement-level trigger checks and key-share-locks each referenced
-- deployment once per statement, with the same guarantees.
CREATE TABLE deployment_logs (
    id               UUID PRIMARY KEY,
    deployment_id    UUID NOT NULL,
    seq              BIGINT NOT NULL,
    timestamp        TIMESTAMPTZ NOT NULL,
    level            VARCHAR(10) NOT NULL,
    message          TEXT NOT NULL,
    step             VARCHAR(50),
    data             JSONB DEFAULT '{}',
    status           VARCHAR(16) NOT NULL DEFAULT 'running',
    progress_percent BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX idx_log_deployment_time ON deployment_logs (deployment_id, timestamp);
-- `seq` grows with insertion order, so a BRIN index serves range scans at almost no
-- ingest cost; uniqueness comes from the counter below.
CREATE INDEX idx_log_seq ON deployment_logs USING brin (seq) WITH (pages_per_range = 16);

CREATE FUNCTION deployment_logs_check_deployment() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wanted BIGINT;
    locked BIGINT;
BEGIN
    SELECT COUNT(DISTINCT deployment_id) INTO wanted FROM new_rows;
    SELECT COUNT(*) INTO locked FROM (
        SELECT 1 FROM deployments
        WHERE id IN (SELECT DISTINCT deployment_id FROM new_rows)
        FOR KEY SHARE
    ) AS present;
    IF locked < wanted THEN
        RAISE foreign_key_violation USING
            MESSAGE = 'insert or update on table "deployment_logs" violates foreign key constraint "deployment_logs_deployment_id_fkey"',
            CONSTRAINT = 'deployment_logs_deployment_id_fkey';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER deployment_logs_deployment_fk_insert
    AFTER INSERT ON deployment_logs REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION deployment_logs_check_deployment();
CREATE TRIGGER deployment_logs_deployment_fk_update
    AFTER UPDATE ON deployment_logs REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION deployment_logs_check_deployment();

CREATE FUNCTION deployments_cascade_logs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM deployment_logs WHERE deployment_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END $$;

CREATE TRIGGER deployments_cascade_logs
    AFTER DELETE ON deployments REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION deployments_cascade_logs();

-- Stream events that are not log lines; they share the log lines' sequence.
CREATE TABLE events (
    seq             BIGINT PRIMARY KEY,
    kind            TEXT NOT NULL,
    organization_id UUID,
    project_id      UUID,
    deployment_id   UUID,
    user_id         UUID,
    data            JSONB NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX idx_events_created ON events (created_at);

-- The single counter behind `seq`. Updated in the same transaction as the rows it numbers,
-- so its row lock orders commits: a committed seq implies every lower seq is committed.
CREATE TABLE event_seq (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO event_seq (id, value) VALUES (1, 0);

CREATE TABLE refresh_tokens (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    family_id  UUID NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX idx_refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE stream_tickets (
    ticket_hash BYTEA PRIMARY KEY,
    user_id     UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at  TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
