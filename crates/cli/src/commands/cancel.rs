//! `paasportal cancel DEPLOYMENT_ID`.

use clap::Args;
use serde_json::Value;
use uuid::Uuid;

use crate::client::Client;
use crate::error::CliError;

/// Flags of `cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The deployment to cancel.
    pub deployment_id: Uuid,
}

/// Asks the server to cancel the deployment.
pub async fn run(a: CancelArgs) -> Result<u8, CliError> {
    let mut c = Client::from_saved()?;
    let r: Value = c
        .post(
            &format!("/api/v1/deployments/{}/cancel", a.deployment_id),
            &serde_json::json!({}),
        )
        .await?;
    println!(
        "{}",
        r["message"].as_str().unwrap_or("Deployment cancelled")
    );
    Ok(0)
}
