//! Deployments: creation with per-environment versions, reads, and the context the stream needs.

use chrono::{DateTime, Utc};
use paasportal_core::{Deployment, DeploymentContext, DeploymentStatus, Trigger};
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::rows::parse;
use crate::{Store, with_db};

#[derive(sqlx::FromRow)]
pub(crate) struct DeploymentRow {
    id: Uuid,
    project_id: Uuid,
    environment_id: Uuid,
    vm_id: Option<Uuid>,
    version: i64,
    status: String,
    trigger: String,
    triggered_by: Option<Uuid>,
    git_commit: Option<String>,
    git_branch: Option<String>,
    git_message: Option<String>,
    committer_name: Option<String>,
    committer_email: Option<String>,
    commit_date: Option<DateTime<Utc>>,
    started_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    duration_seconds: Option<f64>,
    container_id: Option<String>,
    image_tag: Option<String>,
    error_message: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<DeploymentRow> for Deployment {
    type Error = StoreError;
    fn try_from(r: DeploymentRow) -> Result<Self> {
        Ok(Deployment {
            id: r.id,
            project_id: r.project_id,
            environment_id: r.environment_id,
            vm_id: r.vm_id,
            version: r.version,
            status: parse(&r.status)?,
            trigger: parse(&r.trigger)?,
            triggered_by: r.triggered_by,
            git_commit: r.git_commit,
            git_branch: r.git_branch,
            git_message: r.git_message,
            committer_name: r.committer_name,
            committer_email: r.committer_email,
            commit_date: r.commit_date,
            started_at: r.started_at,
            completed_at: r.completed_at,
            duration_seconds: r.duration_seconds,
            container_id: r.container_id,
            image_tag: r.image_tag,
            error_message: r.error_message,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Columns of a deployment row, for every query that returns deployments.
pub const DEPLOYMENT_COLUMNS: &str = "id, project_id, environment_id, vm_id, version, status, trigger, \
    triggered_by, git_commit, git_branch, git_message, committer_name, committer_email, commit_date, \
    started_at, completed_at, duration_seconds, container_id, image_tag, error_message, created_at, updated_at";

impl Store {
    /// Queues a deployment of an environment with the next version number. Fails with
    /// [`StoreError::ActiveDeployment`] while another one is pending or running.
    pub async fn create_deployment(
        &self,
        environment_id: Uuid,
        trigger: Trigger,
        triggered_by: Option<Uuid>,
    ) -> Result<Deployment> {
        let env = self.get_environment(environment_id).await?;
        if let Some(active) = self.active_deployment(environment_id).await? {
            return Err(StoreError::ActiveDeployment(active));
        }
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO deployments (id, project_id, environment_id, vm_id, version, status, trigger, \
             triggered_by, git_branch, progress_percent, created_at, updated_at) \
             SELECT $1, $2, $3, $4, COALESCE(MAX(version), 0) + 1, 'pending', $5, $6, $7, 0, $8, $8 \
             FROM deployments WHERE environment_id = $3 \
             RETURNING {DEPLOYMENT_COLUMNS}"
        ));
        let res: std::result::Result<DeploymentRow, sqlx::Error> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(Uuid::now_v7())
            .bind(env.project_id)
            .bind(env.id)
            .bind(env.server_id)
            .bind(trigger.as_str())
            .bind(triggered_by)
            .bind(&env.branch)
            .bind(Utc::now())
            .fetch_all(p)
            .await.and_then(crate::observe::one));
        match res.map_err(StoreError::classify) {
            Ok(row) => row.try_into(),
            Err(StoreError::Conflict(_)) => match self.active_deployment(environment_id).await? {
                Some(active) => Err(StoreError::ActiveDeployment(active)),
                None => Err(StoreError::Conflict(
                    "deployment version raced; retry".into(),
                )),
            },
            Err(e) => Err(e),
        }
    }

    /// The pending or running deployment of an environment, if any.
    pub async fn active_deployment(&self, environment_id: Uuid) -> Result<Option<Uuid>> {
        let sql = "SELECT id FROM deployments WHERE environment_id = $1 AND status IN ('pending', 'running')";
        Ok(
            with_db!(self.db(), p => sqlx::query_scalar(sql).bind(environment_id).fetch_optional(p).await)?,
        )
    }

    /// One deployment by id.
    pub async fn get_deployment(&self, id: Uuid) -> Result<Deployment> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {DEPLOYMENT_COLUMNS} FROM deployments WHERE id = $1"
        ));
        let row: Option<DeploymentRow> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// What the stream says about a deployment besides its log lines.
    pub async fn deployment_context(&self, id: Uuid) -> Result<DeploymentContext> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: Uuid,
            environment_id: Uuid,
            project_id: Uuid,
            organization_id: Uuid,
            project_name: String,
            environment_name: String,
            triggered_by: Option<Uuid>,
            branch: String,
        }
        let sql = "SELECT d.id, d.environment_id, d.project_id, p.organization_id, p.name AS project_name, \
                   e.name AS environment_name, d.triggered_by, COALESCE(d.git_branch, e.branch) AS branch \
                   FROM deployments d JOIN projects p ON p.id = d.project_id \
                   JOIN environments e ON e.id = d.environment_id WHERE d.id = $1";
        let r: Option<Row> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?;
        let r = r.ok_or(StoreError::NotFound)?;
        Ok(DeploymentContext {
            deployment_id: r.id,
            environment_id: r.environment_id,
            project_id: r.project_id,
            organization_id: r.organization_id,
            project_name: r.project_name,
            environment_name: r.environment_name,
            triggered_by: r.triggered_by,
            branch: r.branch,
        })
    }

    /// Marks a deployment finished with its final status, duration and error.
    pub async fn finish_deployment(
        &self,
        id: Uuid,
        status: DeploymentStatus,
        error_message: Option<&str>,
    ) -> Result<Deployment> {
        let now = Utc::now();
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE deployments SET status = $2, error_message = $3, completed_at = $4, \
             duration_seconds = $5, progress_percent = $6, \
             worker_id = NULL, lease_expires_at = NULL, updated_at = $4 \
             WHERE id = $1 RETURNING {DEPLOYMENT_COLUMNS}"
        ));
        let current = self.get_deployment(id).await?;
        let duration = current
            .started_at
            .map(|s| (now - s).num_microseconds().unwrap_or(0) as f64 / 1e6);
        let progress: i64 = if status == DeploymentStatus::Success {
            100
        } else {
            self.deployment_progress(id).await?
        };
        let row: Option<DeploymentRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(id)
            .bind(status.as_str())
            .bind(error_message)
            .bind(now)
            .bind(duration)
            .bind(progress)
            .fetch_all(p)
            .await.map(crate::observe::first))?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// The stored progress percent of a deployment.
    pub async fn deployment_progress(&self, id: Uuid) -> Result<i64> {
        let sql = "SELECT progress_percent FROM deployments WHERE id = $1";
        let v: Option<i64> =
            with_db!(self.db(), p => sqlx::query_scalar(sql).bind(id).fetch_optional(p).await)?;
        v.ok_or(StoreError::NotFound)
    }

    /// Marks a deployment running now (for tests and tools that drive deployments by hand).
    pub async fn start_deployment(&self, id: Uuid) -> Result<()> {
        let now = Utc::now();
        let sql = "UPDATE deployments SET status = 'running', started_at = $2, updated_at = $2 WHERE id = $1";
        let n = with_db!(self.db(), p => sqlx::query(sql).bind(id).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
