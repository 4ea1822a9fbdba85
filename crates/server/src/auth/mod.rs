//! Authentication: HS256 access tokens, rotating refresh tokens, login throttling and
//! the [`AuthUser`] extractor.

mod extractor;
pub mod stream;
pub mod throttle;
pub mod tokens;

pub use extractor::AuthUser;
pub use throttle::{LoginThrottle, ThrottleConfig};
pub use tokens::{AuthKeys, KeyError, TokenError};

use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// The user id of a valid access token, or 401. The event stream calls this for `?token=`.
pub fn verify_access_token(state: &AppState, token: &str) -> Result<Uuid, ApiError> {
    state
        .auth
        .verify_access(token)
        .map_err(|e| ApiError::Unauthorized(e.to_string()))
}
