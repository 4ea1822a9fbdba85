//! Stage states of a deployment (`deployment_steps`): pending → running → completed,
//! warning, failed or skipped, each with its start, end and duration. Starting and
//! ending a stage also moves the deployment's `current_step` and `progress_percent`, in
//! the same transaction.

use chrono::{DateTime, Utc};
use paasportal_core::{DeploymentStep, Stage, StepStatus};
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::rows::parse;
use crate::{Store, with_db};

#[derive(sqlx::FromRow)]
struct StepRow {
    deployment_id: Uuid,
    step: String,
    status: String,
    started_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    duration_seconds: Option<f64>,
}

impl TryFrom<StepRow> for DeploymentStep {
    type Error = StoreError;
    fn try_from(r: StepRow) -> Result<Self> {
        Ok(DeploymentStep {
            deployment_id: r.deployment_id,
            step: r.step,
            status: parse(&r.status)?,
            started_at: r.started_at,
            completed_at: r.completed_at,
            duration_seconds: r.duration_seconds,
        })
    }
}

/// One change of a stage's state.
#[derive(Debug, Clone, PartialEq)]
pub enum StepChange {
    /// The stage started at `at`; the deployment's progress is now `progress_percent`.
    Start {
        step: String,
        at: DateTime<Utc>,
        progress_percent: u8,
    },
    /// The stage ended with `status`.
    Finish {
        step: String,
        status: StepStatus,
        at: DateTime<Utc>,
        duration_seconds: f64,
        progress_percent: u8,
    },
}

impl StepChange {
    fn position(&self) -> (&str, DateTime<Utc>, u8) {
        match self {
            StepChange::Start {
                step,
                at,
                progress_percent,
            }
            | StepChange::Finish {
                step,
                at,
                progress_percent,
                ..
            } => (step, *at, *progress_percent),
        }
    }
}

const SET_PROGRESS: &str = "UPDATE deployments SET current_step = $2, progress_percent = $3, updated_at = $4 WHERE id = $1";

impl Store {
    /// Records every stage of `steps` as pending (stages already recorded are kept).
    pub async fn init_steps(&self, deployment_id: Uuid, steps: &[&str]) -> Result<()> {
        if steps.is_empty() {
            return Ok(());
        }
        let values: Vec<String> = (0..steps.len())
            .map(|i| format!("($1, ${}, 'pending')", i + 2))
            .collect();
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO deployment_steps (deployment_id, step, status) VALUES {} \
             ON CONFLICT (deployment_id, step) DO NOTHING",
            values.join(", ")
        ));
        with_db!(self.db(), p => {
            let mut q = sqlx::query(sql).bind(deployment_id);
            for s in steps {
                q = q.bind(*s);
            }
            q.execute(p).await.map(|_| ())
        })
        .map_err(StoreError::classify)
    }

    /// Marks `steps` skipped (stages the pipeline does not run), in one statement.
    pub async fn skip_steps(&self, deployment_id: Uuid, steps: &[&str]) -> Result<()> {
        if steps.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = (0..steps.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE deployment_steps SET status = 'skipped' WHERE deployment_id = $1 AND step IN ({})",
            list.join(", ")
        ));
        with_db!(self.db(), p => {
            let mut q = sqlx::query(sql).bind(deployment_id);
            for s in steps {
                q = q.bind(*s);
            }
            q.execute(p).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Marks a stage running from `at`, and makes it the deployment's current step.
    pub async fn start_step(
        &self,
        deployment_id: Uuid,
        step: &str,
        at: DateTime<Utc>,
        progress_percent: u8,
    ) -> Result<()> {
        self.record_steps(
            deployment_id,
            &[StepChange::Start {
                step: step.to_owned(),
                at,
                progress_percent,
            }],
        )
        .await
    }

    /// Ends a stage with `status` at `at`, after `duration_seconds`, and records the
    /// deployment's progress.
    pub async fn finish_step(
        &self,
        deployment_id: Uuid,
        step: &str,
        status: StepStatus,
        at: DateTime<Utc>,
        duration_seconds: f64,
        progress_percent: u8,
    ) -> Result<()> {
        self.record_steps(
            deployment_id,
            &[StepChange::Finish {
                step: step.to_owned(),
                status,
                at,
                duration_seconds,
                progress_percent,
            }],
        )
        .await
    }

    /// Applies stage changes in order, in one transaction, and leaves the deployment's
    /// `current_step` and `progress_percent` as the last change says.
    pub async fn record_steps(&self, deployment_id: Uuid, changes: &[StepChange]) -> Result<()> {
        let Some(last) = changes.last() else {
            return Ok(());
        };
        let start = "UPDATE deployment_steps SET status = 'running', started_at = $3, completed_at = NULL, \
                     duration_seconds = NULL WHERE deployment_id = $1 AND step = $2";
        let finish = "UPDATE deployment_steps SET status = $3, completed_at = $4, duration_seconds = $5, \
                      started_at = COALESCE(started_at, $4) WHERE deployment_id = $1 AND step = $2";
        let (last_step, last_at, last_progress) = last.position();
        with_db!(self.db(), p => {
            let mut tx = p.begin().await?;
            for change in changes {
                match change {
                    StepChange::Start { step, at, .. } => {
                        sqlx::query(start)
                            .bind(deployment_id)
                            .bind(step.as_str())
                            .bind(*at)
                            .execute(&mut *tx)
                            .await?;
                    }
                    StepChange::Finish { step, status, at, duration_seconds, .. } => {
                        sqlx::query(finish)
                            .bind(deployment_id)
                            .bind(step.as_str())
                            .bind(status.as_str())
                            .bind(*at)
                            .bind(*duration_seconds)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
            sqlx::query(SET_PROGRESS)
                .bind(deployment_id)
                .bind(last_step)
                .bind(i64::from(last_progress))
                .bind(last_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// Ends whatever stage is still running with `status` (a run that stopped abruptly),
    /// and marks every pending stage skipped. Returns how many stages changed.
    pub async fn close_open_steps(
        &self,
        deployment_id: Uuid,
        running_becomes: StepStatus,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let running = "UPDATE deployment_steps SET status = $2, completed_at = $3 \
                       WHERE deployment_id = $1 AND status = 'running'";
        let pending = "UPDATE deployment_steps SET status = 'skipped' \
                       WHERE deployment_id = $1 AND status = 'pending'";
        let n = with_db!(self.db(), p => {
            let mut tx = p.begin().await?;
            let a = sqlx::query(running)
                .bind(deployment_id)
                .bind(running_becomes.as_str())
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let b = sqlx::query(pending).bind(deployment_id).execute(&mut *tx).await?.rows_affected();
            tx.commit().await.map(|_| a + b)
        })?;
        Ok(n)
    }

    /// A deployment's stages in pipeline order (unknown step names last).
    pub async fn list_steps(&self, deployment_id: Uuid) -> Result<Vec<DeploymentStep>> {
        let sql = "SELECT deployment_id, step, status, started_at, completed_at, duration_seconds \
                   FROM deployment_steps WHERE deployment_id = $1";
        let rows: Vec<StepRow> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(deployment_id).fetch_all(p).await)?;
        let mut steps: Vec<DeploymentStep> = rows
            .into_iter()
            .map(DeploymentStep::try_from)
            .collect::<Result<_>>()?;
        steps.sort_by_key(|s| {
            (
                s.step
                    .parse::<Stage>()
                    .map(Stage::index)
                    .unwrap_or(usize::MAX),
                s.step.clone(),
            )
        });
        Ok(steps)
    }
}
