-- Keep in step with the other backend's 0008_log_page_index.sql.
-- A log page is ordered by (timestamp, seq): with seq in the index the database reads a
-- deployment's lines already in page order and sorts nothing.
DROP INDEX idx_log_deployment_time;
CREATE INDEX idx_log_deployment_time ON deployment_logs (deployment_id, timestamp, seq);
