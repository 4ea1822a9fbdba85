//! `GET /api/v1/deployments/{id}/logs/export?format=json|txt|ndjson`: the whole log,
//! streamed from the database in keyset pages so memory stays constant for any size.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use paasportal_core::Permission;
use paasportal_core::event::wire_time;
use paasportal_store::Store;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::authz;
use crate::dto::deployment::{ExportQuery, LogOut};
use crate::error::ApiResult;
use crate::extract::{Path, Query, unprocessable};
use crate::state::AppState;

/// Lines read per database round trip.
const PAGE: i64 = 1000;
/// Rendered pages that may wait for a slow client.
const BUFFERED_PAGES: usize = 2;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Txt,
    Ndjson,
}

impl Format {
    fn parse(s: Option<&str>) -> ApiResult<Format> {
        match s.unwrap_or("json") {
            "json" => Ok(Format::Json),
            "txt" => Ok(Format::Txt),
            "ndjson" => Ok(Format::Ndjson),
            other => Err(unprocessable(
                "format",
                format!("invalid format '{other}' (expected one of: json txt ndjson)"),
            )),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Txt => "text/plain; charset=utf-8",
            Format::Ndjson => "application/x-ndjson",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Txt => "txt",
            Format::Ndjson => "ndjson",
        }
    }
}

/// What the export's header names.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub deployment_id: Uuid,
    pub project_name: String,
    pub environment_name: String,
    pub exported_at: DateTime<Utc>,
}

/// `GET /api/v1/deployments/{deployment_id}/logs/export`: the full log as a download.
#[utoipa::path(
    get,
    path = "/api/v1/deployments/{deployment_id}/logs/export",
    tag = "deployments",
    params(("deployment_id" = Uuid, Path), ExportQuery),
    responses((status = 200, description = "The log as JSON, text or NDJSON", content((serde_json::Value = "application/json"), (String = "text/plain"), (String = "application/x-ndjson")))),
    security(("bearer" = []))
)]
pub async fn export(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    let format = Format::parse(q.format.as_deref())?;
    let access = user.access(&state).await?;
    authz::deployment(&state, &access, id, Permission::DeploymentsView).await?;
    let ctx = state.store.deployment_context(id).await?;
    let env = Envelope {
        deployment_id: id,
        project_name: ctx.project_name,
        environment_name: ctx.environment_name,
        exported_at: Utc::now(),
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(BUFFERED_PAGES);
    tokio::spawn(produce(state.store.clone(), env, format, tx));
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let filename = format!("deployment-{id}-logs.{}", format.extension());
    Ok((
        [
            (CONTENT_TYPE, format.content_type().to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Reads pages and sends rendered chunks until the log ends, the client leaves, or the
/// database fails (then the body is aborted, so a truncated file is never mistaken for a whole one).
async fn produce(
    store: Store,
    env: Envelope,
    format: Format,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    if tx.send(Ok(Bytes::from(head(&env, format)))).await.is_err() {
        return;
    }
    let mut after = None;
    let mut first = true;
    loop {
        let page = match store.logs_page_after(env.deployment_id, after, PAGE).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(deployment_id = %env.deployment_id, error = %e, "export aborted");
                let _ = tx.send(Err(std::io::Error::other("database error"))).await;
                return;
            }
        };
        let Some(last) = page.last() else { break };
        after = Some((last.log.timestamp, last.seq));
        let full = page.len() as i64 == PAGE;
        let mut buf = String::with_capacity(page.len() * 160);
        for rec in page {
            render_line(&mut buf, format, LogOut::from(rec), &mut first);
        }
        if tx.send(Ok(Bytes::from(buf))).await.is_err() {
            return;
        }
        if !full {
            break;
        }
    }
    if format == Format::Json {
        let _ = tx.send(Ok(Bytes::from_static(b"]}\n"))).await;
    }
}

/// The text before the first line: the JSON envelope's opening or the text header.
pub fn head(env: &Envelope, format: Format) -> String {
    match format {
        Format::Json => {
            let mut h = serde_json::json!({
                "deployment_id": env.deployment_id,
                "project_name": env.project_name,
                "environment_name": env.environment_name,
                "exported_at": wire_time(&env.exported_at),
            })
            .to_string();
            h.pop();
            h.push_str(",\"logs\":[");
            h
        }
        Format::Txt => format!(
            "=== Deployment Logs ===\nDeployment ID: {}\nProject: {}\nEnvironment: {}\nExported: {}\n\n",
            env.deployment_id,
            env.project_name,
            env.environment_name,
            env.exported_at.format("%Y-%m-%d %H:%M:%S UTC"),
        ),
        Format::Ndjson => String::new(),
    }
}

/// Appends one line in `format`.
pub fn render_line(buf: &mut String, format: Format, l: LogOut, first: &mut bool) {
    match format {
        Format::Json => {
            if !*first {
                buf.push(',');
            }
            buf.push_str(&serde_json::to_string(&l).expect("log lines serialize"));
        }
        Format::Ndjson => {
            buf.push_str(&serde_json::to_string(&l).expect("log lines serialize"));
            buf.push('\n');
        }
        Format::Txt => {
            // One physical line per log line: embedded newlines are indented continuations.
            let message = l.message.replace('\n', "\n    ");
            buf.push_str(&format!(
                "[{}] [{}] {}\n",
                l.timestamp.format("%Y-%m-%d %H:%M:%S"),
                l.level.as_str().to_uppercase(),
                message
            ));
        }
    }
    *first = false;
}

#[cfg(test)]
mod tests {
    use super::*;
    use paasportal_core::LogLevel;

    fn env() -> Envelope {
        Envelope {
            deployment_id: Uuid::nil(),
            project_name: "MyProject".into(),
            environment_name: "production".into(),
            exported_at: "2025-01-08T15:00:00Z".parse().unwrap(),
        }
    }

    fn line(msg: &str) -> LogOut {
        LogOut {
            id: Uuid::nil(),
            seq: 1,
            level: LogLevel::Info,
            message: msg.into(),
            timestamp: "2025-01-08T14:32:15Z".parse().unwrap(),
            step: Some("initializing".into()),
            data: serde_json::Value::Null,
        }
    }

    #[test]
    fn text_layout_is_the_specs() {
        let mut out = head(&env(), Format::Txt);
        let mut first = true;
        render_line(
            &mut out,
            Format::Txt,
            line("Deployment created and queued"),
            &mut first,
        );
        assert_eq!(
            out,
            "=== Deployment Logs ===\nDeployment ID: 00000000-0000-0000-0000-000000000000\n\
             Project: MyProject\nEnvironment: production\nExported: 2025-01-08 15:00:00 UTC\n\n\
             [2025-01-08 14:32:15] [INFO] Deployment created and queued\n"
        );
    }

    #[test]
    fn json_envelope_parses() {
        let mut out = head(&env(), Format::Json);
        let mut first = true;
        for m in ["a", "b\nc"] {
            render_line(&mut out, Format::Json, line(m), &mut first);
        }
        out.push_str("]}\n");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["project_name"], "MyProject");
        assert_eq!(v["environment_name"], "production");
        assert_eq!(v["exported_at"], "2025-01-08T15:00:00.000000Z");
        assert_eq!(v["logs"][1]["message"], "b\nc");
        assert_eq!(v["logs"].as_array().unwrap().len(), 2);
    }
}
