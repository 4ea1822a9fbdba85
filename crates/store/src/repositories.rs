//! Addon repositories and their encrypted access tokens.

use chrono::{DateTime, Utc};
use paasportal_core::repository::slugify;
use paasportal_core::{RepoScope, Repository};
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::rows::parse;
use crate::{Store, with_db};

/// A `repositories` row as read with [`REPO_COLUMNS`].
#[derive(sqlx::FromRow)]
pub(crate) struct RepoRow {
    id: Uuid,
    scope: String,
    organization_id: Option<Uuid>,
    project_id: Option<Uuid>,
    name: String,
    slug: String,
    url: String,
    branch: String,
    is_primary: bool,
    has_token: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<RepoRow> for Repository {
    type Error = StoreError;
    fn try_from(r: RepoRow) -> Result<Self> {
        Ok(Repository {
            id: r.id,
            scope: parse(&r.scope)?,
            organization_id: r.organization_id,
            project_id: r.project_id,
            name: r.name,
            slug: r.slug,
            url: r.url,
            branch: r.branch,
            is_primary: r.is_primary,
            has_token: r.has_token,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// The columns every repository query selects.
pub(crate) const REPO_COLUMNS: &str = "id, scope, organization_id, project_id, name, slug, url, branch, \
    is_primary, (token_enc IS NOT NULL) AS has_token, created_at, updated_at";

/// A repository to create; the token arrives encrypted. Project repositories also carry
/// their project's organization.
#[derive(Debug, Clone)]
pub struct NewRepository {
    pub scope: RepoScope,
    pub organization_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub name: String,
    pub url: String,
    pub branch: String,
    pub token_enc: Option<Vec<u8>>,
    pub is_primary: bool,
}

/// Changes to a repository; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct RepositoryPatch {
    pub name: Option<String>,
    pub url: Option<String>,
    pub branch: Option<String>,
    /// `Some(None)` removes the token, `Some(Some(..))` replaces it.
    pub token_enc: Option<Option<Vec<u8>>>,
}

/// Which repositories a list shows.
#[derive(Debug, Clone, Copy)]
pub enum RepoVisibility {
    /// Every repository (portal admins).
    All,
    /// Platform repositories, those of organizations the user belongs to, and those of
    /// projects the user may see.
    User(Uuid),
}

impl Store {
    /// Creates a repository; slugs are unique within a scope's owner (`Conflict`).
    pub async fn create_repository(&self, r: &NewRepository) -> Result<Repository> {
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO repositories (id, scope, organization_id, project_id, name, slug, url, branch, \
             token_enc, is_primary, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {REPO_COLUMNS}"
        ));
        let row: RepoRow = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(Uuid::now_v7())
            .bind(r.scope.as_str())
            .bind(r.organization_id)
            .bind(r.project_id)
            .bind(&r.name)
            .bind(slugify(&r.name))
            .bind(&r.url)
            .bind(&r.branch)
            .bind(&r.token_enc)
            .bind(r.is_primary)
            .bind(Utc::now())
            .fetch_all(p)
            .await.and_then(crate::observe::one))
        .map_err(StoreError::classify)?;
        row.try_into()
    }

    /// One repository by id.
    pub async fn get_repository(&self, id: Uuid) -> Result<Repository> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {REPO_COLUMNS} FROM repositories WHERE id = $1"
        ));
        let row: Option<RepoRow> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// A page of repositories, oldest first, limited to what `who` may see.
    pub async fn list_repositories(
        &self,
        who: RepoVisibility,
        skip: i64,
        limit: i64,
    ) -> Result<Vec<Repository>> {
        let user = match who {
            RepoVisibility::All => None,
            RepoVisibility::User(u) => Some(u),
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {REPO_COLUMNS} FROM repositories r WHERE $1 IS NULL OR r.scope = 'platform' \
             OR (r.scope = 'organization' AND (r.organization_id IN \
                (SELECT organization_id FROM organization_members WHERE user_id = $1) \
                OR r.organization_id IN (SELECT p.organization_id FROM projects p \
                JOIN project_members pm ON pm.project_id = p.id WHERE pm.user_id = $1))) \
             OR (r.scope = 'project' AND (r.project_id IN \
                (SELECT project_id FROM project_members WHERE user_id = $1) \
                OR r.project_id IN (SELECT p.id FROM projects p JOIN organization_members om \
                ON om.organization_id = p.organization_id WHERE om.user_id = $1 \
                AND om.role IN ('owner', 'admin')))) \
             ORDER BY created_at, id LIMIT $2 OFFSET $3"
        ));
        let rows: Vec<RepoRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(user)
            .bind(limit)
            .bind(skip)
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(Repository::try_from).collect()
    }

    /// Changes a repository; a new name also changes its slug.
    pub async fn update_repository(&self, id: Uuid, r: &RepositoryPatch) -> Result<Repository> {
        let (set_token, token) = match &r.token_enc {
            Some(t) => (true, t.clone()),
            None => (false, None),
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE repositories SET name = COALESCE($2, name), slug = COALESCE($3, slug), \
             url = COALESCE($4, url), branch = COALESCE($5, branch), \
             token_enc = CASE WHEN $6 THEN $7 ELSE token_enc END, updated_at = $8 \
             WHERE id = $1 RETURNING {REPO_COLUMNS}"
        ));
        let row: Option<RepoRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(id)
            .bind(&r.name)
            .bind(r.name.as_deref().map(slugify))
            .bind(&r.url)
            .bind(&r.branch)
            .bind(set_token)
            .bind(token)
            .bind(Utc::now())
            .fetch_all(p)
            .await.map(crate::observe::first))
        .map_err(StoreError::classify)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// The encrypted access token of a repository, if any.
    pub async fn get_repository_token_enc(&self, id: Uuid) -> Result<Option<Vec<u8>>> {
        let sql = "SELECT token_enc FROM repositories WHERE id = $1";
        let row: Option<(Option<Vec<u8>>,)> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?;
        Ok(row.ok_or(StoreError::NotFound)?.0)
    }

    /// Deletes a repository.
    pub async fn delete_repository(&self, id: Uuid) -> Result<()> {
        let sql = "DELETE FROM repositories WHERE id = $1";
        let n = with_db!(self.db(), p => sqlx::query(sql).bind(id).execute(p).await.map(|r| r.rows_affected()))
            .map_err(StoreError::classify)?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
