//! Odoo versions: portal admins manage them; every signed-in user may list them.

use axum::extract::State;
use axum::http::StatusCode;
use paasportal_core::OdooVersion;
use paasportal_store::StoreError;
use paasportal_store::versions::NewOdooVersion;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::authz::require_portal_admin;
use crate::dto::catalog::{CreateOdooVersion, UpdateOdooVersion};
use crate::dto::validate;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::state::AppState;

fn missing(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("Odoo version"),
        e => e.into(),
    }
}

/// `POST /api/v1/odoo-versions`: offers a version and its image (portal admin).
#[utoipa::path(
    post,
    path = "/api/v1/odoo-versions",
    tag = "odoo-versions",
    request_body = CreateOdooVersion,
    responses((status = 201, description = "Success", body = OdooVersion)),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<CreateOdooVersion>,
) -> ApiResult<(StatusCode, Json<OdooVersion>)> {
    let access = user.access(&state).await?;
    require_portal_admin(&access)?;
    let registry_username = req
        .registry_username
        .as_deref()
        .map(|u| validate::name("registry_username", u))
        .transpose()?;
    if let Some(p) = &req.registry_password {
        validate::secret("registry_password", p)?;
    }
    let v = state
        .store
        .create_odoo_version(&NewOdooVersion {
            version: validate::odoo_version(&req.version)?,
            image: validate::image(&req.image)?,
            registry_username,
            registry_password_enc: req
                .registry_password
                .as_deref()
                .map(|p| state.secrets.seal(p)),
        })
        .await?;
    tracing::info!(version = %v.version, "odoo version added");
    Ok((StatusCode::CREATED, Json(v)))
}

/// `GET /api/v1/odoo-versions`: every offered version.
#[utoipa::path(
    get,
    path = "/api/v1/odoo-versions",
    tag = "odoo-versions",
    responses((status = 200, description = "Success", body = Vec<OdooVersion>)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<Vec<OdooVersion>>> {
    user.access(&state).await?;
    Ok(Json(state.store.list_odoo_versions().await?))
}

/// `GET /api/v1/odoo-versions/{version_id}`: one version.
#[utoipa::path(
    get,
    path = "/api/v1/odoo-versions/{version_id}",
    tag = "odoo-versions",
    params(("version_id" = Uuid, Path)),
    responses((status = 200, description = "Success", body = OdooVersion)),
    security(("bearer" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<OdooVersion>> {
    user.access(&state).await?;
    Ok(Json(
        state
            .store
            .get_odoo_version_by_id(id)
            .await
            .map_err(missing)?,
    ))
}

/// `PATCH /api/v1/odoo-versions/{version_id}`: changes the image (portal admin).
#[utoipa::path(
    patch,
    path = "/api/v1/odoo-versions/{version_id}",
    tag = "odoo-versions",
    params(("version_id" = Uuid, Path)),
    request_body = UpdateOdooVersion,
    responses((status = 200, description = "Success", body = OdooVersion)),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    Json(req): Json<UpdateOdooVersion>,
) -> ApiResult<Json<OdooVersion>> {
    let access = user.access(&state).await?;
    state
        .store
        .get_odoo_version_by_id(id)
        .await
        .map_err(missing)?;
    require_portal_admin(&access)?;
    let image = validate::image(&req.image)?;
    Ok(Json(
        state
            .store
            .update_odoo_version_image(id, &image)
            .await
            .map_err(missing)?,
    ))
}

/// `DELETE /api/v1/odoo-versions/{version_id}`: withdraws a version (portal admin);
/// 409 while an environment uses it.
#[utoipa::path(
    delete,
    path = "/api/v1/odoo-versions/{version_id}",
    tag = "odoo-versions",
    params(("version_id" = Uuid, Path)),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let access = user.access(&state).await?;
    state
        .store
        .get_odoo_version_by_id(id)
        .await
        .map_err(missing)?;
    require_portal_admin(&access)?;
    state.store.delete_odoo_version(id).await.map_err(missing)?;
    Ok(StatusCode::NO_CONTENT)
}
