//! Request bodies of the Odoo version and repository endpoints. Tokens and registry
//! passwords are write-only.

use paasportal_core::RepoScope;
use serde::Deserialize;
use uuid::Uuid;

/// `POST /api/v1/odoo-versions`.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOdooVersion {
    pub version: String,
    pub image: String,
    pub registry_username: Option<String>,
    pub registry_password: Option<String>,
}

/// `PATCH /api/v1/odoo-versions/{version_id}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOdooVersion {
    pub image: String,
}

/// `POST /api/v1/repositories`.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRepository {
    pub scope: RepoScope,
    pub organization_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub url: String,
    pub branch: String,
    pub name: String,
    pub token: Option<String>,
    #[serde(default)]
    pub is_primary: bool,
}

/// `PATCH /api/v1/repositories/{repository_id}`: an empty `token` removes it.
#[derive(Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRepository {
    pub url: Option<String>,
    pub branch: Option<String>,
    pub name: Option<String>,
    pub token: Option<String>,
}

macro_rules! redacted_debug {
    ($t:ty, $name:literal) => {
        /// Secrets never print.
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!($name, "(***)"))
            }
        }
    };
}
redacted_debug!(CreateOdooVersion, "CreateOdooVersion");
redacted_debug!(CreateRepository, "CreateRepository");
redacted_debug!(UpdateRepository, "UpdateRepository");
