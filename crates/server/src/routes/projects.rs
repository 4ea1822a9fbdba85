//! Projects and their members.

use axum::extract::State;
use axum::http::StatusCode;
use paasportal_core::{Permission, Project, ProjectMember, ProjectRole};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::authz;
use crate::dto::members::{AddProjectMember, UpdateProjectMember};
use crate::dto::organizations::{CreateProject, OrgListQuery, UpdateProject};
use crate::dto::paging::paging;
use crate::dto::validate;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::membership::{self, Change, Reason, Scope};
use crate::routes::organizations::existing_user;
use crate::state::AppState;

/// `POST /api/v1/projects`: creates a project in an organization (owner or admin).
#[utoipa::path(
    post,
    path = "/api/v1/projects",
    tag = "projects",
    request_body = CreateProject,
    responses((status = 201, description = "Success", body = Project)),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<CreateProject>,
) -> ApiResult<(StatusCode, Json<Project>)> {
    let access = user.access(&state).await?;
    authz::organization(
        &state,
        &access,
        req.organization_id,
        Some(Permission::OrgManage),
    )
    .await?;
    let name = validate::name("name", &req.name)?;
    let p = state
        .store
        .create_project(req.organization_id, &name)
        .await?;
    tracing::info!(project_id = %p.id, organization_id = %p.organization_id, "project created");
    Ok((StatusCode::CREATED, Json(p)))
}

/// `GET /api/v1/projects`: the projects the caller may see, optionally of one organization.
#[utoipa::path(
    get,
    path = "/api/v1/projects",
    tag = "projects",
    params(OrgListQuery),
    responses((status = 200, description = "Success", body = Vec<Project>)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<OrgListQuery>,
) -> ApiResult<Json<Vec<Project>>> {
    let (skip, limit) = paging(q.skip, q.limit, 50, 500)?;
    let access = user.access(&state).await?;
    if let Some(org) = q.organization_id {
        authz::organization(&state, &access, org, None).await?;
    }
    let rows = state
        .store
        .list_projects(authz::list_filter(&access), q.organization_id, skip, limit)
        .await?;
    Ok(Json(rows))
}

/// `GET /api/v1/projects/{project_id}`: one project.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}",
    tag = "projects",
    params(("project_id" = Uuid, Path)),
    responses((status = 200, description = "Success", body = Project)),
    security(("bearer" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Project>> {
    let access = user.access(&state).await?;
    Ok(Json(
        authz::project(&state, &access, id, Permission::DeploymentsView).await?,
    ))
}

/// `PATCH /api/v1/projects/{project_id}`: renames it (project admin and above).
#[utoipa::path(
    patch,
    path = "/api/v1/projects/{project_id}",
    tag = "projects",
    params(("project_id" = Uuid, Path)),
    request_body = UpdateProject,
    responses((status = 200, description = "Success", body = Project)),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    Json(req): Json<UpdateProject>,
) -> ApiResult<Json<Project>> {
    let access = user.access(&state).await?;
    authz::project(&state, &access, id, Permission::ProjectManage).await?;
    let name = validate::name("name", &req.name)?;
    Ok(Json(state.store.rename_project(id, &name).await?))
}

/// `DELETE /api/v1/projects/{project_id}`: deletes it with its environments and history
/// (organization owner or admin).
#[utoipa::path(
    delete,
    path = "/api/v1/projects/{project_id}",
    tag = "projects",
    params(("project_id" = Uuid, Path)),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let access = user.access(&state).await?;
    let p = authz::project(&state, &access, id, Permission::DeploymentsView).await?;
    if !access.can_in_org(Permission::OrgManage, p.organization_id) {
        return Err(authz::forbidden(Permission::OrgManage));
    }
    let affected = state.store.users_with_access_to_project(id).await?;
    state.store.delete_project(id).await?;
    tracing::info!(project_id = %id, "project deleted");
    membership::notify_access_changed(
        &state,
        &affected,
        Reason::ProjectDeleted {
            organization_id: p.organization_id,
            project_id: id,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/projects/{project_id}/members`: the members (anyone who sees the project).
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/members",
    tag = "projects",
    params(("project_id" = Uuid, Path)),
    responses((status = 200, description = "Success", body = Vec<ProjectMember>)),
    security(("bearer" = []))
)]
pub async fn members(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<ProjectMember>>> {
    let access = user.access(&state).await?;
    authz::project(&state, &access, id, Permission::DeploymentsView).await?;
    Ok(Json(state.store.list_project_members(id).await?))
}

async fn member_role(
    state: &AppState,
    project: Uuid,
    user: Uuid,
) -> ApiResult<Option<ProjectRole>> {
    Ok(state
        .store
        .list_project_members(project)
        .await?
        .into_iter()
        .find(|m| m.user_id == user)
        .map(|m| m.role))
}

/// `POST /api/v1/projects/{project_id}/members`: adds a member (project admin and above);
/// 409 if already a member.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project_id}/members",
    tag = "projects",
    params(("project_id" = Uuid, Path)),
    request_body = AddProjectMember,
    responses((status = 201, description = "Success", body = ProjectMember)),
    security(("bearer" = []))
)]
pub async fn add_member(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    Json(req): Json<AddProjectMember>,
) -> ApiResult<(StatusCode, Json<ProjectMember>)> {
    let access = user.access(&state).await?;
    let p = authz::project(&state, &access, id, Permission::ProjectManage).await?;
    existing_user(&state, req.user_id).await?;
    if member_role(&state, id, req.user_id).await?.is_some() {
        return Err(ApiError::Conflict {
            detail: "User is already a member of this project".into(),
            data: serde_json::Value::Null,
        });
    }
    let m = state
        .store
        .upsert_project_member(id, req.user_id, req.role)
        .await?;
    notify(&state, &p, req.user_id, Change::Added, Some(req.role)).await?;
    Ok((StatusCode::CREATED, Json(m)))
}

/// `PATCH /api/v1/projects/{project_id}/members/{user_id}`: changes a member's role.
#[utoipa::path(
    patch,
    path = "/api/v1/projects/{project_id}/members/{user_id}",
    tag = "projects",
    params(("project_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    request_body = UpdateProjectMember,
    responses((status = 200, description = "Success", body = ProjectMember)),
    security(("bearer" = []))
)]
pub async fn update_member(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, member)): Path<(Uuid, Uuid)>,
    Json(req): Json<UpdateProjectMember>,
) -> ApiResult<Json<ProjectMember>> {
    let access = user.access(&state).await?;
    let p = authz::project(&state, &access, id, Permission::ProjectManage).await?;
    member_role(&state, id, member)
        .await?
        .ok_or_else(|| ApiError::not_found("Member"))?;
    let m = state
        .store
        .upsert_project_member(id, member, req.role)
        .await?;
    notify(&state, &p, member, Change::Changed, Some(req.role)).await?;
    Ok(Json(m))
}

/// `DELETE /api/v1/projects/{project_id}/members/{user_id}`: removes a member.
#[utoipa::path(
    delete,
    path = "/api/v1/projects/{project_id}/members/{user_id}",
    tag = "projects",
    params(("project_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn remove_member(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, member)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let access = user.access(&state).await?;
    let p = authz::project(&state, &access, id, Permission::ProjectManage).await?;
    state
        .store
        .remove_project_member(id, member)
        .await
        .map_err(|e| match e {
            paasportal_store::StoreError::NotFound => ApiError::not_found("Member"),
            e => e.into(),
        })?;
    notify(&state, &p, member, Change::Removed, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn notify(
    state: &AppState,
    p: &Project,
    member: Uuid,
    change: Change,
    role: Option<ProjectRole>,
) -> ApiResult<()> {
    tracing::info!(project_id = %p.id, user_id = %member, change = ?change, "project membership changed");
    membership::notify(
        state,
        member,
        Scope {
            organization_id: p.organization_id,
            project_id: Some(p.id),
        },
        change,
        role.map(ProjectRole::as_str),
    )
    .await
}
