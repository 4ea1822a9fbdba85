-- The REST API's additions. Keep in step with ../sqlite/0002_api.sql.

-- Retention deletes lines older than a cutoff in small batches. Log timestamps grow with
-- insertion order, so a BRIN index finds old pages at almost no ingest cost.
CREATE INDEX idx_log_timestamp_brin ON deployment_logs USING brin (timestamp) WITH (pages_per_range = 32);
