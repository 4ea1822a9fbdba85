-- Infrastructure stages (PostgreSQL flavour). Keep in step with ../sqlite/0006_deploy.sql.

-- The streaming replica's replication role password, sealed like db_password_enc.
ALTER TABLE environments ADD COLUMN replication_password_enc BYTEA;
