//! Request bodies of the user endpoints.

use serde::Deserialize;

/// `POST /api/v1/users`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    pub password: String,
    pub name: String,
    #[serde(default)]
    pub is_portal_admin: bool,
}

/// `PATCH /api/v1/users/{user_id}`: only the given fields change.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub email: Option<String>,
    pub password: Option<String>,
    /// Required to change one's own password.
    pub current_password: Option<String>,
    pub name: Option<String>,
    pub is_portal_admin: Option<bool>,
}
