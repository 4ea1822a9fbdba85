//! The Odoo admin password a deployment generated, revealed once to the project's admins.

use axum::extract::State;
use paasportal_core::Permission;
use paasportal_store::deploy_inputs::AdminPassword;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::authz;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::state::AppState;

/// The revealed password.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdminPasswordOut {
    pub environment_id: Uuid,
    /// The Odoo user the password belongs to.
    pub login: &'static str,
    pub password: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/environments/{environment_id}/admin-password/reveal",
    tag = "environments",
    params(("environment_id" = Uuid, Path, description = "The environment")),
    responses(
        (status = 200, description = "Success", body = AdminPasswordOut),
        (status = 409, description = "Already revealed, or not generated yet", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = []))
)]
/// `POST /api/v1/environments/{environment_id}/admin-password/reveal`: the admin
/// password, once (project admins; 404 when the environment is not visible, 403
/// without `project.manage`, 409 when it was revealed before or not generated yet).
pub async fn reveal(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<AdminPasswordOut>> {
    let access = user.access(&state).await?;
    authz::environment(&state, &access, id, Permission::ProjectManage).await?;
    match state.store.reveal_admin_password(id).await? {
        AdminPassword::Revealed(sealed) => {
            let password = state
                .secrets
                .open(&sealed)
                .map_err(|e| ApiError::Internal(format!("admin password unreadable: {e}")))?;
            tracing::info!(environment_id = %id, user_id = %user.user_id, "admin password revealed");
            Ok(Json(AdminPasswordOut {
                environment_id: id,
                login: "admin",
                password,
            }))
        }
        AdminPassword::AlreadyRevealed => Err(ApiError::Conflict {
            detail:
                "The admin password was already revealed; deploy a fresh database for a new one"
                    .into(),
            data: Value::Null,
        }),
        AdminPassword::NotGenerated => Err(ApiError::Conflict {
            detail: "No admin password yet: the environment's database has not been initialized"
                .into(),
            data: Value::Null,
        }),
    }
}
