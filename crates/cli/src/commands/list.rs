//! `paasportal deployments`: the history, newest first.

use clap::Args;
use serde_json::Value;
use uuid::Uuid;

use crate::client::Client;
use crate::error::CliError;
use crate::render::{self, colour};

/// Flags of `deployments`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this project's deployments.
    #[arg(long)]
    pub project: Option<Uuid>,
    /// Only deployments in this status (pending, running, success, failed, cancelled).
    #[arg(long)]
    pub status: Option<String>,
    /// How many to show.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Prints a table of deployments.
pub async fn run(a: ListArgs) -> Result<u8, CliError> {
    let mut c = Client::from_saved()?;
    let mut path = format!("/api/v1/deployments?limit={}", a.limit);
    if let Some(p) = a.project {
        path.push_str(&format!("&project_id={p}"));
    }
    if let Some(s) = &a.status {
        path.push_str(&format!("&status={s}"));
    }
    let list: Vec<Value> = c.get(&path).await?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&list).expect("JSON prints")
        );
        return Ok(0);
    }
    let on = colour();
    println!(
        "{:<36}  {:>4}  {:<9}  {:<8}  {:<20}  {:>9}  ERROR",
        "ID", "VER", "STATUS", "TRIGGER", "CREATED", "DURATION"
    );
    for d in &list {
        let status = d["status"].as_str().unwrap_or("?");
        println!(
            "{:<36}  {:>4}  {}  {:<8}  {:<20}  {:>9}  {}",
            d["id"].as_str().unwrap_or("?"),
            d["version"],
            render::status_padded(status, 9, on),
            d["trigger"].as_str().unwrap_or("-"),
            d["created_at"]
                .as_str()
                .map(|t| t.get(..19).unwrap_or(t).replace('T', " "))
                .unwrap_or_default(),
            render::seconds(d["duration_seconds"].as_f64()),
            d["error_message"].as_str().unwrap_or(""),
        );
    }
    if list.is_empty() {
        println!("(no deployments)");
    }
    Ok(0)
}
