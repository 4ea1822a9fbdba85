//! Deployment history for the API: filtered lists, the latest per environment, progress
//! inputs, statistics, trends, cancellation and keyset pages for export.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use paasportal_core::{Deployment, DeploymentStatus, DeploymentStep, LogRecord};
use uuid::Uuid;

use crate::deployments::{DEPLOYMENT_COLUMNS, DeploymentRow};
use crate::error::{Result, StoreError};
use crate::logs::{LOG_COLUMNS, LogRow};
use crate::rows::parse;
use crate::{Store, with_db};

/// Whose deployments a list may show.
#[derive(Debug, Clone, Copy)]
pub enum Visibility {
    /// Every deployment (portal admins).
    All,
    /// Deployments of projects the user is a member of, or of organizations they own or administer.
    User(Uuid),
}

/// Filters and paging of the deployment list.
#[derive(Debug, Clone)]
pub struct DeploymentFilter {
    pub project_id: Option<Uuid>,
    pub environment_id: Option<Uuid>,
    pub status: Option<DeploymentStatus>,
    pub skip: i64,
    pub limit: i64,
}

/// What the progress view needs besides the catalogue.
#[derive(Debug, Clone)]
pub struct ProgressInputs {
    pub current_step: Option<String>,
    pub progress_percent: i64,
    pub steps: Vec<DeploymentStep>,
    /// The newest lines of each step (at most the limit asked for), oldest first.
    pub logs: Vec<LogRecord>,
}

/// Counts per status for one project.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectStats {
    pub total: i64,
    pub by_status: Vec<(DeploymentStatus, i64)>,
}

/// Durations of a project's recent deployments and of their stages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrendInputs {
    /// Durations of finished deployments with a duration, in seconds, ascending.
    pub durations: Vec<f64>,
    pub successful: i64,
    pub failed: i64,
    pub cancelled: i64,
    pub total: i64,
    /// Per stage id: (average duration in seconds, how many runs).
    pub stages: HashMap<String, (f64, i64)>,
}

/// What a cancellation did.
#[derive(Debug, Clone, PartialEq)]
pub enum CancelOutcome {
    /// It was pending and is now cancelled.
    Cancelled(Deployment),
    /// It is running; the worker was asked to stop.
    Requested(Deployment),
    /// It had already finished with this status.
    AlreadyFinished(DeploymentStatus),
}

const VISIBLE: &str = "(d.project_id IN (SELECT project_id FROM project_members WHERE user_id = $1) \
     OR d.project_id IN (SELECT p.id FROM projects p JOIN organization_members om \
     ON om.organization_id = p.organization_id WHERE om.user_id = $1 AND om.role IN ('owner', 'admin')))";

fn prefixed_columns() -> String {
    DEPLOYMENT_COLUMNS
        .split(", ")
        .map(|c| format!("d.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// A page of deployments, newest first, limited to what `who` may see.
    pub async fn list_deployments(
        &self,
        who: Visibility,
        f: &DeploymentFilter,
    ) -> Result<Vec<Deployment>> {
        let mut sql = format!("SELECT {} FROM deployments d WHERE ", prefixed_columns());
        let mut n = 1;
        match who {
            Visibility::All => sql.push_str("$1 IS NULL"),
            Visibility::User(_) => sql.push_str(VISIBLE),
        }
        if f.project_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND d.project_id = ${n}"));
        }
        if f.environment_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND d.environment_id = ${n}"));
        }
        if f.status.is_some() {
            n += 1;
            sql.push_str(&format!(" AND d.status = ${n}"));
        }
        sql.push_str(&format!(
            " ORDER BY d.created_at DESC, d.id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ));
        let user = match who {
            Visibility::All => None,
            Visibility::User(u) => Some(u),
        };
        let rows: Vec<DeploymentRow> = with_db!(self.db(), p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(user);
            if let Some(v) = f.project_id { q = q.bind(v); }
            if let Some(v) = f.environment_id { q = q.bind(v); }
            if let Some(v) = f.status { q = q.bind(v.as_str()); }
            q.bind(f.limit).bind(f.skip).fetch_all(p).await
        })?;
        rows.into_iter().map(Deployment::try_from).collect()
    }

    /// The newest deployment of an environment, if any.
    pub async fn latest_deployment(&self, environment_id: Uuid) -> Result<Option<Deployment>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {DEPLOYMENT_COLUMNS} FROM deployments WHERE environment_id = $1 \
             ORDER BY version DESC LIMIT 1"
        ));
        let row: Option<DeploymentRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(environment_id)
            .fetch_optional(p)
            .await)?;
        row.map(Deployment::try_from).transpose()
    }

    /// Step rows, the current step, the stored percent and the newest `per_step` lines of each step.
    pub async fn progress_inputs(
        &self,
        deployment_id: Uuid,
        per_step: i64,
    ) -> Result<ProgressInputs> {
        #[derive(sqlx::FromRow)]
        struct Head {
            current_step: Option<String>,
            progress_percent: i64,
        }
        #[derive(sqlx::FromRow)]
        struct StepRow {
            step: String,
            status: String,
            started_at: Option<DateTime<Utc>>,
            completed_at: Option<DateTime<Utc>>,
            duration_seconds: Option<f64>,
        }
        let head_sql = "SELECT current_step, progress_percent FROM deployments WHERE id = $1";
        let head: Option<Head> = with_db!(self.db(), p => sqlx::query_as(head_sql)
            .bind(deployment_id)
            .fetch_optional(p)
            .await)?;
        let head = head.ok_or(StoreError::NotFound)?;
        let steps_sql = "SELECT step, status, started_at, completed_at, duration_seconds \
                         FROM deployment_steps WHERE deployment_id = $1";
        let steps: Vec<StepRow> = with_db!(self.db(), p => sqlx::query_as(steps_sql)
            .bind(deployment_id)
            .fetch_all(p)
            .await)?;
        let logs_sql = sqlx::AssertSqlSafe(format!(
            "SELECT {LOG_COLUMNS} FROM (SELECT {LOG_COLUMNS}, ROW_NUMBER() OVER \
             (PARTITION BY step ORDER BY timestamp DESC, seq DESC) AS rn \
             FROM deployment_logs WHERE deployment_id = $1) AS ranked \
             WHERE rn <= $2 ORDER BY timestamp, seq"
        ));
        let logs: Vec<LogRow> = with_db!(self.db(), p => sqlx::query_as(logs_sql)
            .bind(deployment_id)
            .bind(per_step)
            .fetch_all(p)
            .await)?;
        Ok(ProgressInputs {
            current_step: head.current_step,
            progress_percent: head.progress_percent,
            steps: steps
                .into_iter()
                .map(|s| {
                    Ok(DeploymentStep {
                        deployment_id,
                        status: parse(&s.status)?,
                        step: s.step,
                        started_at: s.started_at,
                        completed_at: s.completed_at,
                        duration_seconds: s.duration_seconds,
                    })
                })
                .collect::<Result<_>>()?,
            logs: logs
                .into_iter()
                .map(LogRecord::try_from)
                .collect::<Result<_>>()?,
        })
    }

    /// How many deployments a project has, per status.
    pub async fn project_stats(&self, project_id: Uuid) -> Result<ProjectStats> {
        let sql = "SELECT status, COUNT(*) FROM deployments WHERE project_id = $1 GROUP BY status";
        let rows: Vec<(String, i64)> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(project_id).fetch_all(p).await)?;
        let mut stats = ProjectStats::default();
        for (status, n) in rows {
            stats.total += n;
            stats.by_status.push((parse(&status)?, n));
        }
        stats
            .by_status
            .sort_by_key(|(s, _)| DeploymentStatus::ALL.iter().position(|x| x == s));
        Ok(stats)
    }

    /// Durations, outcomes and per-stage averages of a project's deployments created since `since`.
    pub async fn trend_inputs(
        &self,
        project_id: Uuid,
        since: DateTime<Utc>,
    ) -> Result<TrendInputs> {
        let sql = "SELECT status, duration_seconds FROM deployments \
                   WHERE project_id = $1 AND created_at > $2";
        let rows: Vec<(String, Option<f64>)> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(project_id)
            .bind(since)
            .fetch_all(p)
            .await)?;
        let mut t = TrendInputs::default();
        for (status, duration) in rows {
            t.total += 1;
            match parse::<DeploymentStatus>(&status)? {
                DeploymentStatus::Success => t.successful += 1,
                DeploymentStatus::Failed => t.failed += 1,
                DeploymentStatus::Cancelled => t.cancelled += 1,
                _ => continue,
            }
            if let Some(d) = duration {
                t.durations.push(d);
            }
        }
        t.durations.sort_by(f64::total_cmp);
        let stage_sql = "SELECT s.step, AVG(s.duration_seconds), COUNT(s.duration_seconds) \
                         FROM deployment_steps s JOIN deployments d ON d.id = s.deployment_id \
                         WHERE d.project_id = $1 AND d.created_at > $2 AND s.duration_seconds IS NOT NULL \
                         GROUP BY s.step";
        let stages: Vec<(String, Option<f64>, i64)> = with_db!(self.db(), p => sqlx::query_as(stage_sql)
            .bind(project_id)
            .bind(since)
            .fetch_all(p)
            .await)?;
        t.stages = stages
            .into_iter()
            .filter_map(|(s, avg, n)| avg.map(|a| (s, (a, n))))
            .collect();
        Ok(t)
    }

    /// Cancels a pending deployment at once, or asks the worker to stop a running one.
    pub async fn cancel_deployment(&self, id: Uuid, by: Uuid) -> Result<CancelOutcome> {
        let now = Utc::now();
        let pending_sql = sqlx::AssertSqlSafe(format!(
            "UPDATE deployments SET status = 'cancelled', cancel_requested_at = $2, cancelled_by = $3, \
             completed_at = $2, error_message = 'Cancelled by user', worker_id = NULL, \
             lease_expires_at = NULL, updated_at = $2 \
             WHERE id = $1 AND status = 'pending' RETURNING {DEPLOYMENT_COLUMNS}"
        ));
        let row: Option<DeploymentRow> = with_db!(self.db(), p => sqlx::query_as(pending_sql)
            .bind(id)
            .bind(now)
            .bind(by)
            .fetch_all(p)
            .await.map(crate::observe::first))?;
        if let Some(r) = row {
            return Ok(CancelOutcome::Cancelled(r.try_into()?));
        }
        let running_sql = sqlx::AssertSqlSafe(format!(
            "UPDATE deployments SET cancel_requested_at = COALESCE(cancel_requested_at, $2), \
             cancelled_by = COALESCE(cancelled_by, $3), updated_at = $2 \
             WHERE id = $1 AND status = 'running' RETURNING {DEPLOYMENT_COLUMNS}"
        ));
        let row: Option<DeploymentRow> = with_db!(self.db(), p => sqlx::query_as(running_sql)
            .bind(id)
            .bind(now)
            .bind(by)
            .fetch_all(p)
            .await.map(crate::observe::first))?;
        if let Some(r) = row {
            return Ok(CancelOutcome::Requested(r.try_into()?));
        }
        let current = self.get_deployment(id).await?;
        Ok(CancelOutcome::AlreadyFinished(current.status))
    }

    /// When cancellation of a deployment was requested, if it was.
    pub async fn cancel_requested_at(&self, id: Uuid) -> Result<Option<DateTime<Utc>>> {
        let sql = "SELECT cancel_requested_at FROM deployments WHERE id = $1";
        let v: Option<Option<DateTime<Utc>>> =
            with_db!(self.db(), p => sqlx::query_scalar(sql).bind(id).fetch_optional(p).await)?;
        v.ok_or(StoreError::NotFound)
    }

    /// Up to `limit` lines of a deployment after the position `(timestamp, seq)`, in time
    /// order: keyset pages that cost the same however deep the export has gone.
    pub async fn logs_page_after(
        &self,
        deployment_id: Uuid,
        after: Option<(DateTime<Utc>, i64)>,
        limit: i64,
    ) -> Result<Vec<LogRecord>> {
        let rows: Vec<LogRow> = match after {
            None => {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {LOG_COLUMNS} FROM deployment_logs WHERE deployment_id = $1 \
                     ORDER BY timestamp, seq LIMIT $2"
                ));
                with_db!(self.db(), p => sqlx::query_as(sql).bind(deployment_id).bind(limit).fetch_all(p).await)?
            }
            Some((ts, seq)) => {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {LOG_COLUMNS} FROM deployment_logs WHERE deployment_id = $1 \
                     AND (timestamp > $2 OR (timestamp = $2 AND seq > $3)) \
                     ORDER BY timestamp, seq LIMIT $4"
                ));
                with_db!(self.db(), p => sqlx::query_as(sql)
                    .bind(deployment_id)
                    .bind(ts)
                    .bind(seq)
                    .bind(limit)
                    .fetch_all(p)
                    .await)?
            }
        };
        rows.into_iter().map(LogRecord::try_from).collect()
    }

    /// Deletes up to `batch` log lines older than `before`; returns how many went.
    pub async fn delete_logs_before(&self, before: DateTime<Utc>, batch: i64) -> Result<u64> {
        let sql = "DELETE FROM deployment_logs WHERE id IN \
                   (SELECT id FROM deployment_logs WHERE timestamp < $1 LIMIT $2)";
        Ok(with_db!(self.db(), p => sqlx::query(sql)
            .bind(before)
            .bind(batch)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?)
    }
}

impl Store {
    /// Whether the user is a member of some project of organization `org_id`.
    pub async fn user_has_project_in_org(&self, user_id: Uuid, org_id: Uuid) -> Result<bool> {
        let sql = "SELECT COUNT(*) FROM project_members pm JOIN projects p ON p.id = pm.project_id \
                   WHERE pm.user_id = $1 AND p.organization_id = $2";
        let n: i64 = with_db!(self.db(), p => sqlx::query_scalar(sql)
            .bind(user_id)
            .bind(org_id)
            .fetch_one(p)
            .await)?;
        Ok(n > 0)
    }
}
