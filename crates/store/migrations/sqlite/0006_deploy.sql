-- Infrastructure stages (SQLite flavour). Keep in step with ../postgres/0006_deploy.sql.

-- The streaming replica's replication role password, sealed like db_password_enc.
ALTER TABLE environments ADD COLUMN replication_password_enc BLOB;
