//! User management: portal admins create, list, change and delete users; every user
//! may read and change their own name, e-mail and password.

use axum::extract::State;
use axum::http::StatusCode;
use paasportal_core::{User, password};
use paasportal_store::users::{NewUser, UserPatch};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::authz::require_portal_admin;
use crate::dto::organizations::PageQuery;
use crate::dto::paging::paging;
use crate::dto::users::{CreateUser, UpdateUser};
use crate::dto::validate;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query, unprocessable};
use crate::membership::{self, Reason};
use crate::state::AppState;

/// Hashes on a blocking thread (Argon2id is deliberately slow).
async fn hash(pw: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| ApiError::Internal(format!("password hashing task: {e}")))
}

/// Self-service password changes need the current password: a stolen access token alone
/// cannot take the account over.
async fn check_current_password(
    state: &AppState,
    me: &User,
    current: Option<String>,
) -> ApiResult<()> {
    let Some(current) = current else {
        return Err(unprocessable(
            "current_password",
            "current_password is required to change your own password",
        ));
    };
    let Some((_, stored)) = state.store.find_user_by_email(&me.email).await? else {
        return Err(ApiError::not_found("User"));
    };
    let ok = tokio::task::spawn_blocking(move || password::verify(&current, &stored))
        .await
        .map_err(|e| ApiError::Internal(format!("password check task: {e}")))?;
    if ok {
        Ok(())
    } else {
        Err(ApiError::Forbidden("The current password is wrong".into()))
    }
}

/// `POST /api/v1/users`: creates a user (portal admin).
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    request_body = CreateUser,
    responses((status = 201, description = "Success", body = User)),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<CreateUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let access = user.access(&state).await?;
    require_portal_admin(&access)?;
    let email = validate::email(&req.email)?;
    let name = validate::name("name", &req.name)?;
    validate::password(&req.password)?;
    let u = state
        .store
        .create_user(&NewUser {
            email,
            name,
            password_hash: hash(req.password).await?,
            is_portal_admin: req.is_portal_admin,
        })
        .await?;
    tracing::info!(user_id = %u.id, "user created");
    Ok((StatusCode::CREATED, Json(u)))
}

/// `GET /api/v1/users`: every user (portal admin).
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    params(PageQuery),
    responses((status = 200, description = "Success", body = Vec<User>)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Vec<User>>> {
    let (skip, limit) = paging(q.skip, q.limit, 50, 500)?;
    let access = user.access(&state).await?;
    require_portal_admin(&access)?;
    Ok(Json(state.store.list_users(skip, limit).await?))
}

/// The user `id` if the caller is a portal admin or that user; else 404.
async fn visible(state: &AppState, caller: &AuthUser, admin: bool, id: Uuid) -> ApiResult<User> {
    if !admin && caller.user_id != id {
        return Err(ApiError::not_found("User"));
    }
    state.store.get_user(id).await.map_err(|e| match e {
        paasportal_store::StoreError::NotFound => ApiError::not_found("User"),
        e => e.into(),
    })
}

/// `GET /api/v1/users/{user_id}`: one user (portal admin, or the user themself).
#[utoipa::path(
    get,
    path = "/api/v1/users/{user_id}",
    tag = "users",
    params(("user_id" = Uuid, Path)),
    responses((status = 200, description = "Success", body = User)),
    security(("bearer" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<User>> {
    let access = user.access(&state).await?;
    Ok(Json(visible(&state, &user, access.portal_admin, id).await?))
}

/// `PATCH /api/v1/users/{user_id}`: changes a user; only portal admins change the admin
/// flag; changing one's own password needs `current_password`. A new password or e-mail
/// revokes the user's refresh tokens and stream tickets.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{user_id}",
    tag = "users",
    params(("user_id" = Uuid, Path)),
    request_body = UpdateUser,
    responses((status = 200, description = "Success", body = User)),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    Json(req): Json<UpdateUser>,
) -> ApiResult<Json<User>> {
    let access = user.access(&state).await?;
    let before = visible(&state, &user, access.portal_admin, id).await?;
    if req.is_portal_admin.is_some() {
        require_portal_admin(&access)?;
    }
    let email = req.email.as_deref().map(validate::email).transpose()?;
    let name = req
        .name
        .as_deref()
        .map(|n| validate::name("name", n))
        .transpose()?;
    let password_hash = match req.password {
        Some(pw) => {
            validate::password(&pw)?;
            if id == user.user_id {
                check_current_password(&state, &before, req.current_password).await?;
            }
            Some(hash(pw).await?)
        }
        None => None,
    };
    let email_changes = email.as_ref().is_some_and(|e| *e != before.email);
    let u = state
        .store
        .update_user(
            id,
            &UserPatch {
                name,
                email,
                password_hash: password_hash.clone(),
                is_portal_admin: req.is_portal_admin,
            },
        )
        .await?;
    if password_hash.is_some() || email_changes {
        // New credentials end every session started with the old ones.
        state.store.revoke_user_refresh_tokens(id).await?;
        state.store.delete_user_stream_tickets(id).await?;
        tracing::info!(user_id = %id, "credentials changed; sessions revoked");
    }
    if u.is_portal_admin != before.is_portal_admin {
        membership::notify_access_changed(&state, &[id], Reason::PortalAdmin).await?;
    }
    Ok(Json(u))
}

/// `DELETE /api/v1/users/{user_id}`: deletes a user (portal admin; not oneself).
#[utoipa::path(
    delete,
    path = "/api/v1/users/{user_id}",
    tag = "users",
    params(("user_id" = Uuid, Path)),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let access = user.access(&state).await?;
    visible(&state, &user, access.portal_admin, id).await?;
    require_portal_admin(&access)?;
    if id == user.user_id {
        return Err(ApiError::Conflict {
            detail: "You cannot delete your own account".into(),
            data: serde_json::Value::Null,
        });
    }
    state.store.delete_user(id).await?;
    tracing::info!(user_id = %id, "user deleted");
    membership::notify_access_changed(&state, &[id], Reason::UserDeleted).await?;
    Ok(StatusCode::NO_CONTENT)
}
