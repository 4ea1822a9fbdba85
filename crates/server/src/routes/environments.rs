//! Environments: one Odoo instance of a project on one of its organization's servers.

use axum::extract::State;
use axum::http::StatusCode;
use paasportal_core::{DeploymentStatus, Environment, Permission, Project};
use paasportal_store::StoreError;
use paasportal_store::environments::{EnvironmentPatch, NewEnvironment};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::authz;
use crate::dto::environments::{CreateEnvironment, UpdateEnvironment};
use crate::dto::organizations::ProjectListQuery;
use crate::dto::paging::paging;
use crate::dto::validate;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query, unprocessable};
use crate::state::AppState;

/// RAM an environment may have, in MB.
const RAM_MB: std::ops::RangeInclusive<i64> = 256..=1_048_576;
/// Disk an environment may have, in GB.
const DISK_GB: std::ops::RangeInclusive<i64> = 1..=100_000;

/// 422 unless the version is one a portal admin offers.
async fn offered_version(state: &AppState, v: &str) -> ApiResult<String> {
    let v = validate::odoo_version(v)
        .map_err(|_| unprocessable("odoo_version", "odoo_version must look like 18.0"))?;
    match state.store.get_odoo_version(&v).await {
        Ok(_) => Ok(v),
        Err(StoreError::NotFound) => Err(unprocessable(
            "odoo_version",
            format!("Odoo version {v} is not offered on this portal"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// 422 unless the server belongs to the project's organization.
async fn server_of(state: &AppState, p: &Project, server_id: Uuid) -> ApiResult<()> {
    match state.store.get_server(server_id).await {
        Ok(s) if s.organization_id == p.organization_id => Ok(()),
        Ok(_) | Err(StoreError::NotFound) => Err(unprocessable(
            "server_id",
            "no server with this id in the project's organization",
        )),
        Err(e) => Err(e.into()),
    }
}

/// `POST /api/v1/environments`: creates an environment (project admin and above).
#[utoipa::path(
    post,
    path = "/api/v1/environments",
    tag = "environments",
    request_body = CreateEnvironment,
    responses((status = 201, description = "Success", body = Environment)),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<CreateEnvironment>,
) -> ApiResult<(StatusCode, Json<Environment>)> {
    let access = user.access(&state).await?;
    let p = authz::project(&state, &access, req.project_id, Permission::ProjectManage).await?;
    let new = NewEnvironment {
        project_id: p.id,
        server_id: req.server_id,
        name: validate::name("name", &req.name)?,
        branch: validate::branch(&req.branch)?,
        subdomain: validate::subdomain(&req.subdomain)?,
        apps_domain: state.config.apps_domain.clone(),
        odoo_version: String::new(),
        cpu_cores: validate::cpu_cores(req.cpu_cores)?,
        ram_mb: validate::within("ram_mb", req.ram_mb, RAM_MB)?,
        disk_gb: validate::within("disk_gb", req.disk_gb, DISK_GB)?,
        config_overrides: validate::config_overrides(
            req.config_overrides
                .as_ref()
                .unwrap_or(&serde_json::Value::Null),
        )?,
        read_replica: false,
        migration_id: None,
    };
    let new = NewEnvironment {
        odoo_version: offered_version(&state, &req.odoo_version).await?,
        ..new
    };
    server_of(&state, &p, req.server_id).await?;
    let e = state.store.create_environment(&new).await?;
    tracing::info!(environment_id = %e.id, project_id = %e.project_id, "environment created");
    Ok((StatusCode::CREATED, Json(e)))
}

/// `GET /api/v1/environments`: the environments the caller may see, optionally of one project.
#[utoipa::path(
    get,
    path = "/api/v1/environments",
    tag = "environments",
    params(ProjectListQuery),
    responses((status = 200, description = "Success", body = Vec<Environment>)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<ProjectListQuery>,
) -> ApiResult<Json<Vec<Environment>>> {
    let (skip, limit) = paging(q.skip, q.limit, 50, 500)?;
    let access = user.access(&state).await?;
    if let Some(p) = q.project_id {
        authz::project(&state, &access, p, Permission::DeploymentsView).await?;
    }
    let rows = state
        .store
        .list_environments(authz::list_filter(&access), q.project_id, skip, limit)
        .await?;
    Ok(Json(rows))
}

/// `GET /api/v1/environments/{environment_id}`: one environment.
#[utoipa::path(
    get,
    path = "/api/v1/environments/{environment_id}",
    tag = "environments",
    params(("environment_id" = Uuid, Path)),
    responses((status = 200, description = "Success", body = Environment)),
    security(("bearer" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Environment>> {
    let access = user.access(&state).await?;
    let (e, _) = authz::environment(&state, &access, id, Permission::DeploymentsView).await?;
    Ok(Json(e))
}

/// `PATCH /api/v1/environments/{environment_id}`: changes settings (project admin and
/// above); they apply on the next deployment.
#[utoipa::path(
    patch,
    path = "/api/v1/environments/{environment_id}",
    tag = "environments",
    params(("environment_id" = Uuid, Path)),
    request_body = UpdateEnvironment,
    responses((status = 200, description = "Success", body = Environment)),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    Json(req): Json<UpdateEnvironment>,
) -> ApiResult<Json<Environment>> {
    let access = user.access(&state).await?;
    authz::environment(&state, &access, id, Permission::ProjectManage).await?;
    let mut patch = EnvironmentPatch {
        name: req
            .name
            .as_deref()
            .map(|n| validate::name("name", n))
            .transpose()?,
        branch: req.branch.as_deref().map(validate::branch).transpose()?,
        odoo_version: None,
        cpu_cores: req.cpu_cores.map(validate::cpu_cores).transpose()?,
        ram_mb: req
            .ram_mb
            .map(|v| validate::within("ram_mb", v, RAM_MB))
            .transpose()?,
        disk_gb: req
            .disk_gb
            .map(|v| validate::within("disk_gb", v, DISK_GB))
            .transpose()?,
        config_overrides: req
            .config_overrides
            .as_ref()
            .map(validate::config_overrides)
            .transpose()?,
    };
    if let Some(v) = &req.odoo_version {
        patch.odoo_version = Some(offered_version(&state, v).await?);
    }
    Ok(Json(state.store.update_environment(id, &patch).await?))
}

/// `DELETE /api/v1/environments/{environment_id}`: deletes an environment and its
/// history (project admin and above); 409 while a deployment of it is active.
#[utoipa::path(
    delete,
    path = "/api/v1/environments/{environment_id}",
    tag = "environments",
    params(("environment_id" = Uuid, Path)),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let access = user.access(&state).await?;
    authz::environment(&state, &access, id, Permission::ProjectManage).await?;
    if let Some(d) = state.store.latest_deployment(id).await?
        && matches!(
            d.status,
            DeploymentStatus::Pending | DeploymentStatus::Running
        )
    {
        return Err(ApiError::Conflict {
            detail: "Environment has a deployment in progress; cancel it first".into(),
            data: serde_json::json!({ "deployment_id": d.id }),
        });
    }
    state.store.delete_environment(id).await?;
    tracing::info!(environment_id = %id, "environment deleted");
    Ok(StatusCode::NO_CONTENT)
}
