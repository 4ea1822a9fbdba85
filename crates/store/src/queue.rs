//! The deployment queue: workers claim pending deployments under a lease, renew it with
//! heartbeats that also carry cancel requests (recorded by `Store::cancel_deployment`),
//! and finish what they claimed. A lease
//! that runs out means its worker died; [`Store::fail_lost_deployment`] ends such runs.
//!
//! PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so any number of workers on any
//! number of hosts share the queue without blocking each other. SQLite serialises writers,
//! so the same single `UPDATE … WHERE id = (SELECT …)` is atomic there without it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use paasportal_core::{Deployment, DeploymentStatus, EnvironmentStatus, TransportKind};
use uuid::Uuid;

use crate::db::Backend;
use crate::deployments::{DEPLOYMENT_COLUMNS, DeploymentRow};
use crate::error::{Result, StoreError};
use crate::rows::parse;
use crate::{Store, with_db};

/// A running deployment's state as its worker's heartbeat sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseState {
    pub deployment_id: Uuid,
    /// Set when a user asked to cancel the deployment.
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// Who asked to cancel it.
    pub cancelled_by: Option<Uuid>,
}

fn lease_until(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30))
}

fn seconds_between(from: Option<DateTime<Utc>>, to: DateTime<Utc>) -> Option<f64> {
    from.map(|s| (to - s).num_microseconds().unwrap_or(0).max(0) as f64 / 1e6)
}

impl Store {
    /// Claims the oldest pending deployment for `worker_id`: it becomes `running`, started
    /// now, with a lease that ends after `lease`. `None` when the queue is empty.
    pub async fn claim_next_deployment(
        &self,
        worker_id: &str,
        lease: Duration,
    ) -> Result<Option<Deployment>> {
        let pick = match self.backend() {
            Backend::Postgres => {
                "SELECT id FROM deployments WHERE status = 'pending' ORDER BY created_at, id \
                 LIMIT 1 FOR UPDATE SKIP LOCKED"
            }
            Backend::Sqlite => {
                "SELECT id FROM deployments WHERE status = 'pending' ORDER BY created_at, id LIMIT 1"
            }
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE deployments SET status = 'running', worker_id = $1, lease_expires_at = $2, \
             started_at = $3, completed_at = NULL, current_step = NULL, progress_percent = 0, updated_at = $3 \
             WHERE id = ({pick}) AND status = 'pending' RETURNING {DEPLOYMENT_COLUMNS}"
        ));
        let now = Utc::now();
        let row: Option<DeploymentRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(worker_id)
            .bind(lease_until(now, lease))
            .bind(now)
            .fetch_all(p)
            .await.map(crate::observe::first))?;
        row.map(Deployment::try_from).transpose()
    }

    /// Extends the leases of the deployments `ids` that `worker_id` runs, and reports each
    /// one's cancel request. An id missing from the answer is no longer this worker's
    /// (its lease expired and it was failed, or it was deleted).
    pub async fn renew_leases(
        &self,
        worker_id: &str,
        ids: &[Uuid],
        lease: Duration,
    ) -> Result<Vec<LeaseState>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: Uuid,
            cancel_requested_at: Option<DateTime<Utc>>,
            cancelled_by: Option<Uuid>,
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE deployments SET lease_expires_at = $2 \
             WHERE worker_id = $1 AND status = 'running' AND id IN ({}) \
             RETURNING id, cancel_requested_at, cancelled_by",
            list.join(", ")
        ));
        let until = lease_until(Utc::now(), lease);
        let rows: Vec<Row> = with_db!(self.db(), p => {
            let mut q = sqlx::query_as(sql).bind(worker_id).bind(until);
            for id in ids {
                q = q.bind(*id);
            }
            q.fetch_all(p).await
        })?;
        Ok(rows
            .into_iter()
            .map(|r| LeaseState {
                deployment_id: r.id,
                cancel_requested_at: r.cancel_requested_at,
                cancelled_by: r.cancelled_by,
            })
            .collect())
    }

    /// Ends a deployment `worker_id` holds: final status, error, duration and progress.
    /// `None` when the worker no longer holds it (its lease expired and it was reaped).
    pub async fn finish_claimed(
        &self,
        id: Uuid,
        worker_id: &str,
        status: DeploymentStatus,
        error_message: Option<&str>,
        progress_percent: u8,
    ) -> Result<Option<Deployment>> {
        let now = Utc::now();
        let current = self.get_deployment(id).await?;
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE deployments SET status = $3, error_message = $4, completed_at = $5, \
             duration_seconds = $6, progress_percent = $7, worker_id = NULL, lease_expires_at = NULL, \
             updated_at = $5 WHERE id = $1 AND worker_id = $2 AND status = 'running' \
             RETURNING {DEPLOYMENT_COLUMNS}"
        ));
        let row: Option<DeploymentRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(id)
            .bind(worker_id)
            .bind(status.as_str())
            .bind(error_message)
            .bind(now)
            .bind(seconds_between(current.started_at, now))
            .bind(i64::from(progress_percent))
            .fetch_all(p)
            .await.map(crate::observe::first))?;
        row.map(Deployment::try_from).transpose()
    }

    /// Running deployments whose lease ended before `now`: their workers are gone.
    pub async fn expired_leases(&self, now: DateTime<Utc>) -> Result<Vec<Uuid>> {
        let sql = "SELECT id FROM deployments WHERE status = 'running' AND lease_expires_at < $1 \
                   ORDER BY lease_expires_at";
        Ok(with_db!(self.db(), p => sqlx::query_scalar(sql).bind(now).fetch_all(p).await)?)
    }

    /// Every running deployment (SQLite start-up: the previous process ran them all).
    pub async fn running_deployments(&self) -> Result<Vec<Uuid>> {
        let sql = "SELECT id FROM deployments WHERE status = 'running' ORDER BY started_at";
        Ok(with_db!(self.db(), p => sqlx::query_scalar(sql).fetch_all(p).await)?)
    }

    /// Fails a running deployment whose worker is gone, with `error_message`. With
    /// `expired_before`, only if its lease ended before then (so a live worker that just
    /// renewed keeps it). `None` when the deployment was not failed here.
    pub async fn fail_lost_deployment(
        &self,
        id: Uuid,
        error_message: &str,
        expired_before: Option<DateTime<Utc>>,
    ) -> Result<Option<Deployment>> {
        let now = Utc::now();
        let current = self.get_deployment(id).await?;
        if current.status != DeploymentStatus::Running {
            return Ok(None);
        }
        let lease_rule = if expired_before.is_some() {
            " AND lease_expires_at < $5"
        } else {
            ""
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE deployments SET status = 'failed', error_message = $2, completed_at = $3, \
             duration_seconds = $4, worker_id = NULL, lease_expires_at = NULL, updated_at = $3 \
             WHERE id = $1 AND status = 'running'{lease_rule} RETURNING {DEPLOYMENT_COLUMNS}"
        ));
        let row: Option<DeploymentRow> = with_db!(self.db(), p => {
            let mut q = sqlx::query_as(sql)
                .bind(id)
                .bind(error_message)
                .bind(now)
                .bind(seconds_between(current.started_at, now));
            if let Some(before) = expired_before {
                q = q.bind(before);
            }
            q.fetch_all(p).await.map(crate::observe::first)
        })?;
        row.map(Deployment::try_from).transpose()
    }

    /// Moves an environment from `from` to `to`; false when it was not in `from`.
    pub async fn transition_environment(
        &self,
        id: Uuid,
        from: EnvironmentStatus,
        to: EnvironmentStatus,
    ) -> Result<bool> {
        let sql =
            "UPDATE environments SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2";
        let n = with_db!(self.db(), p => sqlx::query(sql)
            .bind(id)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(Utc::now())
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// How the engine reaches a server.
    pub async fn server_transport(&self, server_id: Uuid) -> Result<TransportKind> {
        let sql = "SELECT transport FROM servers WHERE id = $1";
        let v: Option<String> = with_db!(self.db(), p => sqlx::query_scalar(sql).bind(server_id).fetch_optional(p).await)?;
        parse(&v.ok_or(StoreError::NotFound)?)
    }

    /// Sets how the engine reaches a server.
    pub async fn set_server_transport(&self, server_id: Uuid, kind: TransportKind) -> Result<()> {
        let sql = "UPDATE servers SET transport = $2, updated_at = $3 WHERE id = $1";
        let n = with_db!(self.db(), p => sqlx::query(sql)
            .bind(server_id)
            .bind(kind.as_str())
            .bind(Utc::now())
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
