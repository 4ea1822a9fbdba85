//! Ending deployments whose worker is gone: their lease expired (PostgreSQL, noticed by
//! any worker), or the process that ran them ended (SQLite, noticed at the next start).
//! The deployment is failed with an error saying the worker was lost, its open stages
//! are closed, its environment leaves `deploying`, and the log says what happened.

use chrono::{DateTime, Utc};
use paasportal_core::diagnostics::{ErrorCode, code_data};
use paasportal_core::redact::Redactor;
use paasportal_core::{DeploymentStatus, EnvironmentStatus, LogLevel, Stage, StepStatus};
use paasportal_store::Result as StoreResult;
use serde_json::json;
use uuid::Uuid;

use crate::engine::Engine;
use crate::events;
use crate::logger::DeploymentLogger;

/// How the worker was found to be gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LostWorker {
    /// Its lease expired without a heartbeat.
    LeaseExpired,
    /// The process that ran it ended (found running at start-up on SQLite).
    ProcessEnded,
    /// Its run stopped on an internal error.
    RunError(String),
}

impl LostWorker {
    fn error_message(&self) -> String {
        match self {
            LostWorker::LeaseExpired => {
                "Worker lost: the worker running this deployment stopped sending heartbeats and its lease expired".into()
            }
            LostWorker::ProcessEnded => {
                "Worker lost: the paasportal process running this deployment ended before it finished".into()
            }
            LostWorker::RunError(e) => format!("Worker lost: the deployment's run stopped on an internal error: {e}"),
        }
    }
}

/// Fails `id` as lost (with `expired_before`, only if its lease ended before then).
/// Returns whether this call failed it.
pub async fn fail_lost(
    engine: &Engine,
    id: Uuid,
    why: LostWorker,
    expired_before: Option<DateTime<Utc>>,
) -> StoreResult<bool> {
    let store = &engine.store;
    let message = why.error_message();
    if store
        .fail_lost_deployment(id, &message, expired_before)
        .await?
        .is_none()
    {
        return Ok(false);
    }
    let now = Utc::now();
    let step = store
        .list_steps(id)
        .await?
        .into_iter()
        .filter(|s| s.status == StepStatus::Running)
        .filter_map(|s| s.step.parse::<Stage>().ok())
        .next_back();
    store.close_open_steps(id, StepStatus::Failed, now).await?;
    let ctx = store.deployment_context(id).await?;
    if store
        .transition_environment(
            ctx.environment_id,
            EnvironmentStatus::Deploying,
            EnvironmentStatus::Failed,
        )
        .await?
    {
        events::environment_status(&engine.writer, &ctx, EnvironmentStatus::Failed).await;
    }
    let logger = DeploymentLogger::new(id, engine.writer.clone(), Redactor::new());
    logger.set_status(DeploymentStatus::Failed);
    logger.set_progress(store.deployment_progress(id).await?.clamp(0, 100) as u8);
    logger
        .log(
            LogLevel::Error,
            step,
            &message,
            code_data(
                ErrorCode::WorkerLost,
                json!({"error_message": message, "stopped_during": step.map(Stage::id)}),
            ),
        )
        .await;
    logger.flush().await;
    tracing::warn!(deployment_id = %id, reason = ?why, "failed a deployment whose worker was lost");
    Ok(true)
}

/// Fails every running deployment whose lease ended before now. Returns how many.
pub async fn reap_expired(engine: &Engine) -> StoreResult<usize> {
    let now = Utc::now();
    let mut n = 0;
    for id in engine.store.expired_leases(now).await? {
        if fail_lost(engine, id, LostWorker::LeaseExpired, Some(now)).await? {
            n += 1;
        }
    }
    Ok(n)
}
