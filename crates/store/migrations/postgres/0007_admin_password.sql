-- The Odoo admin password is shown once. Keep in step with ../sqlite/0007_admin_password.sql.

-- When a project admin revealed the current admin password; NULL until then, and again
-- whenever a deployment generates a new one.
ALTER TABLE environments ADD COLUMN admin_password_revealed_at TIMESTAMPTZ;
