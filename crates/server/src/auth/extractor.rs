//! The `AuthUser` extractor: a valid `Authorization: Bearer` access token.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use paasportal_core::Access;
use paasportal_store::StoreError;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The authenticated caller. Only the `Authorization: Bearer` header is read here;
/// the event stream alone also accepts `?token=` (through [`super::verify_access_token`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    pub user_id: Uuid,
}

impl AuthUser {
    /// What the caller may do, from their memberships as they are now (one query per
    /// call, so a revoked membership takes effect on the next request). A user deleted
    /// since the token was issued is no longer authenticated.
    pub async fn access(&self, state: &AppState) -> ApiResult<Access> {
        match state.store.load_access(self.user_id).await {
            Ok(a) => Ok(a),
            Err(StoreError::NotFound) => {
                Err(ApiError::Unauthorized("user no longer exists".into()))
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::Unauthorized("no Authorization header".into()))?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::Unauthorized("Authorization header is not ASCII".into()))?;
        let token =
            bearer(value).ok_or_else(|| ApiError::Unauthorized("not a Bearer token".into()))?;
        let user_id = super::verify_access_token(state, token)?;
        Ok(AuthUser { user_id })
    }
}

/// The token of a `Bearer <token>` header value (scheme case-insensitive).
pub(super) fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn bearer_scheme_is_parsed() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("abc"), None);
    }
}
