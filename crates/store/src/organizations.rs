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
            .fetch_one(p)
            .await)
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
            .fetch_one(p)
            .await)
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
}
