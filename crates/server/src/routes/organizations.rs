//! Organizations and their members.

use axum::extract::State;
use axum::http::StatusCode;
use paasportal_core::{OrgMember, OrgRole, Organization, Permission};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::authz::{self, require_portal_admin};
use crate::dto::members::{AddOrgMember, UpdateOrgMember};
use crate::dto::organizations::{OrganizationBody, PageQuery};
use crate::dto::paging::paging;
use crate::dto::validate;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query, unprocessable};
use crate::membership::{self, Change, Reason, Scope};
use crate::state::AppState;

/// `POST /api/v1/organizations`: creates an organization (portal admin).
#[utoipa::path(
    post,
    path = "/api/v1/organizations",
    tag = "organizations",
    request_body = OrganizationBody,
    responses((status = 201, description = "Success", body = Organization)),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<OrganizationBody>,
) -> ApiResult<(StatusCode, Json<Organization>)> {
    let access = user.access(&state).await?;
    require_portal_admin(&access)?;
    let name = validate::name("name", &req.name)?;
    let o = state.store.create_organization(&name).await?;
    tracing::info!(organization_id = %o.id, "organization created");
    Ok((StatusCode::CREATED, Json(o)))
}

/// `GET /api/v1/organizations`: the organizations the caller belongs to (all for admins).
#[utoipa::path(
    get,
    path = "/api/v1/organizations",
    tag = "organizations",
    params(PageQuery),
    responses((status = 200, description = "Success", body = Vec<Organization>)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Vec<Organization>>> {
    let (skip, limit) = paging(q.skip, q.limit, 50, 500)?;
    let access = user.access(&state).await?;
    let rows = state
        .store
        .list_organizations(authz::list_filter(&access), skip, limit)
        .await?;
    Ok(Json(rows))
}

/// `GET /api/v1/organizations/{organization_id}`: one organization.
#[utoipa::path(
    get,
    path = "/api/v1/organizations/{organization_id}",
    tag = "organizations",
    params(("organization_id" = Uuid, Path)),
    responses((status = 200, description = "Success", body = Organization)),
    security(("bearer" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Organization>> {
    let access = user.access(&state).await?;
    Ok(Json(authz::organization(&state, &access, id, None).await?))
}

/// `PATCH /api/v1/organizations/{organization_id}`: renames it (owner or admin).
#[utoipa::path(
    patch,
    path = "/api/v1/organizations/{organization_id}",
    tag = "organizations",
    params(("organization_id" = Uuid, Path)),
    request_body = OrganizationBody,
    responses((status = 200, description = "Success", body = Organization)),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    Json(req): Json<OrganizationBody>,
) -> ApiResult<Json<Organization>> {
    let access = user.access(&state).await?;
    authz::organization(&state, &access, id, Some(Permission::OrgManage)).await?;
    let name = validate::name("name", &req.name)?;
    Ok(Json(state.store.rename_organization(id, &name).await?))
}

/// `DELETE /api/v1/organizations/{organization_id}`: deletes it and everything in it (owner).
#[utoipa::path(
    delete,
    path = "/api/v1/organizations/{organization_id}",
    tag = "organizations",
    params(("organization_id" = Uuid, Path)),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let access = user.access(&state).await?;
    authz::organization(&state, &access, id, Some(Permission::OrgOwn)).await?;
    let affected = state.store.users_with_access_to_org(id).await?;
    state.store.delete_organization(id).await?;
    tracing::info!(organization_id = %id, "organization deleted");
    membership::notify_access_changed(&state, &affected, Reason::OrganizationDeleted(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/organizations/{organization_id}/members`: the members (owner or admin).
#[utoipa::path(
    get,
    path = "/api/v1/organizations/{organization_id}/members",
    tag = "organizations",
    params(("organization_id" = Uuid, Path)),
    responses((status = 200, description = "Success", body = Vec<OrgMember>)),
    security(("bearer" = []))
)]
pub async fn members(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<OrgMember>>> {
    let access = user.access(&state).await?;
    authz::organization(&state, &access, id, Some(Permission::OrgManage)).await?;
    Ok(Json(state.store.list_org_members(id).await?))
}

/// Owners are made and unmade by owners only.
fn check_owner_change(
    access: &paasportal_core::Access,
    org: Uuid,
    from: Option<OrgRole>,
    to: Option<OrgRole>,
) -> ApiResult<()> {
    let touches_owner = from == Some(OrgRole::Owner) || to == Some(OrgRole::Owner);
    if touches_owner && !access.can_in_org(Permission::OrgOwn, org) {
        return Err(authz::forbidden(Permission::OrgOwn));
    }
    Ok(())
}

/// 409 when the change would leave the organization without an owner.
async fn keep_an_owner(state: &AppState, org: Uuid, from: Option<OrgRole>) -> ApiResult<()> {
    if from == Some(OrgRole::Owner) && state.store.count_org_owners(org).await? <= 1 {
        return Err(ApiError::Conflict {
            detail: "An organization must keep at least one owner".into(),
            data: serde_json::Value::Null,
        });
    }
    Ok(())
}

/// 422 unless `user_id` names an existing user.
pub(crate) async fn existing_user(state: &AppState, user_id: Uuid) -> ApiResult<()> {
    match state.store.get_user(user_id).await {
        Ok(_) => Ok(()),
        Err(paasportal_store::StoreError::NotFound) => {
            Err(unprocessable("user_id", "no user with this id"))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /api/v1/organizations/{organization_id}/members`: adds a member (owner or admin;
/// owners only add owners); 409 if already a member.
#[utoipa::path(
    post,
    path = "/api/v1/organizations/{organization_id}/members",
    tag = "organizations",
    params(("organization_id" = Uuid, Path)),
    request_body = AddOrgMember,
    responses((status = 201, description = "Success", body = OrgMember)),
    security(("bearer" = []))
)]
pub async fn add_member(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    Json(req): Json<AddOrgMember>,
) -> ApiResult<(StatusCode, Json<OrgMember>)> {
    let access = user.access(&state).await?;
    authz::organization(&state, &access, id, Some(Permission::OrgManage)).await?;
    check_owner_change(&access, id, None, Some(req.role))?;
    existing_user(&state, req.user_id).await?;
    if state.store.org_role(id, req.user_id).await?.is_some() {
        return Err(ApiError::Conflict {
            detail: "User is already a member of this organization".into(),
            data: serde_json::Value::Null,
        });
    }
    let m = state
        .store
        .upsert_org_member(id, req.user_id, req.role)
        .await?;
    notify(&state, id, req.user_id, Change::Added, Some(req.role)).await?;
    Ok((StatusCode::CREATED, Json(m)))
}

/// `PATCH /api/v1/organizations/{organization_id}/members/{user_id}`: changes a member's role.
#[utoipa::path(
    patch,
    path = "/api/v1/organizations/{organization_id}/members/{user_id}",
    tag = "organizations",
    params(("organization_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    request_body = UpdateOrgMember,
    responses((status = 200, description = "Success", body = OrgMember)),
    security(("bearer" = []))
)]
pub async fn update_member(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, member)): Path<(Uuid, Uuid)>,
    Json(req): Json<UpdateOrgMember>,
) -> ApiResult<Json<OrgMember>> {
    let access = user.access(&state).await?;
    authz::organization(&state, &access, id, Some(Permission::OrgManage)).await?;
    let from = state
        .store
        .org_role(id, member)
        .await?
        .ok_or_else(|| ApiError::not_found("Member"))?;
    check_owner_change(&access, id, Some(from), Some(req.role))?;
    if req.role != OrgRole::Owner {
        keep_an_owner(&state, id, Some(from)).await?;
    }
    let m = state.store.upsert_org_member(id, member, req.role).await?;
    notify(&state, id, member, Change::Changed, Some(req.role)).await?;
    Ok(Json(m))
}

/// `DELETE /api/v1/organizations/{organization_id}/members/{user_id}`: removes a member.
#[utoipa::path(
    delete,
    path = "/api/v1/organizations/{organization_id}/members/{user_id}",
    tag = "organizations",
    params(("organization_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn remove_member(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, member)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let access = user.access(&state).await?;
    authz::organization(&state, &access, id, Some(Permission::OrgManage)).await?;
    let from = state
        .store
        .org_role(id, member)
        .await?
        .ok_or_else(|| ApiError::not_found("Member"))?;
    check_owner_change(&access, id, Some(from), None)?;
    keep_an_owner(&state, id, Some(from)).await?;
    state.store.remove_org_member(id, member).await?;
    notify(&state, id, member, Change::Removed, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn notify(
    state: &AppState,
    org: Uuid,
    member: Uuid,
    change: Change,
    role: Option<OrgRole>,
) -> ApiResult<()> {
    tracing::info!(organization_id = %org, user_id = %member, change = ?change, "organization membership changed");
    membership::notify(
        state,
        member,
        Scope {
            organization_id: org,
            project_id: None,
        },
        change,
        role.map(OrgRole::as_str),
    )
    .await
}
