//! Addon repositories at platform, organization and project scope. Access tokens are
//! write-only: encrypted on arrival, shown only as `has_token`.

use axum::extract::State;
use axum::http::StatusCode;
use paasportal_core::{Permission, RepoScope, Repository};
use paasportal_store::repositories::{NewRepository, RepoVisibility, RepositoryPatch};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::authz::{self, require_portal_admin};
use crate::dto::catalog::{CreateRepository, UpdateRepository};
use crate::dto::organizations::PageQuery;
use crate::dto::paging::paging;
use crate::dto::validate;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query, unprocessable};
use crate::state::AppState;

/// `POST /api/v1/repositories`: platform repositories by portal admins, organization
/// ones by the organization's owners and admins, project ones by project admins.
#[utoipa::path(
    post,
    path = "/api/v1/repositories",
    tag = "repositories",
    request_body = CreateRepository,
    responses((status = 201, description = "Success", body = Repository)),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<CreateRepository>,
) -> ApiResult<(StatusCode, Json<Repository>)> {
    let access = user.access(&state).await?;
    let (organization_id, project_id) = match req.scope {
        RepoScope::Platform => {
            if req.organization_id.is_some() || req.project_id.is_some() {
                return Err(unprocessable(
                    "scope",
                    "platform repositories take no organization_id or project_id",
                ));
            }
            require_portal_admin(&access)?;
            (None, None)
        }
        RepoScope::Organization => {
            let org = req.organization_id.ok_or_else(|| {
                unprocessable(
                    "organization_id",
                    "organization scope needs organization_id",
                )
            })?;
            if req.project_id.is_some() {
                return Err(unprocessable(
                    "project_id",
                    "organization repositories take no project_id",
                ));
            }
            authz::organization(&state, &access, org, Some(Permission::OrgManage)).await?;
            (Some(org), None)
        }
        RepoScope::Project => {
            let pid = req
                .project_id
                .ok_or_else(|| unprocessable("project_id", "project scope needs project_id"))?;
            let p = authz::project(&state, &access, pid, Permission::ProjectManage).await?;
            if req.organization_id.is_some_and(|o| o != p.organization_id) {
                return Err(unprocessable(
                    "organization_id",
                    "organization_id is not the project's organization",
                ));
            }
            (Some(p.organization_id), Some(pid))
        }
    };
    if req.is_primary && req.scope != RepoScope::Project {
        return Err(unprocessable(
            "is_primary",
            "only a project repository can be the primary one",
        ));
    }
    if let Some(t) = &req.token {
        validate::secret("token", t)?;
    }
    let r = state
        .store
        .create_repository(&NewRepository {
            scope: req.scope,
            organization_id,
            project_id,
            name: validate::name("name", &req.name)?,
            url: validate::git_url(&req.url)?,
            branch: validate::branch(&req.branch)?,
            token_enc: req.token.as_deref().map(|t| state.secrets.seal(t)),
            is_primary: req.is_primary,
        })
        .await?;
    tracing::info!(repository_id = %r.id, scope = %r.scope, "repository added");
    Ok((StatusCode::CREATED, Json(r)))
}

/// `GET /api/v1/repositories`: the repositories the caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/repositories",
    tag = "repositories",
    params(PageQuery),
    responses((status = 200, description = "Success", body = Vec<Repository>)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Vec<Repository>>> {
    let (skip, limit) = paging(q.skip, q.limit, 50, 500)?;
    let access = user.access(&state).await?;
    let who = match authz::list_filter(&access) {
        None => RepoVisibility::All,
        Some(u) => RepoVisibility::User(u),
    };
    Ok(Json(state.store.list_repositories(who, skip, limit).await?))
}

/// `GET /api/v1/repositories/{repository_id}`: one repository, without its token.
#[utoipa::path(
    get,
    path = "/api/v1/repositories/{repository_id}",
    tag = "repositories",
    params(("repository_id" = Uuid, Path)),
    responses((status = 200, description = "Success", body = Repository)),
    security(("bearer" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Repository>> {
    let access = user.access(&state).await?;
    Ok(Json(authz::repository(&state, &access, id, false).await?))
}

/// `PATCH /api/v1/repositories/{repository_id}`: changes URL, branch, name or token.
#[utoipa::path(
    patch,
    path = "/api/v1/repositories/{repository_id}",
    tag = "repositories",
    params(("repository_id" = Uuid, Path)),
    request_body = UpdateRepository,
    responses((status = 200, description = "Success", body = Repository)),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    Json(req): Json<UpdateRepository>,
) -> ApiResult<Json<Repository>> {
    let access = user.access(&state).await?;
    authz::repository(&state, &access, id, true).await?;
    let token_enc = match req.token.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(t) => {
            validate::secret("token", t)?;
            Some(Some(state.secrets.seal(t)))
        }
    };
    let patch = RepositoryPatch {
        name: req
            .name
            .as_deref()
            .map(|n| validate::name("name", n))
            .transpose()?,
        url: req.url.as_deref().map(validate::git_url).transpose()?,
        branch: req.branch.as_deref().map(validate::branch).transpose()?,
        token_enc,
    };
    Ok(Json(state.store.update_repository(id, &patch).await?))
}

/// `DELETE /api/v1/repositories/{repository_id}`: removes a repository.
#[utoipa::path(
    delete,
    path = "/api/v1/repositories/{repository_id}",
    tag = "repositories",
    params(("repository_id" = Uuid, Path)),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let access = user.access(&state).await?;
    authz::repository(&state, &access, id, true).await?;
    state.store.delete_repository(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
