//! Building the progress view: every stage of the catalogue, its status, timing and lines.

use std::collections::HashMap;

use paasportal_core::stage::{CATALOGUE, progress_of_steps};
use paasportal_core::{Deployment, DeploymentStatus, DeploymentStep, StepStatus};
use paasportal_store::history::ProgressInputs;

use super::deployment::{ProgressOut, StepLog, StepOut};

/// The spec's progress response for `d`: all sixteen stages plus `completed`.
///
/// A stage's status comes from its `deployment_steps` row when the engine wrote one;
/// otherwise it is inferred from its lines: the last stage with lines is `running`
/// while the deployment runs (or `failed` if it failed), earlier ones `completed`.
pub fn build(d: &Deployment, inputs: ProgressInputs) -> ProgressOut {
    let rows: HashMap<&str, &DeploymentStep> =
        inputs.steps.iter().map(|s| (s.step.as_str(), s)).collect();
    let mut logs: HashMap<&str, Vec<StepLog>> = HashMap::new();
    for r in &inputs.logs {
        if let Some(step) = r.log.step.as_deref() {
            logs.entry(step).or_default().push(StepLog {
                message: r.log.message.clone(),
                timestamp: r.log.timestamp,
                level: r.log.level,
            });
        }
    }
    let last_with_logs = CATALOGUE
        .iter()
        .rposition(|i| logs.contains_key(i.id))
        .map(|i| CATALOGUE[i].id);
    let current = inputs.current_step.clone().or_else(|| {
        (d.status == DeploymentStatus::Running)
            .then(|| last_with_logs.map(str::to_owned))
            .flatten()
    });

    let mut steps = Vec::with_capacity(CATALOGUE.len());
    let mut statuses = Vec::with_capacity(CATALOGUE.len());
    for info in CATALOGUE.iter() {
        let step_logs = logs.remove(info.id).unwrap_or_default();
        let row = rows.get(info.id);
        let status = match row {
            Some(r) => r.status.as_str().to_owned(),
            None => inferred(
                d,
                info.id,
                !step_logs.is_empty(),
                last_with_logs,
                current.as_deref(),
            ),
        };
        if let Ok(st) = status.parse::<StepStatus>() {
            statuses.push((info.stage, st));
        }
        steps.push(StepOut {
            id: info.id.to_owned(),
            name: info.name.to_owned(),
            description: info.description.to_owned(),
            status,
            latest_message: step_logs.last().map(|l| l.message.clone()),
            logs: step_logs,
            started_at: row.and_then(|r| r.started_at),
            completed_at: row.and_then(|r| r.completed_at),
            duration_seconds: row.and_then(|r| r.duration_seconds),
        });
    }
    // Only stages the run reached count (a run that failed at its second stage is not at
    // 93 % because the runner closed the rest as skipped); the stored percent may be ahead
    // of the step rows, which are written off the run's critical path.
    let percent = if d.status == DeploymentStatus::Success {
        100
    } else {
        (inputs.progress_percent.clamp(0, 100) as u8).max(progress_of_steps(statuses))
    };
    ProgressOut {
        deployment_id: d.id,
        status: d.status,
        progress_percent: percent,
        steps,
        current_step: current,
        error_message: d.error_message.clone(),
        started_at: d.started_at,
        completed_at: d.completed_at,
        duration_seconds: d.duration_seconds,
    }
}

fn inferred(
    d: &Deployment,
    id: &str,
    has_logs: bool,
    last_with_logs: Option<&str>,
    current: Option<&str>,
) -> String {
    let s = if d.status == DeploymentStatus::Success && (has_logs || id == "completed") {
        "completed"
    } else if d.status == DeploymentStatus::Success {
        "skipped"
    } else if !has_logs {
        "pending"
    } else if d.status == DeploymentStatus::Running
        && (current == Some(id) || (current.is_none() && last_with_logs == Some(id)))
    {
        "running"
    } else if matches!(
        d.status,
        DeploymentStatus::Failed | DeploymentStatus::Cancelled
    ) && last_with_logs == Some(id)
    {
        "failed"
    } else {
        "completed"
    };
    s.to_owned()
}
