//! `paasportal logs DEPLOYMENT_ID [-f] [--level L] [--search TEXT]`.

use clap::Args;
use serde_json::Value;
use uuid::Uuid;

use crate::client::Client;
use crate::commands::follow;
use crate::error::CliError;
use crate::render::{colour, log_line};

/// Flags of `logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The deployment whose log to print.
    pub deployment_id: Uuid,
    /// Follow the log live until the deployment ends; exit 1 if it fails.
    #[arg(short, long)]
    pub follow: bool,
    /// Only lines of this level (debug, info, warning, error).
    #[arg(long)]
    pub level: Option<String>,
    /// Only lines whose message contains this text (case-insensitive).
    #[arg(long)]
    pub search: Option<String>,
}

const PAGE: usize = 5000;

/// Prints the log page by page (or follows it).
pub async fn run(a: LogsArgs) -> Result<u8, CliError> {
    let mut c = Client::from_saved()?;
    if a.follow {
        return follow::follow(&mut c, a.deployment_id, a.level.as_deref()).await;
    }
    let on = colour();
    let mut skip = 0;
    loop {
        let mut path = format!(
            "/api/v1/deployments/{}/logs?skip={skip}&limit={PAGE}",
            a.deployment_id
        );
        if let Some(l) = &a.level {
            path.push_str(&format!("&level={}", encode(l)));
        }
        if let Some(q) = &a.search {
            path.push_str(&format!("&q={}", encode(q)));
        }
        let page: Value = c.get(&path).await?;
        let logs = page["logs"].as_array().cloned().unwrap_or_default();
        for l in &logs {
            println!(
                "{}",
                log_line(
                    l["timestamp"].as_str().unwrap_or(""),
                    l["level"].as_str().unwrap_or("info"),
                    l["step"].as_str(),
                    l["message"].as_str().unwrap_or(""),
                    &l["data"],
                    on
                )
            );
        }
        if logs.len() < PAGE {
            return Ok(0);
        }
        skip += PAGE;
    }
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
