//! Request bodies of the organization and project endpoints.

use serde::Deserialize;
use uuid::Uuid;

/// `POST /api/v1/organizations`, and `PATCH` with the new name.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationBody {
    pub name: String,
}

/// `POST /api/v1/projects`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    pub organization_id: Uuid,
    pub name: String,
}

/// `PATCH /api/v1/projects/{project_id}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProject {
    pub name: String,
}

/// `GET /api/v1/projects` and `GET /api/v1/servers`: paging and an optional organization.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrgListQuery {
    pub organization_id: Option<Uuid>,
    #[param(minimum = 0)]
    pub skip: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// `GET /api/v1/environments`: paging and an optional project.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectListQuery {
    pub project_id: Option<Uuid>,
    #[param(minimum = 0)]
    pub skip: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Paging of the plain lists.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    #[param(minimum = 0)]
    pub skip: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}
