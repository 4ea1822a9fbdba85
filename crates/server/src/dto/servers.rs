//! Request bodies of the server endpoints. Credentials are write-only: they are
//! encrypted on arrival and never part of a response.

use paasportal_core::AuthMethod;
use serde::Deserialize;
use uuid::Uuid;

/// `POST /api/v1/servers`.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServer {
    pub organization_id: Uuid,
    pub name: String,
    pub ip: String,
    #[serde(default = "default_port")]
    pub ssh_port: u16,
    pub ssh_user: String,
    pub auth_method: AuthMethod,
    pub ssh_private_key: Option<String>,
    pub ssh_key_passphrase: Option<String>,
    pub ssh_password: Option<String>,
}

fn default_port() -> u16 {
    22
}

/// `PATCH /api/v1/servers/{server_id}`: new credentials need `auth_method` with them.
#[derive(Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateServer {
    pub name: Option<String>,
    pub ip: Option<String>,
    pub ssh_port: Option<u16>,
    pub ssh_user: Option<String>,
    pub auth_method: Option<AuthMethod>,
    pub ssh_private_key: Option<String>,
    pub ssh_key_passphrase: Option<String>,
    pub ssh_password: Option<String>,
}

/// Credentials never print.
impl std::fmt::Debug for CreateServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateServer")
            .field("organization_id", &self.organization_id)
            .field("name", &self.name)
            .field("auth_method", &self.auth_method)
            .finish_non_exhaustive()
    }
}

/// Credentials never print.
impl std::fmt::Debug for UpdateServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateServer")
            .field("name", &self.name)
            .field("auth_method", &self.auth_method)
            .finish_non_exhaustive()
    }
}
