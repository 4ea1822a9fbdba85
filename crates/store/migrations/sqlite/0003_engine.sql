-- Deployment engine (SQLite flavour). Keep in step with ../postgres/0003_engine.sql.

-- How the engine reaches a server: over SSH, or on the control-plane host itself.
ALTER TABLE servers ADD COLUMN transport TEXT NOT NULL DEFAULT 'ssh' CHECK (transport IN ('ssh', 'local'));

-- A worker's heartbeat renews the leases of the deployments it runs.
CREATE INDEX idx_deployments_worker ON deployments (worker_id) WHERE status = 'running';
