//! Rotating refresh tokens. Only a SHA-256 hash of each token is stored.
//!
//! Each login starts a family; every refresh marks the presented token used and issues
//! the next one in the same family. Presenting a token that was already used means it
//! was stolen (or replayed): the whole family is revoked.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::{Store, with_db};

/// What became of a refresh attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was valid; it is now used and the new token replaces it.
    Rotated { user_id: Uuid },
    /// No such token, or it expired or was revoked.
    Invalid,
    /// The token had already been used: its family is now revoked.
    Reused { user_id: Uuid },
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: Uuid,
    user_id: Uuid,
    family_id: Uuid,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Stores the first token of a new family for `user_id`.
    pub async fn create_refresh_token(
        &self,
        user_id: Uuid,
        token_hash: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.insert_refresh_token(user_id, Uuid::now_v7(), token_hash, expires_at)
            .await
    }

    async fn insert_refresh_token(
        &self,
        user_id: Uuid,
        family_id: Uuid,
        token_hash: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let sql = "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6)";
        with_db!(self.db(), p => sqlx::query(sql)
            .bind(Uuid::now_v7())
            .bind(user_id)
            .bind(family_id)
            .bind(token_hash)
            .bind(expires_at)
            .bind(Utc::now())
            .execute(p)
            .await
            .map(|_| ()))
        .map_err(StoreError::classify)?;
        Ok(())
    }

    /// Exchanges the token hashed `old_hash` for a new one hashed `new_hash` in the same
    /// family. A token already used revokes its family; concurrent refreshes of one token
    /// let exactly one win.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &[u8],
        new_hash: &[u8],
        new_expires_at: DateTime<Utc>,
    ) -> Result<Rotation> {
        let sql = "SELECT id, user_id, family_id, expires_at, used_at, revoked_at \
                   FROM refresh_tokens WHERE token_hash = $1";
        let row: Option<TokenRow> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(old_hash).fetch_optional(p).await)?;
        let Some(row) = row else {
            return Ok(Rotation::Invalid);
        };
        let now = Utc::now();
        if row.revoked_at.is_some() || row.expires_at <= now {
            return Ok(Rotation::Invalid);
        }
        if row.used_at.is_some() {
            self.revoke_refresh_family(row.family_id).await?;
            return Ok(Rotation::Reused {
                user_id: row.user_id,
            });
        }
        let claim = "UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL";
        let won = with_db!(self.db(), p => sqlx::query(claim)
            .bind(row.id)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if won == 0 {
            self.revoke_refresh_family(row.family_id).await?;
            return Ok(Rotation::Reused {
                user_id: row.user_id,
            });
        }
        self.insert_refresh_token(row.user_id, row.family_id, new_hash, new_expires_at)
            .await?;
        Ok(Rotation::Rotated {
            user_id: row.user_id,
        })
    }

    /// Revokes every token of a family.
    pub async fn revoke_refresh_family(&self, family_id: Uuid) -> Result<()> {
        let sql =
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL";
        with_db!(self.db(), p => sqlx::query(sql).bind(family_id).bind(Utc::now()).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Revokes the family of the token hashed `token_hash`, if it belongs to `user_id`.
    /// Returns whether such a token existed.
    pub async fn revoke_refresh_token(&self, user_id: Uuid, token_hash: &[u8]) -> Result<bool> {
        let sql = "SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND user_id = $2";
        let family: Option<Uuid> = with_db!(self.db(), p => sqlx::query_scalar(sql)
            .bind(token_hash)
            .bind(user_id)
            .fetch_optional(p)
            .await)?;
        match family {
            Some(f) => {
                self.revoke_refresh_family(f).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Revokes every refresh token of a user (logout everywhere, password change).
    pub async fn revoke_user_refresh_tokens(&self, user_id: Uuid) -> Result<()> {
        let sql =
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL";
        with_db!(self.db(), p => sqlx::query(sql).bind(user_id).bind(Utc::now()).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Deletes tokens that expired before `before`; returns how many.
    pub async fn purge_refresh_tokens(&self, before: DateTime<Utc>) -> Result<u64> {
        let sql = "DELETE FROM refresh_tokens WHERE expires_at < $1";
        Ok(
            with_db!(self.db(), p => sqlx::query(sql).bind(before).execute(p).await.map(|r| r.rows_affected()))?,
        )
    }
}
