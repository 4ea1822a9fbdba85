//! Log retention: deletes log lines and stream events older than a cutoff, in small
//! batches (each its own short statement, so no long lock is ever held).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::{Store, with_db};

/// Rows deleted per statement.
pub const DEFAULT_BATCH: i64 = 5_000;

/// What a retention run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub log_lines: u64,
    pub events: u64,
}

impl Store {
    /// Deletes log lines and non-log events older than `days` days before `now`, `batch`
    /// rows at a time, pausing briefly between batches so that writers are never starved.
    pub async fn apply_log_retention(
        &self,
        days: u32,
        now: DateTime<Utc>,
        batch: i64,
    ) -> Result<Purged> {
        let cutoff = now - chrono::Duration::days(i64::from(days));
        let logs = "DELETE FROM deployment_logs WHERE id IN \
                    (SELECT id FROM deployment_logs WHERE timestamp < $1 LIMIT $2)";
        let events = "DELETE FROM events WHERE seq IN \
                      (SELECT seq FROM events WHERE created_at < $1 LIMIT $2)";
        let mut purged = Purged::default();
        for (sql, count) in [(logs, &mut purged.log_lines), (events, &mut purged.events)] {
            loop {
                let n = with_db!(self.db(), p => sqlx::query(sql)
                    .bind(cutoff)
                    .bind(batch)
                    .execute(p)
                    .await
                    .map(|r| r.rows_affected()))?;
                *count += n;
                if n < batch as u64 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        Ok(purged)
    }
}
