//! The daily retention job of `serve`: at a configured time of day (UTC), deletes expired
//! refresh tokens and stream tickets and, with a retention period, log lines and events
//! older than it (in small batches), and logs how many rows it removed. Without a
//! retention period, logs are kept forever.

use chrono::{DateTime, NaiveTime, Utc};
use paasportal_store::Store;
use paasportal_store::retention::DEFAULT_BATCH;
use tokio::sync::watch;

/// The first moment at `at` (UTC) strictly after `now`.
pub fn next_run(now: DateTime<Utc>, at: NaiveTime) -> DateTime<Utc> {
    let today = now.date_naive().and_time(at).and_utc();
    if today > now {
        today
    } else {
        today + chrono::Duration::days(1)
    }
}

/// Runs the job every day at `at` until `stop` turns true.
pub async fn run(store: Store, days: Option<u32>, at: NaiveTime, mut stop: watch::Receiver<bool>) {
    match days {
        Some(days) => {
            tracing::info!(retention_days = days, at = %at, "log retention scheduled daily (UTC)")
        }
        None => tracing::info!("log retention not configured: deployment logs are kept forever"),
    }
    loop {
        let now = Utc::now();
        let wait = (next_run(now, at) - now).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        run_once(&store, days, Utc::now()).await;
    }
}

/// One run of the job at `now`.
pub async fn run_once(store: &Store, days: Option<u32>, now: DateTime<Utc>) {
    match store.purge_refresh_tokens(now).await {
        Ok(n) => tracing::info!(deleted_refresh_tokens = n, "expired refresh tokens deleted"),
        Err(e) => tracing::error!(error = %e, "purging refresh tokens failed; retrying tomorrow"),
    }
    if let Err(e) = store.purge_stream_tickets(now).await {
        tracing::error!(error = %e, "purging stream tickets failed; retrying tomorrow");
    }
    let Some(days) = days else { return };
    match store.apply_log_retention(days, now, DEFAULT_BATCH).await {
        Ok(p) => tracing::info!(
            deleted_log_lines = p.log_lines,
            deleted_events = p.events,
            retention_days = days,
            "Deleted {} deployment logs older than {} days",
            p.log_lines,
            days
        ),
        Err(e) => tracing::error!(error = %e, "log retention run failed; retrying tomorrow"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn next_run_is_the_next_occurrence_of_the_time_of_day() {
        let at = NaiveTime::from_hms_opt(3, 0, 0).unwrap();
        let t = |h, m| Utc.with_ymd_and_hms(2026, 11, 29, h, m, 0).unwrap();
        assert_eq!(next_run(t(2, 59), at), t(3, 0));
        assert_eq!(next_run(t(3, 0), at), t(3, 0) + chrono::Duration::days(1));
        assert_eq!(next_run(t(20, 10), at), t(3, 0) + chrono::Duration::days(1));
    }

    /// The daily run deletes expired refresh tokens (and keeps live ones), whether or not
    /// log retention is configured.
    async fn daily_run_purges_expired_refresh_tokens(backend: paasportal_testkit::TestBackend) {
        let t = paasportal_testkit::TestStore::new(backend).await;
        let s = paasportal_testkit::fixtures::seed(&t.store, "purge").await;
        let now = Utc::now();
        t.store
            .create_refresh_token(
                s.user.id,
                b"expired-token-hash",
                now - chrono::Duration::days(1),
            )
            .await
            .unwrap();
        t.store
            .create_refresh_token(
                s.user.id,
                b"live-token-hash",
                now + chrono::Duration::days(1),
            )
            .await
            .unwrap();
        run_once(&t.store, None, now).await;
        assert_eq!(
            t.store
                .purge_refresh_tokens(now + chrono::Duration::days(2))
                .await
                .unwrap(),
            1,
            "the expired token was left behind, or the live one deleted"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn daily_run_purges_expired_refresh_tokens_sqlite() {
        daily_run_purges_expired_refresh_tokens(paasportal_testkit::TestBackend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn daily_run_purges_expired_refresh_tokens_postgres() {
        daily_run_purges_expired_refresh_tokens(paasportal_testkit::TestBackend::Postgres).await
    }
}
