//! What a successful deployment leaves running, recorded on the deployment.

use chrono::Utc;
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::{Store, with_db};

impl Store {
    /// Records what a successful deployment runs: its Odoo container and image.
    pub async fn set_deployment_container(
        &self,
        deployment_id: Uuid,
        container_id: &str,
        image_tag: &str,
    ) -> Result<()> {
        let sql = "UPDATE deployments SET container_id = $2, image_tag = $3, updated_at = $4 WHERE id = $1";
        let n = with_db!(self.db(), p => sqlx::query(sql)
            .bind(deployment_id)
            .bind(container_id)
            .bind(image_tag)
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
