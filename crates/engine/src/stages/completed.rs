//! `completed`: records what the deployment left running (the Odoo container's id and
//! image) on the deployment; the runner then records the outcome (status, duration,
//! the environment's status) and writes the spec's closing lines.

use async_trait::async_trait;
use paasportal_core::LogLevel;
use paasportal_core::diagnostics::ErrorCode;
use serde_json::json;

use super::plan::StartedContainer;
use crate::context::StageContext;
use crate::stage::{StageError, StageHandler, StageOutcome};

/// The default `completed` stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct Completed;

#[async_trait]
impl StageHandler for Completed {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        if let Some(c) = cx.vars().get::<StartedContainer>() {
            cx.store()
                .set_deployment_container(cx.deployment().id, &c.id, &c.image)
                .await
                .map_err(|e| {
                    StageError::new(
                        format!("Cannot record the deployment's container: {e}"),
                        ErrorCode::Internal,
                        json!({"container_id": c.id}),
                    )
                })?;
            let short: String = c.id.chars().take(12).collect();
            cx.log(
                LogLevel::Info,
                &format!("Container {} ({short}) runs {}", c.name, c.image),
                json!({"container_id": c.id, "container_name": c.name, "image_tag": c.image}),
            )
            .await;
        }
        Ok(StageOutcome::completed(""))
    }

    fn alters_environment(&self) -> bool {
        false
    }
}
