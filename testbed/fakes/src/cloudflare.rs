//! The Cloudflare DNS API subset: `GET/POST /zones/{zone}/dns_records`,
//! `PUT/DELETE /zones/{zone}/dns_records/{id}`, with Cloudflare's envelope
//! (`success`, `errors`, `messages`, `result`), bearer-token auth and error codes.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::records::{Record, Zone};

#[derive(Clone)]
struct Api {
    zone: Arc<Zone>,
    token: Arc<String>,
}

/// The API's routes under `/client/v4`.
pub fn router(zone: Arc<Zone>, token: String) -> Router {
    let api = Api {
        zone,
        token: Arc::new(token),
    };
    Router::new()
        .route(
            "/client/v4/zones/{zone}/dns_records",
            get(list).post(create),
        )
        .route(
            "/client/v4/zones/{zone}/dns_records/{id}",
            put(update).delete(remove),
        )
        .with_state(api)
}

/// A failed call, rendered in Cloudflare's envelope.
struct Failure {
    status: StatusCode,
    code: u32,
    message: String,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"success": false, "errors": [{"code": self.code, "message": self.message}], "messages": [], "result": null})),
        )
            .into_response()
    }
}

fn fail(status: StatusCode, code: u32, message: &str) -> Failure {
    Failure {
        status,
        code,
        message: message.to_owned(),
    }
}

fn ok(result: Value) -> Response {
    Json(json!({"success": true, "errors": [], "messages": [], "result": result})).into_response()
}

/// A record as the API shows it.
fn record_json(r: &Record) -> Value {
    json!({"id": r.id, "type": "A", "name": r.name, "content": r.content.to_string(), "ttl": r.ttl, "proxied": r.proxied})
}

/// Checks the bearer token and the zone id.
fn check(api: &Api, headers: &HeaderMap, zone: &str) -> Result<(), Failure> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {}", api.token) {
        return Err(fail(StatusCode::FORBIDDEN, 10000, "Authentication error"));
    }
    if zone != api.zone.id {
        return Err(fail(
            StatusCode::NOT_FOUND,
            7003,
            &format!(
                "Could not route to /zones/{zone}/dns_records, perhaps your object identifier is invalid?"
            ),
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
struct Body {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    content: String,
    #[serde(default = "auto_ttl")]
    ttl: u32,
    #[serde(default)]
    proxied: bool,
}

fn auto_ttl() -> u32 {
    1
}

/// Validates a record body as Cloudflare does for the fields used.
fn validate(api: &Api, body: &Body) -> Result<Ipv4Addr, Failure> {
    if body.kind != "A" {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            9004,
            "This record type is not supported by this test double",
        ));
    }
    if !api.zone.contains(&body.name) {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            9005,
            "Content for A record is invalid: name outside the zone",
        ));
    }
    if body.ttl != 1 && !(30..=86400).contains(&body.ttl) {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            9021,
            "Invalid TTL. Must be between 30 and 86400 seconds, or 1 for Automatic",
        ));
    }
    body.content.parse::<Ipv4Addr>().map_err(|_| {
        fail(
            StatusCode::BAD_REQUEST,
            9005,
            "Content for A record must be a valid IPv4 address",
        )
    })
}

async fn list(
    State(api): State<Api>,
    Path(zone): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check(&api, &headers, &zone) {
        return r.into_response();
    }
    let name = q.get("name").map(String::as_str);
    let recs: Vec<_> = api
        .zone
        .list(name)
        .into_iter()
        .filter(|_| q.get("type").is_none_or(|t| t == "A"))
        .collect();
    ok(Value::Array(recs.iter().map(record_json).collect()))
}

async fn create(
    State(api): State<Api>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Body>,
) -> Response {
    if let Err(r) = check(&api, &headers, &zone) {
        return r.into_response();
    }
    let ip = match validate(&api, &body) {
        Ok(ip) => ip,
        Err(r) => return r.into_response(),
    };
    if api
        .zone
        .list(Some(&body.name))
        .iter()
        .any(|r| r.content == ip)
    {
        return fail(
            StatusCode::BAD_REQUEST,
            81058,
            "An identical record already exists.",
        )
        .into_response();
    }
    let r = api.zone.create(&body.name, ip, body.ttl, body.proxied);
    ok(record_json(&r))
}

async fn update(
    State(api): State<Api>,
    Path((zone, id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Body>,
) -> Response {
    if let Err(r) = check(&api, &headers, &zone) {
        return r.into_response();
    }
    let ip = match validate(&api, &body) {
        Ok(ip) => ip,
        Err(r) => return r.into_response(),
    };
    match api.zone.update(&id, &body.name, ip, body.ttl, body.proxied) {
        Some(r) => ok(record_json(&r)),
        None => fail(StatusCode::NOT_FOUND, 81044, "Record does not exist.").into_response(),
    }
}

async fn remove(
    State(api): State<Api>,
    Path((zone, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check(&api, &headers, &zone) {
        return r.into_response();
    }
    if api.zone.delete(&id) {
        ok(json!({"id": id}))
    } else {
        fail(StatusCode::NOT_FOUND, 81044, "Record does not exist.").into_response()
    }
}
