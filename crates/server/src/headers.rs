//! Headers every response carries: the Content-Security-Policy that keeps the web console
//! to its own origin (no inline script, no framing), `nosniff`, no referrer, HSTS when the
//! request came over https, and `no-store` on everything under `/api/v1/auth/`.

use axum::extract::Request;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// Scripts, styles, images and connections from this origin only; nothing inline, no
/// plugins, no framing, forms post only here.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The middleware: adds the headers after the handler ran.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let https = is_https(req.headers());
    let auth = req.uri().path().starts_with("/api/v1/auth/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if https {
        h.insert(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    if auth {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// Whether the browser reached us over https, as a TLS-terminating proxy reports it
/// (`X-Forwarded-Proto` or `Forwarded: proto=https`). A forged header can only make the
/// server stricter (HSTS, `Secure` cookies), never weaker.
pub fn is_https(headers: &HeaderMap) -> bool {
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get("forwarded")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("proto=https"));
    forwarded_proto || forwarded
}
