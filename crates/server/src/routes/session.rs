//! Browser sessions: `POST /api/v1/auth/session` (log in), `POST …/session/refresh` and
//! `DELETE …/session` (log out).
//!
//! The web console keeps its access token in memory only (never `localStorage`, where any
//! injected script could read it); the refresh token lives in an `HttpOnly`,
//! `SameSite=Strict` cookie scoped to these three paths, `Secure` when the request came
//! over https. They are the token endpoints of `auth.rs` with the refresh token moved into
//! the cookie, so rotation, reuse detection and throttling are the same code.
//!
//! CSRF: a cookie travels with any request the browser makes, so every session endpoint
//! requires the custom header `X-Paasportal-CSRF` (a cross-site page cannot set it without
//! a CORS preflight, which this server never grants) and, when the browser sends `Origin`,
//! that it names this host.

use axum::extract::State;
use axum::http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::auth::{self, LoginRequest, RefreshRequest};
use crate::auth::AuthUser;
use crate::auth::tokens::hash_refresh_token;
use crate::client_addr::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::headers::is_https;
use crate::state::AppState;

/// The refresh cookie's name.
pub const REFRESH_COOKIE: &str = "paasportal_refresh";
/// The header every session request must carry.
pub const CSRF_HEADER: &str = "x-paasportal-csrf";
/// The cookie's path: it is sent to the session endpoints and nowhere else.
const COOKIE_PATH: &str = "/api/v1/auth/session";

/// An access token for the page; the refresh token is in the cookie.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionOut {
    pub access_token: String,
    /// Always `"bearer"`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// `POST /api/v1/auth/session`: e-mail and password for an access token and the refresh cookie.
#[utoipa::path(
    post,
    path = "/api/v1/auth/session",
    tag = "auth",
    request_body = LoginRequest,
    params(("X-Paasportal-CSRF" = String, Header, description = "Any value; required")),
    responses(
        (status = 200, description = "Success; sets the refresh cookie", body = SessionOut),
        (status = 401, description = "Wrong e-mail or password", body = crate::openapi::ErrorBody),
        (status = 403, description = "Missing CSRF header or foreign origin", body = crate::openapi::ErrorBody),
        (status = 429, description = "Too many failed attempts", body = crate::openapi::ErrorBody),
    ),
    security(())
)]
pub async fn create(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Response> {
    check_csrf(&headers)?;
    let Json(pair) = auth::login(State(state.clone()), addr, Json(req)).await?;
    Ok(session_response(&state, &headers, pair))
}

/// `POST /api/v1/auth/session/refresh`: the refresh cookie for a new access token (the
/// cookie is rotated; a reused one revokes the whole session).
#[utoipa::path(
    post,
    path = "/api/v1/auth/session/refresh",
    tag = "auth",
    params(("X-Paasportal-CSRF" = String, Header, description = "Any value; required")),
    responses(
        (status = 200, description = "Success; rotates the refresh cookie", body = SessionOut),
        (status = 401, description = "No valid refresh cookie", body = crate::openapi::ErrorBody),
        (status = 403, description = "Missing CSRF header or foreign origin", body = crate::openapi::ErrorBody),
    ),
    security(())
)]
pub async fn refresh(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    check_csrf(&headers)?;
    let Some(token) = refresh_cookie(&headers) else {
        return Err(ApiError::Unauthorized("no refresh cookie".into()));
    };
    let req = RefreshRequest {
        refresh_token: token.to_owned(),
    };
    match auth::refresh(State(state.clone()), Json(req)).await {
        Ok(Json(pair)) => Ok(session_response(&state, &headers, pair)),
        // A dead cookie is cleared, so the page stops offering it.
        Err(e) => Ok(with_cookie(e.into_response(), &clear_cookie(&headers))),
    }
}

/// `DELETE /api/v1/auth/session`: ends this browser's session and clears the cookie.
#[utoipa::path(
    delete,
    path = "/api/v1/auth/session",
    tag = "auth",
    params(("X-Paasportal-CSRF" = String, Header, description = "Any value; required")),
    responses(
        (status = 204, description = "Done; clears the refresh cookie"),
        (status = 403, description = "Missing CSRF header or foreign origin", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
) -> ApiResult<Response> {
    check_csrf(&headers)?;
    // Only this browser's session ends (other devices stay logged in).
    if let Some(token) = refresh_cookie(&headers) {
        state
            .store
            .revoke_refresh_token(user.user_id, &hash_refresh_token(token))
            .await?;
    }
    Ok(with_cookie(
        StatusCode::NO_CONTENT.into_response(),
        &clear_cookie(&headers),
    ))
}

/// 403 unless the request carries the CSRF header and, if it names one, our own origin.
fn check_csrf(headers: &HeaderMap) -> ApiResult<()> {
    if !headers.contains_key(CSRF_HEADER) {
        return Err(ApiError::Forbidden(format!(
            "the {CSRF_HEADER} header is required"
        )));
    }
    if let Some(origin) = headers.get(ORIGIN) {
        let host = headers.get(HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, rest)| rest.trim_end_matches('/'));
        if host.is_none() || origin_host != host {
            return Err(ApiError::Forbidden(
                "cross-origin session requests are refused".into(),
            ));
        }
    }
    Ok(())
}

/// The refresh cookie's value, if sent.
fn refresh_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, v)| *k == REFRESH_COOKIE && !v.is_empty())
        .map(|(_, v)| v)
}

fn cookie(headers: &HeaderMap, value: &str, max_age: u64) -> String {
    let secure = if is_https(headers) { "; Secure" } else { "" };
    format!(
        "{REFRESH_COOKIE}={value}; Path={COOKIE_PATH}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    )
}

fn clear_cookie(headers: &HeaderMap) -> String {
    cookie(headers, "", 0)
}

fn with_cookie(mut resp: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}

fn session_response(state: &AppState, headers: &HeaderMap, pair: auth::TokenResponse) -> Response {
    let cookie = cookie(
        headers,
        &pair.refresh_token,
        state.auth.refresh_ttl.as_secs(),
    );
    let body = SessionOut {
        access_token: pair.access_token,
        token_type: pair.token_type,
        expires_in: pair.expires_in,
    };
    with_cookie(Json(body).into_response(), &cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn csrf_needs_the_header_and_our_origin() {
        assert!(check_csrf(&headers(&[])).is_err());
        assert!(check_csrf(&headers(&[(CSRF_HEADER, "1")])).is_ok());
        let same = [
            (CSRF_HEADER, "1"),
            ("host", "portal.example:8080"),
            ("origin", "https://portal.example:8080"),
        ];
        assert!(check_csrf(&headers(&same)).is_ok());
        let foreign = [
            (CSRF_HEADER, "1"),
            ("host", "portal.example"),
            ("origin", "https://evil.example"),
        ];
        assert!(check_csrf(&headers(&foreign)).is_err());
    }

    #[test]
    fn the_cookie_is_httponly_strict_and_secure_over_https() {
        let plain = cookie(&headers(&[]), "abc", 60);
        assert_eq!(
            plain,
            "paasportal_refresh=abc; Path=/api/v1/auth/session; Max-Age=60; HttpOnly; SameSite=Strict"
        );
        let tls = cookie(&headers(&[("x-forwarded-proto", "https")]), "abc", 60);
        assert!(tls.ends_with("; Secure"));
        assert_eq!(
            refresh_cookie(&headers(&[("cookie", "a=1; paasportal_refresh=xyz")])),
            Some("xyz")
        );
    }
}
