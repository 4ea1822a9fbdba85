//! Request bodies of the organization and project membership endpoints.

use paasportal_core::{OrgRole, ProjectRole};
use serde::Deserialize;
use uuid::Uuid;

/// `POST /api/v1/organizations/{organization_id}/members`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddOrgMember {
    pub user_id: Uuid,
    pub role: OrgRole,
}

/// `PATCH /api/v1/organizations/{organization_id}/members/{user_id}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrgMember {
    pub role: OrgRole,
}

/// `POST /api/v1/projects/{project_id}/members`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddProjectMember {
    pub user_id: Uuid,
    pub role: ProjectRole,
}

/// `PATCH /api/v1/projects/{project_id}/members/{user_id}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProjectMember {
    pub role: ProjectRole,
}
