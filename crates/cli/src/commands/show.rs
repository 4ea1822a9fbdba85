//! `paasportal show DEPLOYMENT_ID`: status, timings and every stage.

use clap::Args;
use serde_json::Value;
use uuid::Uuid;

use crate::client::Client;
use crate::error::CliError;
use crate::render::{self, colour, paint};

/// Flags of `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The deployment to show.
    pub deployment_id: Uuid,
}

/// Prints the deployment and its progress, one line per stage.
pub async fn run(a: ShowArgs) -> Result<u8, CliError> {
    let mut c = Client::from_saved()?;
    let d: Value = c
        .get(&format!("/api/v1/deployments/{}", a.deployment_id))
        .await?;
    let p: Value = c
        .get(&format!("/api/v1/deployments/{}/progress", a.deployment_id))
        .await?;
    let on = colour();
    println!(
        "Deployment {} · version {} · {} · {}%",
        d["id"].as_str().unwrap_or("?"),
        d["version"],
        render::status(d["status"].as_str().unwrap_or("?"), on),
        p["progress_percent"]
    );
    if let Some(commit) = d["git_commit"].as_str() {
        println!(
            "Commit {} on {} — {}",
            commit.get(..7).unwrap_or(commit),
            d["git_branch"].as_str().unwrap_or("?"),
            d["git_message"].as_str().unwrap_or("")
        );
    }
    println!(
        "Started {} · finished {} · took {}",
        d["started_at"].as_str().unwrap_or("-"),
        d["completed_at"].as_str().unwrap_or("-"),
        render::seconds(d["duration_seconds"].as_f64())
    );
    if let Some(err) = d["error_message"].as_str() {
        println!("{} {err}", paint("Error:", "1;31", on));
    }
    println!();
    for step in p["steps"].as_array().into_iter().flatten() {
        println!(
            "  {} {:<28} {:>8}  {}",
            render::step_icon(step["status"].as_str().unwrap_or("pending"), on),
            step["name"].as_str().unwrap_or("?"),
            render::seconds(step["duration_seconds"].as_f64()),
            paint(step["latest_message"].as_str().unwrap_or(""), "2", on)
        );
    }
    Ok(0)
}
