//! Odoo versions and their images.

use chrono::{DateTime, Utc};
use paasportal_core::OdooVersion;
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::{Store, with_db};

#[derive(sqlx::FromRow)]
struct VersionRow {
    id: Uuid,
    version: String,
    image: String,
    registry_username: Option<String>,
    has_registry_password: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<VersionRow> for OdooVersion {
    fn from(r: VersionRow) -> Self {
        OdooVersion {
            id: r.id,
            version: r.version,
            image: r.image,
            registry_username: r.registry_username,
            has_registry_password: r.has_registry_password,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const RETURNING: &str = "id, version, image, registry_username, \
    (registry_password_enc IS NOT NULL) AS has_registry_password, created_at, updated_at";

/// An Odoo version to create; the registry password arrives encrypted.
#[derive(Debug, Clone)]
pub struct NewOdooVersion {
    pub version: String,
    pub image: String,
    pub registry_username: Option<String>,
    pub registry_password_enc: Option<Vec<u8>>,
}

impl Store {
    /// Creates an Odoo version; version strings are unique.
    pub async fn create_odoo_version(&self, v: &NewOdooVersion) -> Result<OdooVersion> {
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO odoo_versions (id, version, image, registry_username, registry_password_enc, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {RETURNING}"
        ));
        let row: VersionRow = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(Uuid::now_v7())
            .bind(&v.version)
            .bind(&v.image)
            .bind(&v.registry_username)
            .bind(&v.registry_password_enc)
            .bind(Utc::now())
            .fetch_all(p)
            .await.and_then(crate::observe::one))
        .map_err(StoreError::classify)?;
        Ok(row.into())
    }

    /// One Odoo version by its version string, e.g. "18.0".
    pub async fn get_odoo_version(&self, version: &str) -> Result<OdooVersion> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {RETURNING} FROM odoo_versions WHERE version = $1"
        ));
        let row: Option<VersionRow> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(version).fetch_optional(p).await)?;
        row.map(OdooVersion::from).ok_or(StoreError::NotFound)
    }

    /// The encrypted registry password of a version, if any.
    pub async fn get_registry_password_enc(&self, version: &str) -> Result<Option<Vec<u8>>> {
        let sql = "SELECT registry_password_enc FROM odoo_versions WHERE version = $1";
        let row: Option<(Option<Vec<u8>>,)> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(version).fetch_optional(p).await)?;
        Ok(row.ok_or(StoreError::NotFound)?.0)
    }

    /// Every Odoo version, by version string.
    pub async fn list_odoo_versions(&self) -> Result<Vec<OdooVersion>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {RETURNING} FROM odoo_versions ORDER BY version"
        ));
        let rows: Vec<VersionRow> =
            with_db!(self.db(), p => sqlx::query_as(sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(OdooVersion::from).collect())
    }

    /// One Odoo version by id.
    pub async fn get_odoo_version_by_id(&self, id: Uuid) -> Result<OdooVersion> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {RETURNING} FROM odoo_versions WHERE id = $1"
        ));
        let row: Option<VersionRow> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?;
        row.map(OdooVersion::from).ok_or(StoreError::NotFound)
    }

    /// Changes a version's image.
    pub async fn update_odoo_version_image(&self, id: Uuid, image: &str) -> Result<OdooVersion> {
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE odoo_versions SET image = $2, updated_at = $3 WHERE id = $1 RETURNING {RETURNING}"
        ));
        let row: Option<VersionRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(id)
            .bind(image)
            .bind(Utc::now())
            .fetch_all(p)
            .await.map(crate::observe::first))
        .map_err(StoreError::classify)?;
        row.map(OdooVersion::from).ok_or(StoreError::NotFound)
    }

    /// Deletes a version; `Conflict` while an environment uses it.
    pub async fn delete_odoo_version(&self, id: Uuid) -> Result<()> {
        let v = self.get_odoo_version_by_id(id).await?;
        let used = "SELECT COUNT(*) FROM environments WHERE odoo_version = $1";
        let n: i64 =
            with_db!(self.db(), p => sqlx::query_scalar(used).bind(&v.version).fetch_one(p).await)?;
        if n > 0 {
            return Err(StoreError::Conflict(format!(
                "odoo version {} is used by {n} environment(s)",
                v.version
            )));
        }
        let sql = "DELETE FROM odoo_versions WHERE id = $1";
        with_db!(self.db(), p => sqlx::query(sql).bind(id).execute(p).await.map(|_| ()))
            .map_err(StoreError::classify)?;
        Ok(())
    }
}
