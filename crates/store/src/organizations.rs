//! Organizations and their members.

use chrono::{DateTime, Utc};
use paasportal_core::{OrgMember, OrgRole, Organization};
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::rows::parse;
use crate::{Store, with_db};

#[derive(sqlx::FromRow)]
struct OrgRow {
    id: Uuid,
    name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<OrgRow> for Organization {
    fn from(r: OrgRow) -> Self {
        Organization {
            id: r.id,
            name: r.name,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl Store {
    /// Creates an organization.
    pub async fn create_organization(&self, name: &str) -> Result<Organization> {
        let sql = "INSERT INTO organizations (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3) \
                   RETURNING id, name, created_at, updated_at";
        let row: OrgRow = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(Uuid::now_v7())
            .bind(name)
            .bind(Utc::now())
            .fetch_all(p)
            .await.and_then(crate::observe::one))
        .map_err(StoreError::classify)?;
        Ok(row.into())
    }

    /// One organization by id.
    pub async fn get_organization(&self, id: Uuid) -> Result<Organization> {
        let sql = "SELECT id, name, created_at, updated_at FROM organizations WHERE id = $1";
        let row: Option<OrgRow> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?;
        row.map(Organization::from).ok_or(StoreError::NotFound)
    }

    /// Adds a member or changes their role.
    pub async fn upsert_org_member(
        &self,
        org: Uuid,
        user: Uuid,
        role: OrgRole,
    ) -> Result<OrgMember> {
        let sql = "INSERT INTO organization_members (organization_id, user_id, role, created_at) \
                   VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (organization_id, user_id) DO UPDATE SET role = excluded.role \
                   RETURNING organization_id, user_id, role, created_at";
        let row: (Uuid, Uuid, String, DateTime<Utc>) = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(org)
            .bind(user)
            .bind(role.as_str())
            .bind(Utc::now())
            .fetch_all(p)
            .await.and_then(crate::observe::one))
        .map_err(StoreError::classify)?;
        Ok(OrgMember {
            organization_id: row.0,
            user_id: row.1,
            role: parse(&row.2)?,
            created_at: row.3,
        })
    }

    /// Removes a member; `NotFound` if they were not one.
    pub async fn remove_org_member(&self, org: Uuid, user: Uuid) -> Result<()> {
        let sql = "DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2";
        let r = with_db!(self.db(), p => sqlx::query(sql).bind(org).bind(user).execute(p).await.map(|r| r.rows_affected()))?;
        if r == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// A page of organizations, oldest first: all of them (`None`), or those `user` belongs
    /// to directly or through one of their projects.
    pub async fn list_organizations(
        &self,
        user: Option<Uuid>,
        skip: i64,
        limit: i64,
    ) -> Result<Vec<Organization>> {
        let sql = "SELECT id, name, created_at, updated_at FROM organizations o WHERE ($1 IS NULL \
                   OR o.id IN (SELECT organization_id FROM organization_members WHERE user_id = $1) \
                   OR o.id IN (SELECT p.organization_id FROM projects p JOIN project_members pm \
                   ON pm.project_id = p.id WHERE pm.user_id = $1)) \
                   ORDER BY created_at, id LIMIT $2 OFFSET $3";
        let rows: Vec<OrgRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(user)
            .bind(limit)
            .bind(skip)
            .fetch_all(p)
            .await)?;
        Ok(rows.into_iter().map(Organization::from).collect())
    }

    /// Renames an organization.
    pub async fn rename_organization(&self, id: Uuid, name: &str) -> Result<Organization> {
        let sql = "UPDATE organizations SET name = $2, updated_at = $3 WHERE id = $1 \
                   RETURNING id, name, created_at, updated_at";
        let row: Option<OrgRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(id)
            .bind(name)
            .bind(Utc::now())
            .fetch_all(p)
            .await.map(crate::observe::first))
        .map_err(StoreError::classify)?;
        row.map(Organization::from).ok_or(StoreError::NotFound)
    }

    /// Deletes an organization and everything it owns; refused (`Conflict`) while a
    /// server of it still hosts an environment of another organization's project.
    pub async fn delete_organization(&self, id: Uuid) -> Result<()> {
        let sql = "DELETE FROM organizations WHERE id = $1";
        let n = with_db!(self.db(), p => sqlx::query(sql).bind(id).execute(p).await.map(|r| r.rows_affected()))
            .map_err(StoreError::classify)?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// The members of an organization, oldest membership first.
    pub async fn list_org_members(&self, org: Uuid) -> Result<Vec<OrgMember>> {
        let sql = "SELECT organization_id, user_id, role, created_at FROM organization_members \
                   WHERE organization_id = $1 ORDER BY created_at, user_id";
        let rows: Vec<(Uuid, Uuid, String, DateTime<Utc>)> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(org).fetch_all(p).await)?;
        rows.into_iter()
            .map(|r| {
                Ok(OrgMember {
                    organization_id: r.0,
                    user_id: r.1,
                    role: parse(&r.2)?,
                    created_at: r.3,
                })
            })
            .collect()
    }

    /// A user's role in an organization, if they are a member.
    pub async fn org_role(&self, org: Uuid, user: Uuid) -> Result<Option<OrgRole>> {
        let sql =
            "SELECT role FROM organization_members WHERE organization_id = $1 AND user_id = $2";
        let row: Option<(String,)> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(org)
            .bind(user)
            .fetch_optional(p)
            .await)?;
        row.map(|(r,)| parse(&r)).transpose()
    }

    /// How many owners an organization has.
    pub async fn count_org_owners(&self, org: Uuid) -> Result<i64> {
        let sql = "SELECT COUNT(*) FROM organization_members WHERE organization_id = $1 AND role = 'owner'";
        Ok(with_db!(self.db(), p => sqlx::query_scalar(sql).bind(org).fetch_one(p).await)?)
    }

    /// Every user with a membership in the organization or one of its projects.
    pub async fn users_with_access_to_org(&self, org: Uuid) -> Result<Vec<Uuid>> {
        let sql = "SELECT user_id FROM organization_members WHERE organization_id = $1 \
                   UNION SELECT pm.user_id FROM project_members pm JOIN projects p \
                   ON p.id = pm.project_id WHERE p.organization_id = $1";
        Ok(with_db!(self.db(), p => sqlx::query_scalar(sql).bind(org).fetch_all(p).await)?)
    }
}
