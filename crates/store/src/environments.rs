//! Environments.

use chrono::{DateTime, Utc};
use paasportal_core::{Environment, EnvironmentStatus};
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::rows::parse;
use crate::{Store, with_db};

#[derive(sqlx::FromRow)]
struct EnvRow {
    id: Uuid,
    project_id: Uuid,
    server_id: Uuid,
    name: String,
    branch: String,
    subdomain: String,
    apps_domain: String,
    odoo_version: String,
    cpu_cores: f64,
    ram_mb: i64,
    disk_gb: i64,
    config_overrides: Json<serde_json::Value>,
    read_replica: bool,
    migration_id: Option<Uuid>,
    migration_restore_completed: bool,
    migration_restore_completed_at: Option<DateTime<Utc>>,
    status: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<EnvRow> for Environment {
    type Error = StoreError;
    fn try_from(r: EnvRow) -> Result<Self> {
        Ok(Environment {
            id: r.id,
            project_id: r.project_id,
            server_id: r.server_id,
            name: r.name,
            branch: r.branch,
            subdomain: r.subdomain,
            apps_domain: r.apps_domain,
            odoo_version: r.odoo_version,
            cpu_cores: r.cpu_cores,
            ram_mb: r.ram_mb,
            disk_gb: r.disk_gb,
            config_overrides: r.config_overrides.0,
            read_replica: r.read_replica,
            migration_id: r.migration_id,
            migration_restore_completed: r.migration_restore_completed,
            migration_restore_completed_at: r.migration_restore_completed_at,
            status: parse(&r.status)?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Columns of [`EnvRow`], for queries that return environments.
pub(crate) const ENV_COLUMNS: &str = "id, project_id, server_id, name, branch, subdomain, apps_domain, \
    odoo_version, cpu_cores, ram_mb, disk_gb, config_overrides, read_replica, migration_id, \
    migration_restore_completed, migration_restore_completed_at, status, created_at, updated_at";

/// An environment to create.
#[derive(Debug, Clone)]
pub struct NewEnvironment {
    pub project_id: Uuid,
    pub server_id: Uuid,
    pub name: String,
    pub branch: String,
    pub subdomain: String,
    pub apps_domain: String,
    pub odoo_version: String,
    pub cpu_cores: f64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    pub config_overrides: serde_json::Value,
    pub read_replica: bool,
    pub migration_id: Option<Uuid>,
}

/// Changes to an environment; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct EnvironmentPatch {
    pub name: Option<String>,
    pub branch: Option<String>,
    pub odoo_version: Option<String>,
    pub cpu_cores: Option<f64>,
    pub ram_mb: Option<i64>,
    pub disk_gb: Option<i64>,
    pub config_overrides: Option<serde_json::Value>,
}

impl Store {
    /// Creates an environment in status `pending`.
    pub async fn create_environment(&self, e: &NewEnvironment) -> Result<Environment> {
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO environments (id, project_id, server_id, name, branch, subdomain, apps_domain, \
             odoo_version, cpu_cores, ram_mb, disk_gb, config_overrides, read_replica, migration_id, \
             migration_restore_completed, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, FALSE, 'pending', $15, $15) \
             RETURNING {ENV_COLUMNS}"
        ));
        let row: EnvRow = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(Uuid::now_v7())
            .bind(e.project_id)
            .bind(e.server_id)
            .bind(&e.name)
            .bind(&e.branch)
            .bind(&e.subdomain)
            .bind(&e.apps_domain)
            .bind(&e.odoo_version)
            .bind(e.cpu_cores)
            .bind(e.ram_mb)
            .bind(e.disk_gb)
            .bind(Json(&e.config_overrides))
            .bind(e.read_replica)
            .bind(e.migration_id)
            .bind(Utc::now())
            .fetch_all(p)
            .await.and_then(crate::observe::one))
        .map_err(StoreError::classify)?;
        row.try_into()
    }

    /// One environment by id.
    pub async fn get_environment(&self, id: Uuid) -> Result<Environment> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ENV_COLUMNS} FROM environments WHERE id = $1"
        ));
        let row: Option<EnvRow> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Sets an environment's status.
    pub async fn set_environment_status(&self, id: Uuid, status: EnvironmentStatus) -> Result<()> {
        let sql = "UPDATE environments SET status = $2, updated_at = $3 WHERE id = $1";
        let n = with_db!(self.db(), p => sqlx::query(sql)
            .bind(id)
            .bind(status.as_str())
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

    /// A page of environments, oldest first: all of them (`None`), or those of projects
    /// `user` may see; optionally of one project.
    pub async fn list_environments(
        &self,
        user: Option<Uuid>,
        project: Option<Uuid>,
        skip: i64,
        limit: i64,
    ) -> Result<Vec<Environment>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ENV_COLUMNS} FROM environments e WHERE ($1 IS NULL \
             OR e.project_id IN (SELECT project_id FROM project_members WHERE user_id = $1) \
             OR e.project_id IN (SELECT p.id FROM projects p JOIN organization_members om \
             ON om.organization_id = p.organization_id WHERE om.user_id = $1 AND om.role IN ('owner', 'admin'))) \
             AND ($2 IS NULL OR e.project_id = $2) \
             ORDER BY created_at, id LIMIT $3 OFFSET $4"
        ));
        let rows: Vec<EnvRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(user)
            .bind(project)
            .bind(limit)
            .bind(skip)
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(Environment::try_from).collect()
    }

    /// Changes an environment's settings; `None` keeps the current value.
    pub async fn update_environment(&self, id: Uuid, e: &EnvironmentPatch) -> Result<Environment> {
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE environments SET name = COALESCE($2, name), branch = COALESCE($3, branch), \
             odoo_version = COALESCE($4, odoo_version), cpu_cores = COALESCE($5, cpu_cores), \
             ram_mb = COALESCE($6, ram_mb), disk_gb = COALESCE($7, disk_gb), \
             config_overrides = COALESCE($8, config_overrides), updated_at = $9 \
             WHERE id = $1 RETURNING {ENV_COLUMNS}"
        ));
        let row: Option<EnvRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(id)
            .bind(&e.name)
            .bind(&e.branch)
            .bind(&e.odoo_version)
            .bind(e.cpu_cores)
            .bind(e.ram_mb)
            .bind(e.disk_gb)
            .bind(e.config_overrides.as_ref().map(Json))
            .bind(Utc::now())
            .fetch_all(p)
            .await.map(crate::observe::first))
        .map_err(StoreError::classify)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Deletes an environment with its deployments and logs.
    pub async fn delete_environment(&self, id: Uuid) -> Result<()> {
        let sql = "DELETE FROM environments WHERE id = $1";
        let n = with_db!(self.db(), p => sqlx::query(sql).bind(id).execute(p).await.map(|r| r.rows_affected()))
            .map_err(StoreError::classify)?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
