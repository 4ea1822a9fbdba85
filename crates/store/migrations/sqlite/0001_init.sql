-- paasportal schema, SQLite flavour. Keep in step with ../postgres/0001_init.sql.
-- BLOBs are 16-byte BLOBs, timestamps RFC 3339 TEXT (as sqlx encodes them), JSON TEXT.

CREATE TABLE users (
    id              BLOB PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    is_portal_admin INTEGER NOT NULL DEFAULT FALSE,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE organizations (
    id         BLOB PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE organization_members (
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id         BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at      TEXT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX idx_org_members_user ON organization_members (user_id);

CREATE TABLE projects (
    id              BLOB PRIMARY KEY,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (organization_id, name)
);

CREATE TABLE project_members (
    project_id BLOB NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX idx_project_members_user ON project_members (user_id);

CREATE TABLE servers (
    id                     BLOB PRIMARY KEY,
    organization_id        BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name                   TEXT NOT NULL,
    ip                     TEXT NOT NULL,
    ssh_port               INTEGER NOT NULL,
    ssh_user               TEXT NOT NULL,
    auth_method            TEXT NOT NULL CHECK (auth_method IN ('key', 'password')),
    ssh_private_key_enc    BLOB,
    ssh_key_passphrase_enc BLOB,
    ssh_password_enc       BLOB,
    host_key               TEXT,
    host_key_fingerprint   TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL
);
CREATE INDEX idx_servers_org ON servers (organization_id);

CREATE TABLE odoo_versions (
    id                    BLOB PRIMARY KEY,
    version               TEXT NOT NULL UNIQUE,
    image                 TEXT NOT NULL,
    registry_username     TEXT,
    registry_password_enc BLOB,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);

CREATE TABLE repositories (
    id              BLOB PRIMARY KEY,
    scope           TEXT NOT NULL CHECK (scope IN ('platform', 'organization', 'project')),
    organization_id BLOB REFERENCES organizations(id) ON DELETE CASCADE,
    project_id      BLOB REFERENCES projects(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    slug            TEXT NOT NULL,
    url             TEXT NOT NULL,
    branch          TEXT NOT NULL,
    token_enc       BLOB,
    is_primary      INTEGER NOT NULL DEFAULT FALSE,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK ((scope = 'platform' AND organization_id IS NULL AND project_id IS NULL)
        OR (scope = 'organization' AND organization_id IS NOT NULL AND project_id IS NULL)
        OR (scope = 'project' AND project_id IS NOT NULL))
);
CREATE UNIQUE INDEX idx_repositories_primary ON repositories (project_id) WHERE is_primary;
CREATE INDEX idx_repositories_org ON repositories (organization_id);

CREATE TABLE dns_providers (
    organization_id BLOB PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    provider        TEXT NOT NULL CHECK (provider IN ('cloudflare')),
    zone_id         TEXT NOT NULL,
    api_token_enc   BLOB NOT NULL,
    api_base_url    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE migrations (
    id              BLOB PRIMARY KEY,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    backup_key      TEXT NOT NULL,
    created_at      TEXT NOT NULL
);

CREATE TABLE environments (
    id                             BLOB PRIMARY KEY,
    project_id                     BLOB NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    server_id                      BLOB NOT NULL REFERENCES servers(id),
    name                           TEXT NOT NULL,
    branch                         TEXT NOT NULL,
    subdomain                      TEXT NOT NULL,
    apps_domain                    TEXT NOT NULL,
    odoo_version                   TEXT NOT NULL,
    cpu_cores                      REAL NOT NULL,
    ram_mb                         INTEGER NOT NULL,
    disk_gb                        INTEGER NOT NULL,
    config_overrides               TEXT NOT NULL DEFAULT '{}',
    read_replica                   INTEGER NOT NULL DEFAULT FALSE,
    migration_id                   BLOB REFERENCES migrations(id) ON DELETE SET NULL,
    migration_restore_completed    INTEGER NOT NULL DEFAULT FALSE,
    migration_restore_completed_at TEXT,
    status                         TEXT NOT NULL CHECK (status IN ('pending', 'deploying', 'running', 'failed', 'stopped')),
    db_password_enc                BLOB,
    admin_password_enc             BLOB,
    created_at                     TEXT NOT NULL,
    updated_at                     TEXT NOT NULL,
    UNIQUE (project_id, name),
    UNIQUE (subdomain, apps_domain)
);
CREATE INDEX idx_environments_server ON environments (server_id);

CREATE TABLE deployments (
    id                  BLOB PRIMARY KEY,
    project_id          BLOB NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    environment_id      BLOB NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    vm_id               BLOB REFERENCES servers(id) ON DELETE SET NULL,
    version             INTEGER NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'running', 'success', 'failed', 'cancelled')),
    trigger             TEXT NOT NULL,
    triggered_by        BLOB REFERENCES users(id) ON DELETE SET NULL,
    git_commit          TEXT,
    git_branch          TEXT,
    git_message         TEXT,
    committer_name      TEXT,
    committer_email     TEXT,
    commit_date         TEXT,
    started_at          TEXT,
    completed_at        TEXT,
    duration_seconds    REAL,
    container_id        TEXT,
    image_tag           TEXT,
    error_message       TEXT,
    current_step        TEXT,
    progress_percent    INTEGER NOT NULL DEFAULT 0,
    worker_id           TEXT,
    lease_expires_at    TEXT,
    cancel_requested_at TEXT,
    cancelled_by        BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    UNIQUE (environment_id, version)
);
-- One deployment at a time per environment.
CREATE UNIQUE INDEX idx_deployments_one_active ON deployments (environment_id) WHERE status IN ('pending', 'running');
CREATE INDEX idx_deployments_project_created ON deployments (project_id, created_at DESC);
CREATE INDEX idx_deployments_created ON deployments (created_at DESC);
CREATE INDEX idx_deployments_queue ON deployments (created_at) WHERE status IN ('pending', 'running');

CREATE TABLE deployment_steps (
    deployment_id    BLOB NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    step             TEXT NOT NULL,
    status           TEXT NOT NULL,
    started_at       TEXT,
    completed_at     TEXT,
    duration_seconds REAL,
    PRIMARY KEY (deployment_id, step)
);

-- The spec's table, plus `seq` (global, dense, commit-ordered: the stream's event id)
-- and the deployment's status and progress at the time of the line.
CREATE TABLE deployment_logs (
    id               BLOB PRIMARY KEY,
    deployment_id    BLOB NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    timestamp        TEXT NOT NULL,
    level            VARCHAR(10) NOT NULL,
    message          TEXT NOT NULL,
    step             VARCHAR(50),
    data             TEXT DEFAULT '{}',
    status           VARCHAR(16) NOT NULL DEFAULT 'running',
    progress_percent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_log_deployment_time ON deployment_logs (deployment_id, timestamp);
CREATE UNIQUE INDEX idx_log_seq ON deployment_logs (seq);

-- Stream events that are not log lines; they share the log lines' sequence.
CREATE TABLE events (
    seq             INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    organization_id BLOB,
    project_id      BLOB,
    deployment_id   BLOB,
    user_id         BLOB,
    data            TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX idx_events_created ON events (created_at);

-- The single counter behind `seq`. Updated in the same transaction as the rows it numbers,
-- so its row lock orders commits: a committed seq implies every lower seq is committed.
CREATE TABLE event_seq (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO event_seq (id, value) VALUES (1, 0);

CREATE TABLE refresh_tokens (
    id         BLOB PRIMARY KEY,
    user_id    BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    family_id  BLOB NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at    TEXT,
    revoked_at TEXT
);
CREATE INDEX idx_refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE stream_tickets (
    ticket_hash BLOB PRIMARY KEY,
    user_id     BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
