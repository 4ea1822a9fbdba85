//! `creating_network`: the environment's isolated bridge network
//! `paasportal_net_{env_uuid}`, reused when a previous deployment created it.

use async_trait::async_trait;
use paasportal_odoo::docker_args::{
    is_already_exists, is_not_found, network_create, network_inspect,
};
use paasportal_odoo::messages;
use serde_json::json;

use super::docker;
use super::plan::plan;
use crate::context::StageContext;
use crate::stage::{StageError, StageHandler, StageOutcome};

/// Creates the environment's network.
#[derive(Debug, Clone, Copy, Default)]
pub struct CreatingNetwork;

#[async_trait]
impl StageHandler for CreatingNetwork {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        let p = plan(cx).await?;
        let name = p.names.network();
        cx.info(&messages::creating_network(&name)).await;
        let data = json!({"network": name});
        let found = docker::probe(cx, &network_inspect(&name)).await?;
        if found.status.success() {
            return Ok(
                StageOutcome::completed(format!("Network {name} already exists")).with_data(data),
            );
        }
        if !is_not_found(&found.stdout_text()) {
            return Err(docker::failed(
                &format!("Cannot inspect network {name}"),
                &found,
                data,
            ));
        }
        let created = docker::probe(cx, &network_create(&p.names)).await?;
        if !created.status.success() && !is_already_exists(&created.stdout_text()) {
            return Err(docker::failed(
                &format!("Failed to create network {name}"),
                &created,
                data,
            ));
        }
        Ok(StageOutcome::completed("Network created").with_data(data))
    }
}
