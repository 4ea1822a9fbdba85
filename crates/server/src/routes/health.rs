//! Liveness and readiness probes.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use paasportal_store::StoreError;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the process can write to its database (a replica that cannot write is
/// not ready: 503, with `Retry-After` while the database is busy).
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    state.store.check_writable().await.map_err(|e| match e {
        e @ (StoreError::Full(_) | StoreError::Busy(_)) => ApiError::from(e),
        e => ApiError::Unavailable(format!("database: {e}")),
    })?;
    Ok(Json(json!({ "status": "ready", "database": "ok" })))
}
