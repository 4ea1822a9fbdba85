//! `initializing`: the spec's opening lines and the configuration checks that need no server.

use async_trait::async_trait;
use paasportal_core::diagnostics::ErrorCode;
use paasportal_core::{LogLevel, OdooVersion};
use paasportal_store::StoreError;
use serde_json::{Value, json};

use crate::context::StageContext;
use crate::stage::{StageError, StageHandler, StageOutcome};

/// Logs what is being deployed where, and checks the environment's Odoo version exists.
/// Leaves the [`OdooVersion`] in the context's vars for later stages.
#[derive(Debug, Clone, Copy, Default)]
pub struct Initializing;

#[async_trait]
impl StageHandler for Initializing {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        let (dep, env) = (cx.deployment(), cx.environment());
        cx.log_at(
            dep.created_at,
            LogLevel::Info,
            "Deployment created and queued",
            Value::Null,
        )
        .await;
        cx.info(&format!("Deploying {} ({})", cx.project().name, env.name))
            .await;
        cx.info(&format!("Instance UUID: {}", env.id)).await;
        // By name: the address is for those who may see the server.
        cx.info(&format!("Target server: {}", cx.server().name))
            .await;
        let version = match cx.store().get_odoo_version(&env.odoo_version).await {
            Ok(v) => v,
            Err(StoreError::NotFound) => {
                return Err(StageError::new(
                    format!(
                        "Odoo version {} is not configured on this portal",
                        env.odoo_version
                    ),
                    ErrorCode::ConfigInvalid,
                    json!({"odoo_version": env.odoo_version}),
                ));
            }
            Err(e) => {
                return Err(StageError::new(
                    format!("Cannot load the environment's configuration: {e}"),
                    ErrorCode::Internal,
                    Value::Null,
                ));
            }
        };
        cx.vars().insert::<OdooVersion>(version);
        Ok(StageOutcome::completed("Configuration loaded"))
    }

    fn alters_environment(&self) -> bool {
        false
    }
}
