//! The live streams: `GET /api/v1/events/stream`, `POST /api/v1/events/ticket` and
//! `GET /api/v1/deployments/{id}/logs/stream`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Response};
use paasportal_bus::Filter;
use paasportal_core::{Access, Permission};
use paasportal_store::StoreError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::auth::stream::{StreamCredentials, TICKET_TTL, issue_ticket, stream_user};
use crate::authz;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query, unprocessable};
use crate::sse;
use crate::state::AppState;

/// Query parameters of the streams.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    pub token: Option<String>,
    pub ticket: Option<String>,
    /// For clients that cannot send the `Last-Event-ID` header.
    pub last_event_id: Option<String>,
}

/// `{ticket, expires_in}`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketOut {
    pub ticket: String,
    /// Seconds the ticket stays valid.
    pub expires_in: u64,
}

/// `POST /api/v1/events/ticket`: a single-use ticket to open the stream with `?ticket=`.
#[utoipa::path(
    post,
    path = "/api/v1/events/ticket",
    tag = "events",
    responses((status = 200, description = "Success", body = TicketOut)),
    security(("bearer" = []))
)]
pub async fn ticket(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<TicketOut>> {
    user.access(&state).await?;
    let ticket = issue_ticket(&state, user.user_id).await?;
    Ok(Json(TicketOut {
        ticket,
        expires_in: TICKET_TTL.as_secs(),
    }))
}

/// `GET /api/v1/events/stream`: every event the caller may see, live, resuming after
/// `Last-Event-ID` from the store.
#[utoipa::path(
    get,
    path = "/api/v1/events/stream",
    tag = "events",
    params(StreamQuery),
    responses((status = 200, description = "Server-Sent Events: `id:` (the sequence number), `event:`, `data:`; `: keepalive` comments", content((String = "text/event-stream")))),
    security(("bearer" = []))
)]
pub async fn stream(
    State(state): State<AppState>,
    Query(q): Query<StreamQuery>,
    headers: HeaderMap,
) -> ApiResult<Response<Body>> {
    let last = last_event_id(&q, &headers)?;
    let creds = StreamCredentials {
        token: q.token,
        ticket: q.ticket,
    };
    let user = stream_user(&state, &creds, &headers).await?;
    let hub = state.bus.hub().clone();
    hub.ready().await;
    let read_at = hub.head();
    let access = load_access(&state, user).await?;
    let mut filter = Filter {
        user_id: user,
        scope: access.view_scope(),
        deployment: None,
    };
    let sub = hub.subscribe(filter.clone(), read_at).await;
    if sub.access_stale {
        let access = load_access(&state, user).await?;
        sub.set_scope(&access);
        filter.scope = access.view_scope();
    }
    let last = resume_point(&state, last, sub.start).await?;
    tracing::debug!(user_id = %user, from = sub.start, resume = ?last, "event stream opened");
    Ok(sse::response(
        hub,
        sub,
        filter,
        last,
        state.config.sse_keepalive,
        None,
    ))
}

/// `GET /api/v1/deployments/{deployment_id}/logs/stream`: the deployment's log from the
/// start (or after `Last-Event-ID`), then live until the deployment ends.
#[utoipa::path(
    get,
    path = "/api/v1/deployments/{deployment_id}/logs/stream",
    tag = "events",
    params(("deployment_id" = Uuid, Path), StreamQuery),
    responses((status = 200, description = "Server-Sent Events: `id:` (the sequence number), `event:`, `data:`; `: keepalive` comments", content((String = "text/event-stream")))),
    security(("bearer" = []))
)]
pub async fn deployment_logs(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(q): Query<StreamQuery>,
    headers: HeaderMap,
) -> ApiResult<Response<Body>> {
    let last = last_event_id(&q, &headers)?;
    let creds = StreamCredentials {
        token: q.token,
        ticket: q.ticket,
    };
    let user = stream_user(&state, &creds, &headers).await?;
    let hub = state.bus.hub().clone();
    hub.ready().await;
    let read_at = hub.head();
    let access = load_access(&state, user).await?;
    authz::deployment(&state, &access, id, Permission::DeploymentsView).await?;
    let filter = Filter {
        user_id: user,
        scope: access.view_scope(),
        deployment: Some(id),
    };
    let sub = hub.subscribe(filter.clone(), read_at).await;
    if sub.access_stale {
        let access = load_access(&state, user).await?;
        authz::deployment(&state, &access, id, Permission::DeploymentsView).await?;
    }
    let last = resume_point(&state, last, sub.start).await?;
    Ok(sse::response(
        hub,
        sub,
        filter,
        last,
        state.config.sse_keepalive,
        Some((id, state.store.clone())),
    ))
}

async fn load_access(state: &AppState, user: Uuid) -> ApiResult<Access> {
    match state.store.load_access(user).await {
        Ok(a) => Ok(a),
        Err(StoreError::NotFound) => Err(ApiError::Unauthorized("user no longer exists".into())),
        Err(e) => Err(e.into()),
    }
}

/// Where a resuming stream starts: ids are positive, so anything below 1 means "from the
/// start" (0); an id beyond what was ever committed is taken as the last committed one
/// (the replica may lag behind the store, so only ids past the store's are cut).
async fn resume_point(state: &AppState, last: Option<i64>, start: i64) -> ApiResult<Option<i64>> {
    match last {
        Some(l) if l < 0 => Ok(Some(0)),
        Some(l) if l > start => Ok(Some(l.min(state.store.last_seq().await?))),
        other => Ok(other),
    }
}

/// The id to resume after: the `Last-Event-ID` header, else `?last_event_id=`.
fn last_event_id(q: &StreamQuery, headers: &HeaderMap) -> ApiResult<Option<i64>> {
    let raw = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| unprocessable("Last-Event-ID", "Last-Event-ID is not ASCII"))?
                .to_owned(),
        ),
        None => q.last_event_id.clone(),
    };
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
            unprocessable(
                "last_event_id",
                format!("Last-Event-ID must be an event id (an integer), got {s:?}"),
            )
        }),
    }
}
