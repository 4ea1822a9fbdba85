//! Bulk import of finished deployments with their stage timings: history brought over
//! from another system, and the data set of `paasportal bench fill`. Log lines go
//! through the durable writer, like every other line.

use chrono::{DateTime, Utc};
use paasportal_core::{DeploymentStatus, StepStatus, Trigger};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::error::Result;
use crate::{Store, with_db};

/// A finished deployment to import, with its stages.
#[derive(Debug, Clone)]
pub struct ImportedDeployment {
    pub id: Uuid,
    pub project_id: Uuid,
    pub environment_id: Uuid,
    pub server_id: Option<Uuid>,
    /// Unique per environment.
    pub version: i64,
    /// A final status: success, failed or cancelled.
    pub status: DeploymentStatus,
    pub trigger: Trigger,
    pub triggered_by: Option<Uuid>,
    pub git_branch: String,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
    pub error_message: Option<String>,
    pub steps: Vec<ImportedStep>,
}

/// One stage of an imported deployment.
#[derive(Debug, Clone)]
pub struct ImportedStep {
    /// The stage id, e.g. `pulling_image`.
    pub step: &'static str,
    pub status: StepStatus,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
}

/// Deployments per INSERT statement (17 parameters each, well under both engines' limits).
const DEPLOYMENTS_PER_INSERT: usize = 500;
/// Stage rows per INSERT statement (6 parameters each).
const STEPS_PER_INSERT: usize = 1_000;

impl Store {
    /// Inserts finished deployments and their stages in one transaction.
    pub async fn import_deployments(&self, deployments: &[ImportedDeployment]) -> Result<()> {
        let steps: Vec<(Uuid, &ImportedStep)> = deployments
            .iter()
            .flat_map(|d| d.steps.iter().map(move |s| (d.id, s)))
            .collect();
        with_db!(self.db(), p => {
            let mut tx = p.begin().await?;
            for chunk in deployments.chunks(DEPLOYMENTS_PER_INSERT) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO deployments (id, project_id, environment_id, vm_id, version, status, \
                     trigger, triggered_by, git_branch, started_at, completed_at, duration_seconds, \
                     error_message, current_step, progress_percent, created_at, updated_at) ",
                );
                qb.push_values(chunk, |mut b, d| {
                    let duration = (d.completed_at - d.started_at).num_milliseconds() as f64 / 1000.0;
                    let progress: i64 = if d.status == DeploymentStatus::Success { 100 } else { 0 };
                    b.push_bind(d.id)
                        .push_bind(d.project_id)
                        .push_bind(d.environment_id)
                        .push_bind(d.server_id)
                        .push_bind(d.version)
                        .push_bind(d.status.as_str())
                        .push_bind(d.trigger.as_str())
                        .push_bind(d.triggered_by)
                        .push_bind(d.git_branch.as_str())
                        .push_bind(d.started_at)
                        .push_bind(d.completed_at)
                        .push_bind(duration)
                        .push_bind(d.error_message.as_deref())
                        .push_bind(d.steps.last().map(|s| s.step))
                        .push_bind(progress)
                        .push_bind(d.started_at)
                        .push_bind(d.completed_at);
                });
                qb.build().execute(&mut *tx).await?;
            }
            for chunk in steps.chunks(STEPS_PER_INSERT) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO deployment_steps (deployment_id, step, status, started_at, \
                     completed_at, duration_seconds) ",
                );
                qb.push_values(chunk, |mut b, (id, s)| {
                    let duration = (s.completed_at - s.started_at).num_milliseconds() as f64 / 1000.0;
                    b.push_bind(*id)
                        .push_bind(s.step)
                        .push_bind(s.status.as_str())
                        .push_bind(s.started_at)
                        .push_bind(s.completed_at)
                        .push_bind(duration);
                });
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Refreshes the query planner's statistics, after a bulk import.
    pub async fn analyze(&self) -> Result<()> {
        with_db!(self.db(), p => sqlx::query("ANALYZE").execute(p).await.map(drop))?;
        Ok(())
    }
}
