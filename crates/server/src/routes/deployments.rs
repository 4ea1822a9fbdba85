//! The spec's deployment endpoints: create, detail, logs, progress, list, latest, stats,
//! cancel; and trends beyond the spec.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use paasportal_core::deployment::{cancelled_before_start_message, canceller};
use paasportal_core::diagnostics::{ErrorCode, code_data};
use paasportal_core::stage::CATALOGUE;
use paasportal_core::{DeploymentStatus, LogLevel, NewLog, Permission, Stage, Trigger};
use paasportal_store::history::{CancelOutcome, DeploymentFilter, Visibility};
use paasportal_store::logs::{LogQuery, LogWindow};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::authz;
use crate::dto::deployment::{
    CreateDeployment, DeploymentListItem, DeploymentOut, LatestOut, ListQuery, LogOut, LogsOut,
    LogsQuery, MessageOut, ProgressOut, StageTrend, StatsOut, TrendsOut, TrendsQuery,
};
use crate::dto::paging::{paging, parse_opt};
use crate::dto::progress;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query, unprocessable};
use crate::state::AppState;

/// Lines per stage in the progress view (the newest ones).
const PROGRESS_LINES_PER_STEP: i64 = 100;
/// Longest accepted search text.
const MAX_QUERY_TEXT: usize = 200;

/// `POST /api/v1/deployments`: queues a deployment of an environment (202, `pending`).
#[utoipa::path(
    post,
    path = "/api/v1/deployments",
    tag = "deployments",
    request_body = CreateDeployment,
    responses((status = 202, description = "Success", body = DeploymentOut)),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<CreateDeployment>,
) -> ApiResult<(StatusCode, Json<DeploymentOut>)> {
    let access = user.access(&state).await?;
    authz::environment(
        &state,
        &access,
        req.environment_id,
        Permission::EnvironmentsDeploy,
    )
    .await?;
    let d = state
        .store
        .create_deployment(req.environment_id, Trigger::Manual, Some(user.user_id))
        .await?;
    tracing::info!(deployment_id = %d.id, environment_id = %d.environment_id, "deployment queued");
    Ok((StatusCode::ACCEPTED, Json(d.into())))
}

/// `GET /api/v1/deployments/{deployment_id}`: one deployment.
#[utoipa::path(
    get,
    path = "/api/v1/deployments/{deployment_id}",
    tag = "deployments",
    params(("deployment_id" = Uuid, Path)),
    responses((status = 200, description = "Success", body = DeploymentOut)),
    security(("bearer" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<DeploymentOut>> {
    let access = user.access(&state).await?;
    let (d, _) = authz::deployment(&state, &access, id, Permission::DeploymentsView).await?;
    Ok(Json(d.into()))
}

/// `GET /api/v1/deployments/{deployment_id}/logs`: a filtered page of the log.
#[utoipa::path(
    get,
    path = "/api/v1/deployments/{deployment_id}/logs",
    tag = "deployments",
    params(("deployment_id" = Uuid, Path), LogsQuery),
    responses((status = 200, description = "Success", body = LogsOut)),
    security(("bearer" = []))
)]
pub async fn logs(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    Query(q): Query<LogsQuery>,
) -> ApiResult<Json<LogsOut>> {
    let level = parse_opt::<LogLevel>("level", q.level.as_deref())?;
    let (skip, limit) = paging(q.skip, q.limit, 500, 5000)?;
    let text = match q.q {
        Some(t) if t.chars().count() > MAX_QUERY_TEXT => {
            return Err(unprocessable(
                "q",
                format!("q must be at most {MAX_QUERY_TEXT} characters"),
            ));
        }
        Some(t) if t.is_empty() => None,
        other => other,
    };
    let step = match q.step.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            s.parse::<Stage>()
                .map_err(|e| unprocessable("step", e.to_string()))?
                .id()
                .to_owned(),
        ),
    };
    let window = match (q.tail.unwrap_or(false), q.before_seq, q.after_seq) {
        (false, None, None) => LogWindow::Head,
        (true, None, None) => LogWindow::Tail,
        (false, Some(seq), None) => LogWindow::Before(seq),
        (false, None, Some(seq)) => LogWindow::After(seq),
        _ => {
            return Err(unprocessable(
                "before_seq",
                "use at most one of tail, before_seq and after_seq",
            ));
        }
    };
    let query = LogQuery {
        level,
        text,
        step,
        window,
        skip,
        limit,
    };
    let allowed = async {
        let access = user.access(&state).await?;
        authz::deployment(&state, &access, id, Permission::DeploymentsView).await
    };
    // The page is read while access is checked (one round trip less on the hottest read);
    // it leaves the server only once the check has passed.
    let (allowed, rows) = tokio::join!(allowed, state.store.list_logs(id, &query));
    allowed?;
    let rows = rows?;
    Ok(Json(LogsOut {
        deployment_id: id,
        logs: rows.into_iter().map(LogOut::from).collect(),
    }))
}

/// `GET /api/v1/deployments/{deployment_id}/progress`: every stage with status, timing and lines.
#[utoipa::path(
    get,
    path = "/api/v1/deployments/{deployment_id}/progress",
    tag = "deployments",
    params(("deployment_id" = Uuid, Path)),
    responses((status = 200, description = "Success", body = ProgressOut)),
    security(("bearer" = []))
)]
pub async fn progress(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<ProgressOut>> {
    let access = user.access(&state).await?;
    let (d, _) = authz::deployment(&state, &access, id, Permission::DeploymentsView).await?;
    let inputs = state
        .store
        .progress_inputs(id, PROGRESS_LINES_PER_STEP)
        .await?;
    Ok(Json(progress::build(&d, inputs)))
}

/// `GET /api/v1/deployments`: deployments the caller may list, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/deployments",
    tag = "deployments",
    params(ListQuery),
    responses((status = 200, description = "Success", body = Vec<DeploymentListItem>)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<DeploymentListItem>>> {
    let status = parse_opt::<DeploymentStatus>("status", q.status.as_deref())?;
    let (skip, limit) = paging(q.skip, q.limit, 50, 500)?;
    let access = user.access(&state).await?;
    if let Some(p) = q.project_id {
        authz::project(&state, &access, p, Permission::DeploymentsList).await?;
    }
    if let Some(e) = q.environment_id {
        authz::environment(&state, &access, e, Permission::DeploymentsList).await?;
    }
    let who = if access.portal_admin {
        Visibility::All
    } else {
        Visibility::User(user.user_id)
    };
    let rows = state
        .store
        .list_deployments(
            who,
            &DeploymentFilter {
                project_id: q.project_id,
                environment_id: q.environment_id,
                status,
                skip,
                limit,
            },
        )
        .await?;
    Ok(Json(
        rows.into_iter().map(DeploymentListItem::from).collect(),
    ))
}

/// `GET /api/v1/deployments/environment/{environment_id}/latest`: the newest deployment, if any.
#[utoipa::path(
    get,
    path = "/api/v1/deployments/environment/{environment_id}/latest",
    tag = "deployments",
    params(("environment_id" = Uuid, Path)),
    responses((status = 200, description = "Success", body = LatestOut)),
    security(("bearer" = []))
)]
pub async fn latest(
    State(state): State<AppState>,
    user: AuthUser,
    Path(environment_id): Path<Uuid>,
) -> ApiResult<Json<LatestOut>> {
    let access = user.access(&state).await?;
    authz::environment(&state, &access, environment_id, Permission::DeploymentsView).await?;
    let out = match state.store.latest_deployment(environment_id).await? {
        None => LatestOut {
            has_deployment: false,
            environment_id,
            deployment_id: None,
            status: None,
            version: None,
            started_at: None,
            completed_at: None,
            error_message: None,
        },
        Some(d) => LatestOut {
            has_deployment: true,
            environment_id,
            deployment_id: Some(d.id),
            status: Some(d.status),
            version: Some(d.version),
            started_at: Some(d.started_at),
            completed_at: Some(d.completed_at),
            error_message: Some(d.error_message),
        },
    };
    Ok(Json(out))
}

/// `GET /api/v1/deployments/project/{project_id}/stats`: counts per status and success rate.
#[utoipa::path(
    get,
    path = "/api/v1/deployments/project/{project_id}/stats",
    tag = "deployments",
    params(("project_id" = Uuid, Path)),
    responses((status = 200, description = "Success", body = StatsOut)),
    security(("bearer" = []))
)]
pub async fn stats(
    State(state): State<AppState>,
    user: AuthUser,
    Path(project_id): Path<Uuid>,
) -> ApiResult<Json<StatsOut>> {
    let access = user.access(&state).await?;
    authz::project(&state, &access, project_id, Permission::DeploymentsView).await?;
    let s = state.store.project_stats(project_id).await?;
    let success = s
        .by_status
        .iter()
        .find(|(st, _)| *st == DeploymentStatus::Success)
        .map(|(_, n)| *n)
        .unwrap_or(0);
    let status_counts: BTreeMap<String, i64> = s
        .by_status
        .iter()
        .map(|(st, n)| (st.as_str().to_owned(), *n))
        .collect();
    Ok(Json(StatsOut {
        project_id,
        total_deployments: s.total,
        status_counts,
        success_rate: rate(success, s.total),
    }))
}

/// Percentage with one decimal; 0 when there is nothing to count.
fn rate(part: i64, total: i64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / total as f64).round() / 10.0
    }
}

/// `GET /api/v1/deployments/project/{project_id}/trends?days=30`: durations and outcomes over a window.
#[utoipa::path(
    get,
    path = "/api/v1/deployments/project/{project_id}/trends",
    tag = "deployments",
    params(("project_id" = Uuid, Path), TrendsQuery),
    responses((status = 200, description = "Success", body = TrendsOut)),
    security(("bearer" = []))
)]
pub async fn trends(
    State(state): State<AppState>,
    user: AuthUser,
    Path(project_id): Path<Uuid>,
    Query(q): Query<TrendsQuery>,
) -> ApiResult<Json<TrendsOut>> {
    let days = q.days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(unprocessable("days", "days must be between 1 and 365"));
    }
    let access = user.access(&state).await?;
    authz::project(&state, &access, project_id, Permission::DeploymentsView).await?;
    let since = Utc::now() - chrono::Duration::days(days);
    let t = state.store.trend_inputs(project_id, since).await?;
    let round = |x: f64| (x * 10.0).round() / 10.0;
    let n = t.durations.len();
    let avg = (n > 0).then(|| round(t.durations.iter().sum::<f64>() / n as f64));
    let p95 = (n > 0).then(|| {
        let rank = ((0.95 * n as f64).ceil() as usize).clamp(1, n);
        round(t.durations[rank - 1])
    });
    let stages = CATALOGUE
        .iter()
        .filter_map(|i| {
            t.stages.get(i.id).map(|(avg, runs)| StageTrend {
                id: i.id.to_owned(),
                name: i.name.to_owned(),
                avg_duration_seconds: round(*avg),
                runs: *runs,
            })
        })
        .collect();
    Ok(Json(TrendsOut {
        project_id,
        days,
        total: t.total,
        successful: t.successful,
        failed: t.failed,
        cancelled: t.cancelled,
        avg_duration: avg,
        fastest: t.durations.first().copied().map(round),
        slowest: t.durations.last().copied().map(round),
        p95_duration: p95,
        stages,
    }))
}

/// `POST /api/v1/deployments/{deployment_id}/cancel`: cancels a pending deployment, or
/// asks the worker to stop a running one; 400 once finished.
#[utoipa::path(
    post,
    path = "/api/v1/deployments/{deployment_id}/cancel",
    tag = "deployments",
    params(("deployment_id" = Uuid, Path)),
    responses((status = 200, description = "Success", body = MessageOut)),
    security(("bearer" = []))
)]
pub async fn cancel(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<MessageOut>> {
    let access = user.access(&state).await?;
    authz::deployment(&state, &access, id, Permission::DeploymentsCancel).await?;
    match state.store.cancel_deployment(id, user.user_id).await? {
        CancelOutcome::Cancelled(_) => {
            tracing::info!(deployment_id = %id, "pending deployment cancelled");
            log_cancelled_before_start(&state, id, user.user_id).await;
        }
        CancelOutcome::Requested(_) => {
            tracing::info!(deployment_id = %id, "cancellation requested");
        }
        CancelOutcome::AlreadyFinished(status) => {
            return Err(ApiError::BadRequest(format!(
                "Cannot cancel deployment: it has already finished ({status})"
            )));
        }
    }
    Ok(Json(MessageOut {
        message: "Deployment cancelled".into(),
    }))
}

/// The one line of a deployment cancelled in the queue: no worker ever ran it, so this
/// says that it was cancelled and by whom (display name: viewers read it). The cancel is
/// already stored; a line that cannot be written is reported, not turned into an error.
async fn log_cancelled_before_start(state: &AppState, id: Uuid, by: Uuid) {
    let name = match state.store.get_user(by).await {
        Ok(u) => Some(u.name),
        Err(e) => {
            tracing::warn!(deployment_id = %id, error = %e, "canceller not found");
            None
        }
    };
    let who = canceller(name.as_deref());
    let mut line = NewLog::now(id, LogLevel::Warning, cancelled_before_start_message(&who));
    line.status = DeploymentStatus::Cancelled;
    line.data = code_data(
        ErrorCode::Cancelled,
        serde_json::json!({"cancelled_by": by, "cancelled_by_name": who, "cancelled_during": "pending"}),
    );
    let written = match state.writer.append(line).await {
        Ok(receipt) => receipt.await.map(|_| ()).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = written {
        tracing::warn!(deployment_id = %id, error = %e, "the cancel line was not written");
    }
}

#[cfg(test)]
mod tests {
    use super::rate;

    #[test]
    fn success_rate_matches_the_spec_example() {
        assert_eq!(rate(42, 47), 89.4);
        assert_eq!(rate(0, 0), 0.0);
        assert_eq!(rate(3, 3), 100.0);
    }
}
