//! Liveness and readiness probes.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the process can reach its database.
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    state
        .store
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(format!("database: {e}")))?;
    Ok(Json(json!({ "status": "ready", "database": "ok" })))
}
