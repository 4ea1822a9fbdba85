//! Runs one claimed deployment through its pipeline.
//!
//! Each stage moves pending → running → completed / warning / failed / skipped with its
//! timings; it runs under its timeout and the deployment's cancel token. A fatal failure
//! ends the run (`failed`, environment `failed`); a non-fatal one is a WARNING and the run
//! goes on. A cancel kills the command in flight, ends the run `cancelled`, names who
//! cancelled it, and leaves the environment honest: back to its previous status if
//! nothing on the server had changed yet, else `failed`. Every final write is conditional
//! on still holding the deployment, so a worker that lost its lease changes nothing.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;
use paasportal_core::deployment::{cancelled_message, canceller, format_total};
use paasportal_core::diagnostics::{ErrorCode, Problem, code_data};
use paasportal_core::redact::{MIN_SECRET_LEN, Redactor};
use paasportal_core::stage::{CATALOGUE, progress_at, progress_percent};
use paasportal_core::summary::{MAX_SUMMARY, one_line};
use paasportal_core::{
    Deployment, DeploymentStatus, EnvironmentStatus, LogLevel, Stage, StepStatus,
};
use paasportal_store::{Result as StoreResult, StoreError};
use serde_json::{Value, json};

use crate::context::{RunState, StageContext};
use crate::control::{RunControl, StopReason};
use crate::engine::Engine;
use crate::events;
use crate::logger::DeploymentLogger;
use crate::stage::{OutcomeKind, StageError, StageHandler, with_duration};
use crate::steps::StepRecorder;
use crate::vars::Vars;

/// How long a stopped stage may take to kill its command and return before it is dropped.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// What a run did, for the worker and the benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    pub deployment_id: uuid::Uuid,
    /// The final status, or `None` when this worker no longer held the deployment.
    pub status: Option<DeploymentStatus>,
    /// Wall time of the run.
    pub wall: Duration,
    /// Time spent inside commands on the server.
    pub remote: Duration,
    /// Time stages spent waiting on purpose (readiness polls, the health check's wait).
    pub waited: Duration,
    /// Commands run.
    pub commands: usize,
}

enum StageEnd {
    Done,
    Failed(StageError),
    Stopped,
}

/// Runs `deployment` (already claimed by `worker_id`) to its end. Store errors are
/// returned; the deployment then stays `running` until its lease expires and it is
/// failed as lost, so it can never stay `running` forever.
pub async fn run(
    engine: &Engine,
    worker_id: &str,
    deployment: Deployment,
    control: RunControl,
) -> StoreResult<RunReport> {
    let started = Instant::now();
    let id = deployment.id;
    let store = &engine.store;
    let environment = store.get_environment(deployment.environment_id).await?;
    let project = store.get_project(deployment.project_id).await?;
    let server = store.get_server(environment.server_id).await?;
    let context = store.deployment_context(id).await?;
    let logger = DeploymentLogger::new(id, engine.writer.clone(), Redactor::new());
    let steps = StepRecorder::start(store.clone(), id);
    let state = RunState {
        engine: engine.clone(),
        deployment,
        environment,
        project,
        server,
        context,
        logger,
        steps,
        control,
        transport: Mutex::new(None),
        vars: Vars::default(),
        remote: Mutex::new(Duration::ZERO),
        waited: Mutex::new(Duration::ZERO),
        commands: Default::default(),
    };
    let result = drive(&state, worker_id, started).await;
    let transport = state
        .transport
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    if let Some(t) = transport {
        t.close().await;
    }
    state.logger.flush().await;
    let status = result?;
    Ok(RunReport {
        deployment_id: id,
        status,
        wall: started.elapsed(),
        remote: *state.remote.lock().unwrap_or_else(|p| p.into_inner()),
        waited: *state.waited.lock().unwrap_or_else(|p| p.into_inner()),
        commands: state.commands.load(Ordering::Relaxed),
    })
}

async fn drive(
    state: &RunState,
    worker_id: &str,
    started: Instant,
) -> StoreResult<Option<DeploymentStatus>> {
    let store = &state.engine.store;
    let id = state.deployment.id;
    let pipeline = state.engine.pipeline.clone();
    let ids: Vec<&str> = CATALOGUE.iter().map(|i| i.id).collect();
    store.init_steps(id, &ids).await?;
    let absent: Vec<&str> = CATALOGUE
        .iter()
        .filter(|i| pipeline.handler(i.stage).is_none())
        .map(|i| i.id)
        .collect();
    store.skip_steps(id, &absent).await?;

    let previous = state.environment.status;
    store
        .set_environment_status(state.environment.id, EnvironmentStatus::Deploying)
        .await?;
    events::environment_status(
        &state.engine.writer,
        &state.context,
        EnvironmentStatus::Deploying,
    )
    .await;

    let mut altered = false;
    let mut last = Stage::Initializing;
    let mut interrupted = false;
    let mut failure: Option<(Stage, StageError)> = None;
    for (stage, handler) in pipeline.stages() {
        if state.control.reason().is_some() {
            interrupted = true;
            break;
        }
        last = stage;
        if stage != Stage::Completed {
            altered |= handler.alters_environment();
        }
        match run_stage(state, stage, handler.as_ref()).await? {
            StageEnd::Done => {}
            StageEnd::Failed(e) => {
                failure = Some((stage, e));
                break;
            }
            StageEnd::Stopped => {
                interrupted = true;
                break;
            }
        }
    }

    state.steps.flush().await?;
    let total = started.elapsed().as_secs_f64();
    // A stop that came after the last stage changes nothing: the deployment completed.
    // (A lost lease still writes nothing: every final write needs the lease.)
    if let (true, Some(reason)) = (interrupted, state.control.reason()) {
        return stopped(state, worker_id, reason, last, previous, altered, total).await;
    }
    if let Some((stage, error)) = failure {
        return failed(state, worker_id, stage, error, total).await;
    }
    succeeded(state, worker_id, total).await
}

/// Runs one stage under its timeout and the cancel token, and records how it ended.
async fn run_stage(
    state: &RunState,
    stage: Stage,
    handler: &dyn StageHandler,
) -> StoreResult<StageEnd> {
    let timeout = state.engine.config.stage_timeout(stage);
    let begin = Instant::now();
    let at_start = progress_at(stage);
    state.steps.started(stage, Utc::now(), at_start);
    state.logger.set_progress(at_start);

    let cx = StageContext::new(state, stage, begin, timeout);
    let fut = handler.run(&cx);
    tokio::pin!(fut);
    let result = tokio::select! {
        r = tokio::time::timeout(timeout, &mut fut) => match r {
            Ok(r) => r,
            Err(_) => Err(stage_timeout(state, stage, timeout)),
        },
        _ = state.control.token().cancelled() => {
            // Let the stage kill its command and return; drop it if it does not in time.
            let _ = tokio::time::timeout(STOP_GRACE, &mut fut).await;
            Err(StageError::stopped())
        }
    };
    let secs = begin.elapsed().as_secs_f64();
    let refused = state.logger.redactor().take_refused();
    if refused > 0 {
        state
            .logger
            .log(
                LogLevel::Warning,
                Some(stage),
                &format!(
                    "{refused} credential(s) used by this stage are shorter than {MIN_SECRET_LEN} characters: \
                     they cannot be masked in this log without masking ordinary text, so they may appear in it; \
                     use longer credentials"
                ),
                json!({"short_credentials": refused, "min_length": MIN_SECRET_LEN}),
            )
            .await;
    }
    let done = if stage == Stage::Completed {
        100
    } else {
        progress_percent(stage.index() + 1)
    };
    let now = Utc::now();
    match result {
        Ok(outcome) => {
            let status = match outcome.kind {
                OutcomeKind::Completed => StepStatus::Completed,
                OutcomeKind::Warning => StepStatus::Warning,
                OutcomeKind::Skipped => StepStatus::Skipped,
            };
            state.steps.finished(stage, status, now, secs, done);
            state.logger.set_progress(done);
            if !outcome.message.is_empty() {
                state
                    .logger
                    .log(
                        outcome.level,
                        Some(stage),
                        &with_duration(&outcome.message, secs),
                        with_seconds(outcome.data, secs),
                    )
                    .await;
            }
            Ok(StageEnd::Done)
        }
        Err(_) if state.control.reason().is_some() => {
            state
                .steps
                .finished(stage, StepStatus::Failed, now, secs, at_start);
            Ok(StageEnd::Stopped)
        }
        Err(e) if !stage.is_fatal() => {
            let e = summarised(state, e);
            state
                .steps
                .finished(stage, StepStatus::Warning, now, secs, done);
            state.logger.set_progress(done);
            state
                .logger
                .log(
                    LogLevel::Warning,
                    Some(stage),
                    &with_duration(&e.message, secs),
                    with_seconds(e.data, secs),
                )
                .await;
            Ok(StageEnd::Done)
        }
        Err(mut e) => {
            state
                .steps
                .finished(stage, StepStatus::Failed, now, secs, at_start);
            e.message = e.message.replacen("{duration}", &format!("{secs:.1}s"), 1);
            let e = summarised(state, e);
            state
                .logger
                .log(
                    LogLevel::Error,
                    Some(stage),
                    &e.message,
                    with_seconds(e.data.clone(), secs),
                )
                .await;
            Ok(StageEnd::Failed(e))
        }
    }
}

/// The error with its message as one redacted line of at most [`MAX_SUMMARY`]
/// characters (what `error_message` shows); a longer or multi-line message moves whole
/// into `data.error_detail`. Redacted before it is cut, so no cut can split a secret.
fn summarised(state: &RunState, mut e: StageError) -> StageError {
    let full = state.logger.redactor().redact(&e.message);
    let line = one_line(&full, MAX_SUMMARY);
    if line != full {
        e.data = match e.data {
            Value::Object(mut m) => {
                m.entry("error_detail").or_insert(json!(full));
                Value::Object(m)
            }
            Value::Null => json!({"error_detail": full}),
            other => json!({"details": other, "error_detail": full}),
        };
    }
    e.message = line;
    e
}

fn with_seconds(data: Value, secs: f64) -> Value {
    let secs = (secs * 1000.0).round() / 1000.0;
    match data {
        Value::Null => json!({"duration_seconds": secs}),
        Value::Object(mut m) => {
            m.entry("duration_seconds").or_insert(json!(secs));
            Value::Object(m)
        }
        other => json!({"details": other, "duration_seconds": secs}),
    }
}

fn stage_timeout(state: &RunState, stage: Stage, timeout: Duration) -> StageError {
    StageError::problem(
        format!(
            "{} timed out after {:.1}s",
            stage.name(),
            timeout.as_secs_f64()
        ),
        Problem::ProgressStuck,
        ErrorCode::StageTimeout,
        json!({
            "timeout_seconds": timeout.as_secs_f64(),
            "env_uuid": state.environment.id,
            "deployment_id": state.deployment.id,
        }),
    )
}

async fn succeeded(
    state: &RunState,
    worker_id: &str,
    total: f64,
) -> StoreResult<Option<DeploymentStatus>> {
    let store = &state.engine.store;
    let done = store
        .finish_claimed(
            state.deployment.id,
            worker_id,
            DeploymentStatus::Success,
            None,
            100,
        )
        .await?;
    if done.is_none() {
        return lost(state);
    }
    set_environment(state, EnvironmentStatus::Running).await?;
    let log = &state.logger;
    log.set_status(DeploymentStatus::Success);
    log.set_progress(100);
    let total = format_total(total);
    log.log(
        LogLevel::Info,
        Some(Stage::Completed),
        &format!("Deployment completed successfully! Total time: {total}"),
        Value::Null,
    )
    .await;
    Ok(Some(DeploymentStatus::Success))
}

async fn failed(
    state: &RunState,
    worker_id: &str,
    stage: Stage,
    error: StageError,
    total: f64,
) -> StoreResult<Option<DeploymentStatus>> {
    let store = &state.engine.store;
    let id = state.deployment.id;
    store
        .close_open_steps(id, StepStatus::Failed, Utc::now())
        .await?;
    let message = one_line(&state.logger.redactor().redact(&error.message), MAX_SUMMARY);
    let progress = state.logger.progress();
    let done = store
        .finish_claimed(
            id,
            worker_id,
            DeploymentStatus::Failed,
            Some(&message),
            progress,
        )
        .await?;
    if done.is_none() {
        return lost(state);
    }
    set_environment(state, EnvironmentStatus::Failed).await?;
    state.logger.set_status(DeploymentStatus::Failed);
    state
        .logger
        .log(
            LogLevel::Error,
            Some(stage),
            &format!("Deployment failed! Total time: {}", format_total(total)),
            json!({
                "error_message": message,
                "failed_step": stage.id(),
                "error_code": error.code(),
            }),
        )
        .await;
    Ok(Some(DeploymentStatus::Failed))
}

async fn stopped(
    state: &RunState,
    worker_id: &str,
    reason: StopReason,
    stage: Stage,
    previous: EnvironmentStatus,
    altered: bool,
    total: f64,
) -> StoreResult<Option<DeploymentStatus>> {
    let store = &state.engine.store;
    let id = state.deployment.id;
    let (status, message, data) = match &reason {
        StopReason::LeaseLost => return lost(state),
        StopReason::Cancelled { by } => {
            // By display name: every viewer of the project reads this line.
            let name = match by {
                Some(user) => match store.get_user(*user).await {
                    Ok(u) => Some(u.name),
                    Err(StoreError::NotFound) => Some("a deleted user".to_owned()),
                    Err(e) => return Err(e),
                },
                None => None,
            };
            let who = canceller(name.as_deref());
            (
                DeploymentStatus::Cancelled,
                cancelled_message(&who),
                code_data(
                    ErrorCode::Cancelled,
                    json!({"cancelled_by": by, "cancelled_by_name": who, "cancelled_during": stage.id()}),
                ),
            )
        }
        StopReason::Shutdown => (
            DeploymentStatus::Failed,
            "Deployment stopped: the worker shut down before it finished".to_owned(),
            code_data(
                ErrorCode::WorkerShutdown,
                json!({"stopped_during": stage.id()}),
            ),
        ),
    };
    store
        .close_open_steps(id, StepStatus::Failed, Utc::now())
        .await?;
    let progress = state.logger.progress();
    let done = store
        .finish_claimed(id, worker_id, status, Some(&message), progress)
        .await?;
    if done.is_none() {
        return lost(state);
    }
    let env_status = if altered || previous == EnvironmentStatus::Deploying {
        EnvironmentStatus::Failed
    } else {
        previous
    };
    set_environment(state, env_status).await?;
    let log = &state.logger;
    log.set_status(status);
    log.log(
        LogLevel::Warning,
        Some(stage),
        &format!("{message} ({:.1}s)", total),
        data,
    )
    .await;
    let env_line = if env_status == EnvironmentStatus::Failed && altered {
        "Environment marked failed: the deployment was stopped after it began changing the server"
            .to_owned()
    } else if env_status == EnvironmentStatus::Failed {
        "Environment marked failed".to_owned()
    } else {
        format!(
            "Environment status restored to {env_status}: nothing on the server had changed yet"
        )
    };
    log.log(
        LogLevel::Info,
        Some(stage),
        &env_line,
        json!({"environment_status": env_status}),
    )
    .await;
    Ok(Some(status))
}

/// This worker no longer holds the deployment: another one failed it as lost.
fn lost(state: &RunState) -> StoreResult<Option<DeploymentStatus>> {
    tracing::warn!(
        deployment_id = %state.deployment.id,
        "lost the deployment's lease (another worker failed it); stopping without writing"
    );
    Ok(None)
}

async fn set_environment(state: &RunState, status: EnvironmentStatus) -> StoreResult<()> {
    let moved = state
        .engine
        .store
        .transition_environment(state.environment.id, EnvironmentStatus::Deploying, status)
        .await?;
    if moved {
        events::environment_status(&state.engine.writer, &state.context, status).await;
    }
    Ok(())
}
