//! The daily log retention job of `serve`: at a configured time of day (UTC), deletes
//! log lines and events older than the retention period, in small batches, and logs
//! how many rows it removed. Without a retention period, logs are kept forever.

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
pub async fn run(store: Store, days: u32, at: NaiveTime, mut stop: watch::Receiver<bool>) {
    tracing::info!(retention_days = days, at = %at, "log retention scheduled daily (UTC)");
    loop {
        let now = Utc::now();
        let wait = (next_run(now, at) - now).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match store
            .apply_log_retention(days, Utc::now(), DEFAULT_BATCH)
            .await
        {
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
}
