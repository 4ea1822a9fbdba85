-- The REST API's additions. Keep in step with ../postgres/0002_api.sql.

-- Retention deletes lines older than a cutoff in small batches; SQLite has no BRIN,
-- so a plain index on the timestamp finds them.
CREATE INDEX idx_log_timestamp ON deployment_logs (timestamp);
