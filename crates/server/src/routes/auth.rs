//! `POST /api/v1/auth/login|refresh|logout`, `GET /api/v1/auth/me`.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use paasportal_core::{OrgRole, ProjectRole, User, password};
use paasportal_store::refresh_tokens::Rotation;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::auth::tokens::{hash_refresh_token, new_refresh_token};
use crate::client_addr::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, unprocessable};
use crate::state::AppState;

/// `{email, password}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// `{refresh_token}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// `{refresh_token?}`: without one, every session of the caller ends.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// A token pair.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `"bearer"`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// One organization membership of the caller.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrgMembership {
    pub organization_id: Uuid,
    pub role: OrgRole,
}

/// One project membership of the caller.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProjectMembership {
    pub project_id: Uuid,
    pub role: ProjectRole,
}

/// The caller and their memberships.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MeResponse {
    #[serde(flatten)]
    pub user: User,
    pub organizations: Vec<OrgMembership>,
    pub projects: Vec<ProjectMembership>,
}

/// `POST /api/v1/auth/login`: e-mail and password for a token pair.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses((status = 200, description = "Success", body = TokenResponse)),
    security(())
)]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    if let Err(wait) = state.throttle.check(&req.email, addr) {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    let found = state.store.find_user_by_email(&req.email).await?;
    let pw = req.password.clone();
    let verified = tokio::task::spawn_blocking(move || match &found {
        Some((user, hash)) => password::verify(&pw, hash).then_some(user.id),
        None => {
            password::verify_dummy(&pw);
            None
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password check panicked: {e}")))?;
    let Some(user_id) = verified else {
        state.throttle.failed(&req.email, addr);
        return Err(ApiError::Unauthorized("wrong e-mail or password".into()));
    };
    state.throttle.succeeded(&req.email, addr);
    let refresh = new_refresh_token();
    state
        .store
        .create_refresh_token(
            user_id,
            &hash_refresh_token(&refresh),
            refresh_expiry(&state),
        )
        .await?;
    Ok(Json(pair(&state, user_id, refresh)))
}

/// `POST /api/v1/auth/refresh`: a refresh token for a new pair; the old one stops working.
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 200, description = "Success", body = TokenResponse)),
    security(())
)]
pub async fn refresh(
    State(state): State<AppState>,
    Json(req): Json<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let next = new_refresh_token();
    let rotation = state
        .store
        .rotate_refresh_token(
            &hash_refresh_token(&req.refresh_token),
            &hash_refresh_token(&next),
            refresh_expiry(&state),
        )
        .await?;
    match rotation {
        Rotation::Rotated { user_id } => {
            // A user deleted since login has no access left.
            state
                .store
                .get_user(user_id)
                .await
                .map_err(|_| ApiError::Unauthorized("user no longer exists".into()))?;
            Ok(Json(pair(&state, user_id, next)))
        }
        Rotation::Reused { user_id } => {
            tracing::warn!(%user_id, "refresh token reused; its family is revoked");
            Err(ApiError::Unauthorized("refresh token reused".into()))
        }
        Rotation::Invalid => Err(ApiError::Unauthorized("refresh token invalid".into())),
    }
}

/// `POST /api/v1/auth/logout`: revokes the given refresh token's family, or every one of the caller's.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    request_body = Option<LogoutRequest>,
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn logout(
    State(state): State<AppState>,
    user: AuthUser,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    let req: LogoutRequest = if body.iter().all(u8::is_ascii_whitespace) {
        LogoutRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| unprocessable("body", e.to_string()))?
    };
    match req.refresh_token {
        Some(t) => {
            state
                .store
                .revoke_refresh_token(user.user_id, &hash_refresh_token(&t))
                .await?;
        }
        None => state.store.revoke_user_refresh_tokens(user.user_id).await?,
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/auth/me`: the caller and their memberships.
#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    tag = "auth",
    responses((status = 200, description = "Success", body = MeResponse)),
    security(("bearer" = []))
)]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<MeResponse>> {
    let access = user.access(&state).await?;
    let me = state.store.get_user(user.user_id).await?;
    let mut organizations: Vec<_> = access
        .org_roles
        .iter()
        .map(|(o, r)| OrgMembership {
            organization_id: *o,
            role: *r,
        })
        .collect();
    organizations.sort_by_key(|m| m.organization_id);
    let mut projects: Vec<_> = access
        .project_roles
        .iter()
        .map(|(p, r)| ProjectMembership {
            project_id: *p,
            role: *r,
        })
        .collect();
    projects.sort_by_key(|m| m.project_id);
    Ok(Json(MeResponse {
        user: me,
        organizations,
        projects,
    }))
}

fn refresh_expiry(state: &AppState) -> chrono::DateTime<Utc> {
    Utc::now()
        + chrono::Duration::from_std(state.auth.refresh_ttl).unwrap_or(chrono::Duration::days(30))
}

fn pair(state: &AppState, user_id: Uuid, refresh_token: String) -> TokenResponse {
    TokenResponse {
        access_token: state.auth.issue_access(user_id),
        refresh_token,
        token_type: "bearer".into(),
        expires_in: state.auth.access_ttl.as_secs(),
    }
}
