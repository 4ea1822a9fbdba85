//! The web console: a single-page app of plain ES modules, embedded in the binary at
//! compile time and served at `/`.
//!
//! Why plain modules and not server-rendered templates: every page of the console is live
//! (progress, stage states, log lines, toasts) and driven by the same REST API and event
//! stream a third-party client uses; a template layer would render a first state that the
//! modules then have to take over anyway. There is no build step: the files under
//! `assets/` are what the browser runs. No third-party browser code, no CDN, no web
//! fonts: the page makes requests to its own origin only (the Content-Security-Policy the
//! server sets enforces it).
//!
//! Routes: `GET /assets/{path}` serves a file (with an `ETag`; `304` when unchanged); any
//! other `GET` outside `/api/` answers the app's shell, `index.html`, so a deep link such
//! as `/deployments/{id}` opens that page (the app reads the path). In debug builds the
//! files are read from disk on each request (edit, reload); release builds embed them.

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

#[derive(rust_embed::Embed)]
#[folder = "assets/"]
struct Assets;

/// `GET /assets/{*path}`; merge into the application's router.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/assets/{*path}", get(asset))
}

/// Whether `path` belongs to the console (everything outside the API and the probes).
pub fn owns(path: &str) -> bool {
    !(path == "/api" || path.starts_with("/api/") || path == "/healthz" || path == "/readyz")
}

/// The app's shell for a client-side route, or `None` when the request is not one (not a
/// `GET`/`HEAD`, or a path the console does not own).
pub fn shell(method: &Method, uri: &Uri) -> Option<Response> {
    if (method != Method::GET && method != Method::HEAD) || !owns(uri.path()) {
        return None;
    }
    let file = Assets::get("index.html")?;
    let mut resp = Response::new(Body::from(file.data.into_owned()));
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The shell names no versioned assets; always revalidate so an upgrade shows at once.
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Some(resp)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(file) = Assets::get(&path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..12]));
    if headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return (StatusCode::NOT_MODIFIED, [(ETAG, etag)]).into_response();
    }
    let mut resp = Response::new(Body::from(file.data.into_owned()));
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type(&path)));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(ETAG, v);
    }
    resp
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_answers_page_paths_only() {
        let get = Method::GET;
        assert!(shell(&get, &"/".parse().unwrap()).is_some());
        assert!(shell(&get, &"/deployments/abc".parse().unwrap()).is_some());
        assert!(shell(&get, &"/api/v1/nope".parse().unwrap()).is_none());
        assert!(shell(&get, &"/api".parse().unwrap()).is_none());
        assert!(shell(&Method::POST, &"/".parse().unwrap()).is_none());
    }

    #[test]
    fn every_module_the_shell_loads_is_embedded() {
        let index =
            String::from_utf8(Assets::get("index.html").unwrap().data.into_owned()).unwrap();
        for src in index.split("/assets/").skip(1) {
            let name = &src[..src.find('"').unwrap()];
            assert!(Assets::get(name).is_some(), "{name} is missing");
        }
        for name in Assets::iter() {
            if name.ends_with(".js") {
                let js = String::from_utf8(Assets::get(&name).unwrap().data.into_owned()).unwrap();
                for import in js.lines().filter_map(|l| l.split("from \"./").nth(1)) {
                    let target = &import[..import.find('"').unwrap()];
                    let dir = name.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                    let full = if dir.is_empty() {
                        target.to_owned()
                    } else {
                        format!("{dir}/{target}")
                    };
                    assert!(
                        Assets::get(&full).is_some(),
                        "{name} imports missing {full}"
                    );
                }
            }
        }
    }
}
