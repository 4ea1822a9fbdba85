//! Projects and their members.

use chrono::{DateTime, Utc};
use paasportal_core::{Project, ProjectMember, ProjectRole};
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::rows::parse;
use crate::{Store, with_db};

#[derive(sqlx::FromRow)]
struct ProjectRow {
    id: Uuid,
    organization_id: Uuid,
    name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ProjectRow> for Project {
    fn from(r: ProjectRow) -> Self {
        Project {
            id: r.id,
            organization_id: r.organization_id,
            name: r.name,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl Store {
    /// Creates a project in an organization; names are unique per organization.
    pub async fn create_project(&self, org: Uuid, name: &str) -> Result<Project> {
        let sql = "INSERT INTO projects (id, organization_id, name, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $4) RETURNING id, organization_id, name, created_at, updated_at";
        let row: ProjectRow = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(Uuid::now_v7())
            .bind(org)
            .bind(name)
            .bind(Utc::now())
            .fetch_all(p)
            .await.and_then(crate::observe::one))
        .map_err(StoreError::classify)?;
        Ok(row.into())
    }

    /// One project by id.
    pub async fn get_project(&self, id: Uuid) -> Result<Project> {
        let sql =
            "SELECT id, organization_id, name, created_at, updated_at FROM projects WHERE id = $1";
        let row: Option<ProjectRow> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?;
        row.map(Project::from).ok_or(StoreError::NotFound)
    }

    /// Adds a member or changes their role.
    pub async fn upsert_project_member(
        &self,
        project: Uuid,
        user: Uuid,
        role: ProjectRole,
    ) -> Result<ProjectMember> {
        let sql = "INSERT INTO project_members (project_id, user_id, role, created_at) \
                   VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role \
                   RETURNING project_id, user_id, role, created_at";
        let row: (Uuid, Uuid, String, DateTime<Utc>) = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(project)
            .bind(user)
            .bind(role.as_str())
            .bind(Utc::now())
            .fetch_all(p)
            .await.and_then(crate::observe::one))
        .map_err(StoreError::classify)?;
        Ok(ProjectMember {
            project_id: row.0,
            user_id: row.1,
            role: parse(&row.2)?,
            created_at: row.3,
        })
    }

    /// Removes a member; `NotFound` if they were not one.
    pub async fn remove_project_member(&self, project: Uuid, user: Uuid) -> Result<()> {
        let sql = "DELETE FROM project_members WHERE project_id = $1 AND user_id = $2";
        let r = with_db!(self.db(), p => sqlx::query(sql).bind(project).bind(user).execute(p).await.map(|r| r.rows_affected()))?;
        if r == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// A page of projects, oldest first: all of them (`None`), or those `user` is a member
    /// of or whose organization they own or administer; optionally of one organization.
    pub async fn list_projects(
        &self,
        user: Option<Uuid>,
        org: Option<Uuid>,
        skip: i64,
        limit: i64,
    ) -> Result<Vec<Project>> {
        let sql = "SELECT id, organization_id, name, created_at, updated_at FROM projects p \
                   WHERE ($1 IS NULL \
                   OR p.id IN (SELECT project_id FROM project_members WHERE user_id = $1) \
                   OR p.organization_id IN (SELECT organization_id FROM organization_members \
                   WHERE user_id = $1 AND role IN ('owner', 'admin'))) \
                   AND ($2 IS NULL OR p.organization_id = $2) \
                   ORDER BY created_at, id LIMIT $3 OFFSET $4";
        let rows: Vec<ProjectRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(user)
            .bind(org)
            .bind(limit)
            .bind(skip)
            .fetch_all(p)
            .await)?;
        Ok(rows.into_iter().map(Project::from).collect())
    }

    /// Renames a project; names are unique per organization.
    pub async fn rename_project(&self, id: Uuid, name: &str) -> Result<Project> {
        let sql = "UPDATE projects SET name = $2, updated_at = $3 WHERE id = $1 \
                   RETURNING id, organization_id, name, created_at, updated_at";
        let row: Option<ProjectRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(id)
            .bind(name)
            .bind(Utc::now())
            .fetch_all(p)
            .await.map(crate::observe::first))
        .map_err(StoreError::classify)?;
        row.map(Project::from).ok_or(StoreError::NotFound)
    }

    /// Deletes a project with its environments, deployments and logs.
    pub async fn delete_project(&self, id: Uuid) -> Result<()> {
        let sql = "DELETE FROM projects WHERE id = $1";
        let n = with_db!(self.db(), p => sqlx::query(sql).bind(id).execute(p).await.map(|r| r.rows_affected()))
            .map_err(StoreError::classify)?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// The members of a project, oldest membership first.
    pub async fn list_project_members(&self, project: Uuid) -> Result<Vec<ProjectMember>> {
        let sql = "SELECT project_id, user_id, role, created_at FROM project_members \
                   WHERE project_id = $1 ORDER BY created_at, user_id";
        let rows: Vec<(Uuid, Uuid, String, DateTime<Utc>)> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(project).fetch_all(p).await)?;
        rows.into_iter()
            .map(|r| {
                Ok(ProjectMember {
                    project_id: r.0,
                    user_id: r.1,
                    role: parse(&r.2)?,
                    created_at: r.3,
                })
            })
            .collect()
    }

    /// Every member of the project.
    pub async fn users_with_access_to_project(&self, project: Uuid) -> Result<Vec<Uuid>> {
        let sql = "SELECT user_id FROM project_members WHERE project_id = $1";
        Ok(with_db!(self.db(), p => sqlx::query_scalar(sql).bind(project).fetch_all(p).await)?)
    }
}
