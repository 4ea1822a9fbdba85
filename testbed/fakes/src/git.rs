//! Git's smart HTTP protocol: each request under `/git/` is handed to
//! `git http-backend` as a CGI program. Private repositories answer 401 with a
//! basic-auth challenge unless the request carries the token as its password. An
//! optional latency delays every response, as a distant git host would.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::AsyncWriteExt;

/// Where the repositories are and which need the token.
pub struct GitConfig {
    pub root: PathBuf,
    /// Repository directory names (`NAME.git`) that need the token.
    pub private: Vec<String>,
    pub token: String,
    /// Added before each response (a round trip's worth); zero on loopback.
    pub latency: Duration,
}

/// The routes: everything under `/git/`.
pub fn router(config: GitConfig) -> Router {
    Router::new()
        .route("/git/{*path}", any(handle))
        .with_state(Arc::new(config))
}

fn authorized(config: &GitConfig, headers: &HeaderMap) -> bool {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(b64) = value.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(decoded) = STANDARD.decode(b64.trim()) else {
        return false;
    };
    let text = String::from_utf8_lossy(&decoded);
    matches!(text.split_once(':'), Some((_, password)) if password == config.token)
}

async fn handle(
    State(config): State<Arc<GitConfig>>,
    method: Method,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !config.latency.is_zero() {
        tokio::time::sleep(config.latency).await;
    }
    let repo = path.split('/').next().unwrap_or("");
    if path.split('/').any(|c| c == "..") {
        return (StatusCode::BAD_REQUEST, "bad path").into_response();
    }
    if config.private.iter().any(|p| p == repo) && !authorized(&config, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Basic realm=\"testbed git\"")],
            "authentication required\n",
        )
            .into_response();
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", &config.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", method.as_str())
        .env("PATH_INFO", format!("/{path}"))
        .env("QUERY_STRING", query.unwrap_or_default())
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("GIT_PROTOCOL", header("git-protocol"))
        .env("REMOTE_USER", "testbed")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("git http-backend: {e}"),
            )
                .into_response();
        }
    };
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
    });
    let out = match child.wait_with_output().await {
        Ok(o) => o,
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("git http-backend: {e}"),
            )
                .into_response();
        }
    };
    let _ = writer.await;
    cgi_response(&out.stdout).unwrap_or_else(|| {
        (
            StatusCode::BAD_GATEWAY,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
            .into_response()
    })
}

/// Turns CGI output (headers, blank line, body) into a response.
fn cgi_response(raw: &[u8]) -> Option<Response> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, 4))
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|p| (p, 2)))?;
    let (head, body) = (&raw[..split.0], &raw[split.0 + split.1..]);
    let mut status = StatusCode::OK;
    let mut resp = Response::builder();
    for line in String::from_utf8_lossy(head).lines() {
        let (k, v) = line.split_once(':')?;
        let v = v.trim();
        if k.eq_ignore_ascii_case("status") {
            status = v
                .split_whitespace()
                .next()?
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())?;
        } else {
            resp = resp.header(
                HeaderName::from_bytes(k.trim().as_bytes()).ok()?,
                HeaderValue::from_str(v).ok()?,
            );
        }
    }
    resp.status(status).body(Body::from(body.to_vec())).ok()
}
