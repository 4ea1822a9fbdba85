//! Access tokens (HS256 JWTs, short-lived) and opaque refresh tokens (random, stored hashed).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const ISSUER: &str = "paasportal";
const ACCESS: &str = "access";

/// Why an auth key could not be built.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the JWT signing key must be at least 32 bytes, got {0}")]
    TooShort(usize),
    #[error("no JWT crypto provider is available: {0}")]
    Provider(String),
}

/// Why an access token was refused. Never shown to the client beyond "Not authenticated".
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("access token expired")]
    Expired,
    #[error("access token invalid: {0}")]
    Invalid(String),
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    iat: i64,
    exp: i64,
    iss: String,
    typ: String,
    jti: Uuid,
}

/// The signing key and token lifetimes, built once at start-up.
pub struct AuthKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Lifetime of an access token (default 15 minutes).
    pub access_ttl: Duration,
    /// Lifetime of a refresh token (default 30 days), renewed at each rotation.
    pub refresh_ttl: Duration,
}

impl std::fmt::Debug for AuthKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthKeys")
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .finish_non_exhaustive()
    }
}

impl AuthKeys {
    /// Keys for HS256 with `secret` (32 bytes or more).
    pub fn new(
        secret: &[u8],
        access_ttl: Duration,
        refresh_ttl: Duration,
    ) -> Result<Self, KeyError> {
        if secret.len() < 32 {
            return Err(KeyError::TooShort(secret.len()));
        }
        // Explicit, so the build works even if another crate enables a second provider.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        let encoding =
            EncodingKey::from_secret(secret).map_err(|e| KeyError::Provider(e.to_string()))?;
        let decoding =
            DecodingKey::from_secret(secret).map_err(|e| KeyError::Provider(e.to_string()))?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        Ok(AuthKeys {
            encoding,
            decoding,
            validation,
            access_ttl,
            refresh_ttl,
        })
    }

    /// A signed access token for `user_id`, valid for [`AuthKeys::access_ttl`].
    pub fn issue_access(&self, user_id: Uuid) -> String {
        self.issue_access_at(user_id, Utc::now().timestamp())
    }

    /// An access token as if issued at unix time `iat` (tests make expired ones with it).
    pub fn issue_access_at(&self, user_id: Uuid, iat: i64) -> String {
        let claims = Claims {
            sub: user_id,
            iat,
            exp: iat + self.access_ttl.as_secs() as i64,
            iss: ISSUER.into(),
            typ: ACCESS.into(),
            jti: Uuid::new_v4(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with a valid key cannot fail")
    }

    /// The user id of a valid, unexpired access token signed with this key.
    pub fn verify_access(&self, token: &str) -> Result<Uuid, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid(e.to_string()),
            })?;
        if data.claims.typ != ACCESS {
            return Err(TokenError::Invalid("not an access token".into()));
        }
        Ok(data.claims.sub)
    }
}

/// A new opaque refresh token: 32 random bytes, base64url.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a refresh token.
pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(ttl: u64) -> AuthKeys {
        AuthKeys::new(
            &[7u8; 32],
            Duration::from_secs(ttl),
            Duration::from_secs(60),
        )
        .unwrap()
    }

    #[test]
    fn tokens_round_trip_and_expire() {
        let k = keys(900);
        let u = Uuid::new_v4();
        assert_eq!(k.verify_access(&k.issue_access(u)).unwrap(), u);
        let old = k.issue_access_at(u, Utc::now().timestamp() - 1000);
        assert!(matches!(k.verify_access(&old), Err(TokenError::Expired)));
    }

    #[test]
    fn foreign_and_mangled_tokens_are_refused() {
        let k = keys(900);
        let other = AuthKeys::new(
            &[8u8; 32],
            Duration::from_secs(900),
            Duration::from_secs(60),
        )
        .unwrap();
        let u = Uuid::new_v4();
        assert!(k.verify_access(&other.issue_access(u)).is_err());
        let mut t = k.issue_access(u);
        t.push('x');
        assert!(k.verify_access(&t).is_err());
        assert!(k.verify_access("").is_err());
        assert!(k.verify_access("a.b.c").is_err());
        assert!(matches!(
            AuthKeys::new(&[0u8; 16], Duration::ZERO, Duration::ZERO),
            Err(KeyError::TooShort(16))
        ));
    }

    #[test]
    fn alg_none_is_refused() {
        let k = keys(900);
        let now = Utc::now().timestamp();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(
            format!(
                r#"{{"sub":"{}","iat":{now},"exp":{},"iss":"paasportal","typ":"access","jti":"{}"}}"#,
                Uuid::new_v4(),
                now + 900,
                Uuid::new_v4()
            )
            .as_bytes(),
        );
        assert!(k.verify_access(&format!("{header}.{body}.")).is_err());
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let a = new_refresh_token();
        assert_ne!(a, new_refresh_token());
        assert_eq!(a.len(), 43);
        assert_eq!(hash_refresh_token(&a).len(), 32);
        assert_ne!(hash_refresh_token(&a), a.as_bytes());
    }
}
