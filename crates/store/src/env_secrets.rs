//! An environment's generated database secrets, sealed by the engine with the master
//! key: the password of its `odoo` role and of its replication role. Each is set once,
//! on the first deployment that needs it, and kept for every redeploy (the database
//! volume keeps the roles the first start created).

use chrono::Utc;
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::{Store, with_db};

/// One sealed secret, `None` until generated.
type Sealed = Option<Vec<u8>>;

/// Sealed secrets of one environment; `None` until generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbSecrets {
    pub db_password_enc: Option<Vec<u8>>,
    pub replication_password_enc: Option<Vec<u8>>,
}

impl Store {
    /// The sealed database secrets of an environment.
    pub async fn get_db_secrets(&self, environment_id: Uuid) -> Result<DbSecrets> {
        let sql =
            "SELECT db_password_enc, replication_password_enc FROM environments WHERE id = $1";
        let row: Option<(Sealed, Sealed)> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(environment_id)
            .fetch_optional(p)
            .await)?;
        let (db, repl) = row.ok_or(StoreError::NotFound)?;
        Ok(DbSecrets {
            db_password_enc: db,
            replication_password_enc: repl,
        })
    }

    /// Stores the given sealed secrets where none is stored yet and returns what is
    /// stored afterwards: of two deployments racing, both use the first one's.
    pub async fn ensure_db_secrets(
        &self,
        environment_id: Uuid,
        proposed: &DbSecrets,
    ) -> Result<DbSecrets> {
        let sql = "UPDATE environments SET \
             db_password_enc = COALESCE(db_password_enc, $2), \
             replication_password_enc = COALESCE(replication_password_enc, $3), \
             updated_at = $4 WHERE id = $1";
        let n = with_db!(self.db(), p => sqlx::query(sql)
            .bind(environment_id)
            .bind(&proposed.db_password_enc)
            .bind(&proposed.replication_password_enc)
            .bind(Utc::now())
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.get_db_secrets(environment_id).await
    }
}
