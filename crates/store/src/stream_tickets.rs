//! Single-use tickets for opening the event stream without a token in the URL. Only a
//! SHA-256 hash of each ticket is stored; taking a ticket deletes it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Result;
use crate::{Store, with_db};

impl Store {
    /// Stores a ticket for `user_id` valid until `expires_at`, and forgets expired ones.
    pub async fn create_stream_ticket(
        &self,
        user_id: Uuid,
        ticket_hash: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let now = Utc::now();
        let purge = "DELETE FROM stream_tickets WHERE expires_at < $1";
        with_db!(self.db(), p => sqlx::query(purge).bind(now).execute(p).await.map(|_| ()))?;
        let sql = "INSERT INTO stream_tickets (ticket_hash, user_id, expires_at, created_at) \
                   VALUES ($1, $2, $3, $4)";
        with_db!(self.db(), p => sqlx::query(sql)
            .bind(ticket_hash)
            .bind(user_id)
            .bind(expires_at)
            .bind(now)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Consumes a ticket: the user it was issued to if it exists and has not expired.
    /// A ticket works once; a second use finds nothing.
    pub async fn take_stream_ticket(&self, ticket_hash: &[u8]) -> Result<Option<Uuid>> {
        let sql = "DELETE FROM stream_tickets WHERE ticket_hash = $1 RETURNING user_id, expires_at";
        let row: Option<(Uuid, DateTime<Utc>)> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(ticket_hash)
            .fetch_all(p)
            .await.map(crate::observe::first))?;
        Ok(row.and_then(|(user, expires)| (expires > Utc::now()).then_some(user)))
    }

    /// Deletes every ticket of a user (their credentials changed).
    pub async fn delete_user_stream_tickets(&self, user_id: Uuid) -> Result<u64> {
        let sql = "DELETE FROM stream_tickets WHERE user_id = $1";
        Ok(
            with_db!(self.db(), p => sqlx::query(sql).bind(user_id).execute(p).await.map(|r| r.rows_affected()))?,
        )
    }

    /// Deletes tickets that expired before `before`; returns how many.
    pub async fn purge_stream_tickets(&self, before: DateTime<Utc>) -> Result<u64> {
        let sql = "DELETE FROM stream_tickets WHERE expires_at < $1";
        Ok(
            with_db!(self.db(), p => sqlx::query(sql).bind(before).execute(p).await.map(|r| r.rows_affected()))?,
        )
    }
}
