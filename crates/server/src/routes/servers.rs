//! Servers. SSH credentials are write-only: encrypted with the master key on arrival,
//! never returned and never logged.

use axum::extract::State;
use axum::http::StatusCode;
use paasportal_core::{AuthMethod, Permission, Server};
use paasportal_store::servers::{NewServer, ServerPatch, ServerSecrets};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::authz;
use crate::dto::organizations::OrgListQuery;
use crate::dto::paging::paging;
use crate::dto::servers::{CreateServer, UpdateServer};
use crate::dto::validate;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query, unprocessable};
use crate::state::AppState;

/// Credentials as given in a request.
struct Given<'a> {
    private_key: Option<&'a str>,
    passphrase: Option<&'a str>,
    password: Option<&'a str>,
}

/// Checks that the credentials fit the method and encrypts them.
fn seal(state: &AppState, method: AuthMethod, g: Given<'_>) -> ApiResult<ServerSecrets> {
    let mut s = ServerSecrets::default();
    match method {
        AuthMethod::Key => {
            let key = g.private_key.ok_or_else(|| {
                unprocessable("ssh_private_key", "auth_method key needs ssh_private_key")
            })?;
            validate::secret("ssh_private_key", key)?;
            if g.password.is_some() {
                return Err(unprocessable(
                    "ssh_password",
                    "auth_method key takes no ssh_password",
                ));
            }
            s.ssh_private_key_enc = Some(state.secrets.seal(key));
            if let Some(p) = g.passphrase {
                validate::secret("ssh_key_passphrase", p)?;
                s.ssh_key_passphrase_enc = Some(state.secrets.seal(p));
            }
        }
        AuthMethod::Password => {
            let pw = g.password.ok_or_else(|| {
                unprocessable("ssh_password", "auth_method password needs ssh_password")
            })?;
            validate::secret("ssh_password", pw)?;
            if g.private_key.is_some() || g.passphrase.is_some() {
                return Err(unprocessable(
                    "ssh_private_key",
                    "auth_method password takes no ssh_private_key",
                ));
            }
            s.ssh_password_enc = Some(state.secrets.seal(pw));
        }
    }
    Ok(s)
}

/// `POST /api/v1/servers`: registers a server of an organization (owner or admin).
#[utoipa::path(
    post,
    path = "/api/v1/servers",
    tag = "servers",
    request_body = CreateServer,
    responses((status = 201, description = "Success", body = Server)),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<CreateServer>,
) -> ApiResult<(StatusCode, Json<Server>)> {
    let access = user.access(&state).await?;
    authz::organization(
        &state,
        &access,
        req.organization_id,
        Some(Permission::OrgManage),
    )
    .await?;
    let new = NewServer {
        organization_id: req.organization_id,
        name: validate::name("name", &req.name)?,
        ip: validate::host(&req.ip)?,
        ssh_port: validate::port(req.ssh_port)?,
        ssh_user: validate::ssh_user(&req.ssh_user)?,
        auth_method: req.auth_method,
        secrets: seal(
            &state,
            req.auth_method,
            Given {
                private_key: req.ssh_private_key.as_deref(),
                passphrase: req.ssh_key_passphrase.as_deref(),
                password: req.ssh_password.as_deref(),
            },
        )?,
    };
    let s = state.store.create_server(&new).await?;
    tracing::info!(server_id = %s.id, organization_id = %s.organization_id, "server registered");
    Ok((StatusCode::CREATED, Json(s)))
}

/// `GET /api/v1/servers`: servers of the organizations the caller administers.
#[utoipa::path(
    get,
    path = "/api/v1/servers",
    tag = "servers",
    params(OrgListQuery),
    responses((status = 200, description = "Success", body = Vec<Server>)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<OrgListQuery>,
) -> ApiResult<Json<Vec<Server>>> {
    let (skip, limit) = paging(q.skip, q.limit, 50, 500)?;
    let access = user.access(&state).await?;
    if let Some(org) = q.organization_id {
        authz::organization(&state, &access, org, Some(Permission::OrgManage)).await?;
    }
    let rows = state
        .store
        .list_servers(authz::list_filter(&access), q.organization_id, skip, limit)
        .await?;
    Ok(Json(rows))
}

/// `GET /api/v1/servers/{server_id}`: one server, without credentials.
#[utoipa::path(
    get,
    path = "/api/v1/servers/{server_id}",
    tag = "servers",
    params(("server_id" = Uuid, Path)),
    responses((status = 200, description = "Success", body = Server)),
    security(("bearer" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Server>> {
    let access = user.access(&state).await?;
    Ok(Json(authz::server(&state, &access, id).await?))
}

/// `PATCH /api/v1/servers/{server_id}`: changes address, login or credentials.
#[utoipa::path(
    patch,
    path = "/api/v1/servers/{server_id}",
    tag = "servers",
    params(("server_id" = Uuid, Path)),
    request_body = UpdateServer,
    responses((status = 200, description = "Success", body = Server)),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    Json(req): Json<UpdateServer>,
) -> ApiResult<Json<Server>> {
    let access = user.access(&state).await?;
    let current = authz::server(&state, &access, id).await?;
    let gives_credentials = req.ssh_private_key.is_some()
        || req.ssh_key_passphrase.is_some()
        || req.ssh_password.is_some();
    let credentials = match (req.auth_method, gives_credentials) {
        (None, false) => None,
        (method, _) => {
            let method = method.unwrap_or(current.auth_method);
            let sealed = seal(
                &state,
                method,
                Given {
                    private_key: req.ssh_private_key.as_deref(),
                    passphrase: req.ssh_key_passphrase.as_deref(),
                    password: req.ssh_password.as_deref(),
                },
            )?;
            Some((method, sealed))
        }
    };
    let patch = ServerPatch {
        name: req
            .name
            .as_deref()
            .map(|n| validate::name("name", n))
            .transpose()?,
        ip: req.ip.as_deref().map(validate::host).transpose()?,
        ssh_port: req.ssh_port.map(validate::port).transpose()?,
        ssh_user: req
            .ssh_user
            .as_deref()
            .map(validate::ssh_user)
            .transpose()?,
        credentials,
    };
    let s = state.store.update_server(id, &patch).await?;
    tracing::info!(server_id = %id, "server updated");
    Ok(Json(s))
}

/// `DELETE /api/v1/servers/{server_id}`: removes a server; 409 while environments use it.
#[utoipa::path(
    delete,
    path = "/api/v1/servers/{server_id}",
    tag = "servers",
    params(("server_id" = Uuid, Path)),
    responses((status = 204, description = "Done")),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let access = user.access(&state).await?;
    authz::server(&state, &access, id).await?;
    state.store.delete_server(id).await?;
    tracing::info!(server_id = %id, "server deleted");
    Ok(StatusCode::NO_CONTENT)
}
