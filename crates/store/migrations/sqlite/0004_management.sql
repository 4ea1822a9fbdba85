-- Management API additions. Keep in step with ../postgres/0004_management.sql.

-- A repository's slug is its directory under addons/: unique within what shares that directory.
CREATE UNIQUE INDEX idx_repositories_platform_slug ON repositories (slug) WHERE scope = 'platform';
CREATE UNIQUE INDEX idx_repositories_org_slug ON repositories (organization_id, slug) WHERE scope = 'organization';
CREATE UNIQUE INDEX idx_repositories_project_slug ON repositories (project_id, slug) WHERE scope = 'project';
