//! Who opens an event stream. Browsers' `EventSource` cannot set headers, so besides
//! `Authorization: Bearer` the stream accepts `?token=` (as the spec shows), the session
//! cookie, and `?ticket=`: a single-use ticket valid for 60 seconds, so a long-lived
//! token need not appear in a URL. None of these ever reaches the server's logs (the
//! request span records the path without its query string).

use std::time::Duration;

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::extractor::bearer;
use super::verify_access_token;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Name of the cookie holding an access token for browser sessions.
pub const SESSION_COOKIE: &str = "paasportal_session";
/// How long a stream ticket stays valid.
pub const TICKET_TTL: Duration = Duration::from_secs(60);

/// Credentials offered in the query string.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct StreamCredentials {
    pub token: Option<String>,
    pub ticket: Option<String>,
}

/// The user opening the stream, from the first credential present: ticket, `?token=`,
/// `Authorization: Bearer`, then the session cookie.
pub async fn stream_user(
    state: &AppState,
    creds: &StreamCredentials,
    headers: &HeaderMap,
) -> ApiResult<Uuid> {
    if let Some(ticket) = creds.ticket.as_deref().filter(|t| !t.is_empty()) {
        return state
            .store
            .take_stream_ticket(&hash_ticket(ticket))
            .await?
            .ok_or_else(|| ApiError::Unauthorized("unknown, used or expired ticket".into()));
    }
    if let Some(token) = creds.token.as_deref().filter(|t| !t.is_empty()) {
        return verify_access_token(state, token);
    }
    if let Some(token) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
    {
        return verify_access_token(state, token);
    }
    if let Some(token) = session_cookie(headers) {
        return verify_access_token(state, token);
    }
    Err(ApiError::Unauthorized("no stream credentials".into()))
}

/// The session cookie's value, if sent.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, v)| *k == SESSION_COOKIE && !v.is_empty())
        .map(|(_, v)| v)
}

/// A new ticket for `user_id`, stored hashed; returns the ticket itself.
pub async fn issue_ticket(state: &AppState, user_id: Uuid) -> ApiResult<String> {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let ticket = URL_SAFE_NO_PAD.encode(bytes);
    let expires = Utc::now() + TICKET_TTL;
    state
        .store
        .create_stream_ticket(user_id, &hash_ticket(&ticket), expires)
        .await?;
    Ok(ticket)
}

fn hash_ticket(ticket: &str) -> Vec<u8> {
    Sha256::digest(ticket.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("theme=dark; paasportal_session=abc.def; x=1"),
        );
        assert_eq!(session_cookie(&h), Some("abc.def"));
        h.insert(COOKIE, HeaderValue::from_static("paasportal_session="));
        assert_eq!(session_cookie(&h), None);
    }
}
