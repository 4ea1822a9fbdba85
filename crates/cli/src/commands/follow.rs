//! Following one deployment live over its log stream, resuming with `Last-Event-ID`
//! after a dropped connection, until the deployment ends.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use uuid::Uuid;

use crate::client::Client;
use crate::error::CliError;
use crate::render::{self, colour, log_line};
use crate::sse::SseParser;

const MAX_RECONNECTS: u32 = 10;

/// Prints the deployment's log as it happens; returns 0 on success, 1 otherwise.
pub async fn follow(c: &mut Client, id: Uuid, level: Option<&str>) -> Result<u8, CliError> {
    let on = colour();
    let mut last_id: Option<i64> = None;
    let mut failures = 0u32;
    loop {
        match stream_once(c, id, level, &mut last_id, on).await {
            Ok(()) => failures = 0,
            Err(e @ CliError::Api { .. })
            | Err(e @ CliError::NotLoggedIn)
            | Err(e @ CliError::SessionExpired) => {
                return Err(e);
            }
            Err(e) => {
                failures += 1;
                if failures > MAX_RECONNECTS {
                    return Err(e);
                }
                let wait = Duration::from_millis(500 * 2u64.pow(failures.min(5)));
                eprintln!(
                    "{} {e}; reconnecting in {:.1}s",
                    render::paint("stream interrupted:", "33", on),
                    wait.as_secs_f64()
                );
                tokio::time::sleep(wait).await;
            }
        }
        let d: Value = c.get(&format!("/api/v1/deployments/{id}")).await?;
        let status = d["status"].as_str().unwrap_or("?");
        if matches!(status, "success" | "failed" | "cancelled") {
            println!(
                "\nDeployment {} · {}",
                render::status(status, on),
                render::seconds(d["duration_seconds"].as_f64())
            );
            if let Some(err) = d["error_message"].as_str() {
                println!("{} {err}", render::paint("Error:", "1;31", on));
            }
            return Ok(if status == "success" { 0 } else { 1 });
        }
    }
}

/// Reads the stream until the server closes it; keeps `last_id` up to date.
async fn stream_once(
    c: &mut Client,
    id: Uuid,
    level: Option<&str>,
    last_id: &mut Option<i64>,
    on: bool,
) -> Result<(), CliError> {
    let resp = c
        .stream(&format!("/api/v1/deployments/{id}/logs/stream"), *last_id)
        .await?;
    let mut parser = SseParser::default();
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| CliError::Invalid(e.to_string()))?;
        for ev in parser.feed(&chunk) {
            if let Some(seq) = ev.id.as_deref().and_then(|s| s.parse().ok()) {
                *last_id = Some(seq);
            }
            if ev.event != "deployment_progress" {
                continue;
            }
            let Ok(wire) = serde_json::from_str::<Value>(&ev.data) else {
                continue;
            };
            let d = &wire["data"];
            let lvl = d["level"].as_str().unwrap_or("info");
            if level.is_some_and(|want| want != lvl) {
                continue;
            }
            println!(
                "{}",
                log_line(
                    d["timestamp"].as_str().unwrap_or(""),
                    lvl,
                    d["step"].as_str(),
                    d["message"].as_str().unwrap_or(""),
                    &d["data"],
                    on
                )
            );
        }
    }
    Ok(())
}
