//! Request bodies of the environment endpoints.

use serde::Deserialize;
use uuid::Uuid;

/// `POST /api/v1/environments`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEnvironment {
    pub project_id: Uuid,
    pub server_id: Uuid,
    pub name: String,
    pub branch: String,
    pub subdomain: String,
    pub odoo_version: String,
    pub cpu_cores: f64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    pub config_overrides: Option<serde_json::Value>,
}

/// `PATCH /api/v1/environments/{environment_id}`: only the given fields change.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEnvironment {
    pub name: Option<String>,
    pub branch: Option<String>,
    pub odoo_version: Option<String>,
    pub cpu_cores: Option<f64>,
    pub ram_mb: Option<i64>,
    pub disk_gb: Option<i64>,
    pub config_overrides: Option<serde_json::Value>,
}
