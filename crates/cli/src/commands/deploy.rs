//! `paasportal deploy ENVIRONMENT_ID [-f]`.

use clap::Args;
use serde_json::Value;
use uuid::Uuid;

use crate::client::Client;
use crate::commands::follow;
use crate::error::CliError;

/// Flags of `deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The environment to deploy.
    pub environment_id: Uuid,
    /// Follow the deployment's log until it ends; exit 1 if it fails.
    #[arg(short, long)]
    pub follow: bool,
}

/// Queues a deployment (and follows it with `-f`).
pub async fn run(a: DeployArgs) -> Result<u8, CliError> {
    let mut c = Client::from_saved()?;
    let body = serde_json::json!({ "environment_id": a.environment_id });
    let d: Value = match c.post("/api/v1/deployments", &body).await {
        Err(CliError::Api {
            status: 409,
            detail,
        }) => {
            return Err(CliError::Invalid(format!(
                "{detail}: follow it with `paasportal logs -f <deployment-id>` (see `paasportal deployments`)"
            )));
        }
        other => other?,
    };
    let id = d["id"].as_str().unwrap_or_default().to_owned();
    println!("Deployment {id} (version {}) queued", d["version"]);
    if !a.follow {
        return Ok(0);
    }
    let id: Uuid = id
        .parse()
        .map_err(|_| CliError::Invalid("the server returned no deployment id".into()))?;
    follow::follow(&mut c, id, None).await
}
