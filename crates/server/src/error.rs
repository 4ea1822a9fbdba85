//! The one error type of the API: every failure becomes a status code and a
//! `{"detail": …}` JSON body. Internal causes are logged, never shown.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use paasportal_store::{StoreError, WriteError};
use serde_json::{Value, json};

/// Seconds a client is asked to wait after the database was busy.
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("Not authenticated")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// 409, with structured data (e.g. the running deployment's id).
    #[error("{detail}")]
    Conflict { detail: String, data: Value },
    #[error("request body too large")]
    PayloadTooLarge,
    /// 415: the body is not in a format the endpoint accepts.
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    /// 422 with a validation message or a list of problems.
    #[error("validation failed")]
    Unprocessable(Value),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 503: the database had no room for the change, which was not stored.
    #[error(
        "The database is out of disk space: the change was not stored. Free disk space on the server and try again."
    )]
    StorageFull(String),
    /// 503 with `Retry-After`: the database stayed locked past its busy timeout.
    #[error("The database is busy: the request was not carried out. Try again shortly.")]
    Busy(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 404 naming the kind of thing that was not found, e.g. "Deployment not found".
    pub fn not_found(what: &str) -> ApiError {
        ApiError::NotFound(format!("{what} not found"))
    }

    /// A 422 with one message.
    pub fn invalid(msg: impl Into<String>) -> ApiError {
        ApiError::Unprocessable(Value::String(msg.into()))
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::StorageFull(_) | ApiError::Busy(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            ApiError::Unauthorized(why) => {
                tracing::debug!(reason = %why, "unauthorized");
                json!({ "detail": "Not authenticated" })
            }
            ApiError::Conflict { detail, data } => {
                let mut body = json!({ "detail": detail });
                if let Value::Object(extra) = data {
                    for (k, v) in extra {
                        body[k] = v.clone();
                    }
                }
                body
            }
            ApiError::Unprocessable(detail) => json!({ "detail": detail }),
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                json!({ "detail": "Internal server error" })
            }
            ApiError::Unavailable(cause) => {
                tracing::warn!(%cause, "dependency unavailable");
                json!({ "detail": "Service temporarily unavailable" })
            }
            ApiError::StorageFull(cause) => {
                tracing::error!(%cause, "write refused: the database is out of disk space");
                json!({ "detail": self.to_string() })
            }
            ApiError::Busy(cause) => {
                tracing::warn!(%cause, "the database is busy");
                json!({ "detail": self.to_string() })
            }
            other => json!({ "detail": other.to_string() }),
        };
        let mut resp = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        match self {
            ApiError::TooManyRequests { retry_after_secs } => {
                resp.headers_mut()
                    .insert("retry-after", retry_after_secs.into());
            }
            ApiError::Busy(_) => {
                resp.headers_mut()
                    .insert("retry-after", BUSY_RETRY_AFTER_SECS.into());
            }
            _ => {}
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("Not found".into()),
            StoreError::Conflict(what) => ApiError::Conflict {
                detail: format!("Conflicts with an existing resource ({what})"),
                data: Value::Null,
            },
            StoreError::ActiveDeployment(id) => ApiError::Conflict {
                detail: "Environment already has a deployment in progress".into(),
                data: json!({ "deployment_id": id }),
            },
            StoreError::Full(e) => ApiError::StorageFull(e.to_string()),
            StoreError::Busy(e) => ApiError::Busy(e.to_string()),
            e if e.is_unavailable() => ApiError::Unavailable(e.to_string()),
            e => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Full(cause) => ApiError::StorageFull(cause),
            WriteError::Refused(cause) => ApiError::Internal(cause),
            e @ (WriteError::Closed | WriteError::Database(_)) => {
                ApiError::Unavailable(e.to_string())
            }
        }
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;
