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
            .fetch_one(p)
            .await)
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
            .fetch_one(p)
            .await)
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
}
