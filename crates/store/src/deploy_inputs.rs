//! What the repository, DNS and database stages read and record: a deployment's addon
//! repositories (added with [`Store::create_repository`]) and their encrypted tokens, the organization's DNS provider, migration
//! backups, the project commit, the generated admin password, and the one-time
//! migration-restore flag.

use chrono::{DateTime, Utc};
use paasportal_core::{GitInfo, Repository, StepStatus};
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::repositories::{REPO_COLUMNS, RepoRow};
use crate::{Store, with_db};

/// An organization's DNS provider, with its encrypted API token.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DnsProvider {
    pub organization_id: Uuid,
    /// `cloudflare`.
    pub provider: String,
    pub zone_id: String,
    pub api_token_enc: Vec<u8>,
    /// The API root; `None` is Cloudflare's own.
    pub api_base_url: Option<String>,
}

/// A migration backup an environment is restored from once.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MigrationBackup {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    /// The backup ZIP's key in the bucket.
    pub backup_key: String,
    pub created_at: DateTime<Utc>,
}

/// What revealing an environment's admin password found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminPassword {
    /// The encrypted password, handed out this once.
    Revealed(Vec<u8>),
    /// It was revealed before.
    AlreadyRevealed,
    /// No deployment has initialised the database yet.
    NotGenerated,
}

impl Store {
    /// The repositories a deployment of `project_id` clones, in clone order: platform,
    /// then the organization's, then the project's (primary first), oldest first.
    pub async fn deployment_repositories(
        &self,
        organization_id: Uuid,
        project_id: Uuid,
    ) -> Result<Vec<Repository>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {REPO_COLUMNS} FROM repositories \
             WHERE scope = 'platform' \
                OR (scope = 'organization' AND organization_id = $1) \
                OR (scope = 'project' AND project_id = $2) \
             ORDER BY CASE scope WHEN 'platform' THEN 0 WHEN 'organization' THEN 1 ELSE 2 END, \
                      is_primary DESC, created_at, id"
        ));
        let rows: Vec<RepoRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(organization_id)
            .bind(project_id)
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(Repository::try_from).collect()
    }

    /// A repository's encrypted access token, if it has one.
    pub async fn repository_token_enc(&self, id: Uuid) -> Result<Option<Vec<u8>>> {
        let sql = "SELECT token_enc FROM repositories WHERE id = $1";
        let row: Option<(Option<Vec<u8>>,)> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?;
        row.map(|r| r.0).ok_or(StoreError::NotFound)
    }

    /// Sets (or replaces) an organization's DNS provider.
    pub async fn set_dns_provider(&self, d: &DnsProvider) -> Result<()> {
        let sql = "INSERT INTO dns_providers (organization_id, provider, zone_id, api_token_enc, \
                   api_base_url, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
                   ON CONFLICT (organization_id) DO UPDATE SET provider = excluded.provider, \
                   zone_id = excluded.zone_id, api_token_enc = excluded.api_token_enc, \
                   api_base_url = excluded.api_base_url, updated_at = excluded.updated_at";
        with_db!(self.db(), p => sqlx::query(sql)
            .bind(d.organization_id)
            .bind(&d.provider)
            .bind(&d.zone_id)
            .bind(&d.api_token_enc)
            .bind(&d.api_base_url)
            .bind(Utc::now())
            .execute(p)
            .await
            .map(|_| ()))
        .map_err(StoreError::classify)?;
        Ok(())
    }

    /// The organization's DNS provider, if one is configured.
    pub async fn dns_provider(&self, organization_id: Uuid) -> Result<Option<DnsProvider>> {
        let sql = "SELECT organization_id, provider, zone_id, api_token_enc, api_base_url \
                   FROM dns_providers WHERE organization_id = $1";
        let row: Option<DnsProvider> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(organization_id)
            .fetch_optional(p)
            .await)?;
        Ok(row)
    }

    /// Registers a migration backup of an organization.
    pub async fn create_migration(
        &self,
        organization_id: Uuid,
        name: &str,
        backup_key: &str,
    ) -> Result<MigrationBackup> {
        let sql = "INSERT INTO migrations (id, organization_id, name, backup_key, created_at) \
                   VALUES ($1, $2, $3, $4, $5) \
                   RETURNING id, organization_id, name, backup_key, created_at";
        let row: MigrationBackup = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(Uuid::now_v7())
            .bind(organization_id)
            .bind(name)
            .bind(backup_key)
            .bind(Utc::now())
            .fetch_all(p)
            .await.and_then(crate::observe::one))
        .map_err(StoreError::classify)?;
        Ok(row)
    }

    /// One migration backup by id.
    pub async fn get_migration(&self, id: Uuid) -> Result<MigrationBackup> {
        let sql = "SELECT id, organization_id, name, backup_key, created_at FROM migrations WHERE id = $1";
        let row: Option<MigrationBackup> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Records the project repository's commit on the deployment (the `git_*` fields).
    pub async fn record_git_info(&self, deployment_id: Uuid, g: &GitInfo) -> Result<()> {
        let sql = "UPDATE deployments SET git_commit = $2, git_branch = $3, git_message = $4, \
                   committer_name = $5, committer_email = $6, commit_date = $7, updated_at = $8 \
                   WHERE id = $1";
        let n = with_db!(self.db(), p => sqlx::query(sql)
            .bind(deployment_id)
            .bind(&g.git_commit)
            .bind(&g.git_branch)
            .bind(&g.git_message)
            .bind(&g.committer_name)
            .bind(&g.committer_email)
            .bind(g.commit_date)
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

    /// Stores an environment's encrypted Odoo admin password (replacing any earlier
    /// one), to be revealed once.
    pub async fn set_admin_password_enc(&self, environment_id: Uuid, enc: &[u8]) -> Result<()> {
        let sql = "UPDATE environments SET admin_password_enc = $2, admin_password_revealed_at = NULL, \
                   updated_at = $3 WHERE id = $1";
        let n = with_db!(self.db(), p => sqlx::query(sql)
            .bind(environment_id)
            .bind(enc)
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

    /// An environment's encrypted Odoo admin password, if one was generated.
    pub async fn admin_password_enc(&self, environment_id: Uuid) -> Result<Option<Vec<u8>>> {
        let sql = "SELECT admin_password_enc FROM environments WHERE id = $1";
        let row: Option<(Option<Vec<u8>>,)> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(environment_id)
            .fetch_optional(p)
            .await)?;
        row.map(|r| r.0).ok_or(StoreError::NotFound)
    }

    /// Hands out the encrypted admin password the first time it is asked for, and
    /// records when; later calls get [`AdminPassword::AlreadyRevealed`].
    pub async fn reveal_admin_password(&self, environment_id: Uuid) -> Result<AdminPassword> {
        let sql = "UPDATE environments SET admin_password_revealed_at = $2 \
                   WHERE id = $1 AND admin_password_enc IS NOT NULL AND admin_password_revealed_at IS NULL \
                   RETURNING admin_password_enc";
        let row: Option<(Vec<u8>,)> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(environment_id)
            .bind(Utc::now())
            .fetch_all(p)
            .await.map(crate::observe::first))?;
        if let Some((enc,)) = row {
            return Ok(AdminPassword::Revealed(enc));
        }
        let sql = "SELECT admin_password_enc IS NOT NULL FROM environments WHERE id = $1";
        let exists: Option<bool> = with_db!(self.db(), p => sqlx::query_scalar(sql)
            .bind(environment_id)
            .fetch_optional(p)
            .await)?;
        match exists {
            None => Err(StoreError::NotFound),
            Some(true) => Ok(AdminPassword::AlreadyRevealed),
            Some(false) => Ok(AdminPassword::NotGenerated),
        }
    }

    /// In one transaction: marks the environment's migration restored at `at` and
    /// records `step` of the deployment completed. Fails with [`StoreError::Conflict`]
    /// when the environment was already marked restored (nothing changes then).
    pub async fn complete_migration_restore(
        &self,
        environment_id: Uuid,
        deployment_id: Uuid,
        step: &str,
        at: DateTime<Utc>,
        duration_seconds: f64,
    ) -> Result<()> {
        let mark = "UPDATE environments SET migration_restore_completed = TRUE, \
                    migration_restore_completed_at = $2, updated_at = $2 \
                    WHERE id = $1 AND migration_restore_completed = FALSE";
        let finish = "UPDATE deployment_steps SET status = $3, completed_at = $4, duration_seconds = $5, \
                      started_at = COALESCE(started_at, $4) WHERE deployment_id = $1 AND step = $2";
        with_db!(self.db(), p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query(mark)
                .bind(environment_id)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                tx.rollback().await?;
                return Err(StoreError::Conflict(
                    "the environment's migration was already restored".into(),
                ));
            }
            sqlx::query(finish)
                .bind(deployment_id)
                .bind(step)
                .bind(StepStatus::Completed.as_str())
                .bind(at)
                .bind(duration_seconds)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })?;
        Ok(())
    }
}
