//! Retention deletes what is older than the cutoff, in batches, and nothing else; on
//! both backends.

use std::sync::Arc;

use chrono::{Duration, Utc};
use paasportal_core::{EventKind, LogLevel, NewEvent, NewLog};
use paasportal_store::logs::LogQuery;
use paasportal_store::retention::Purged;
use paasportal_store::writer::NoSink;
use paasportal_store::{LogWriter, WriterConfig};
use paasportal_testkit::fixtures::seed;
use paasportal_testkit::{TestBackend, TestStore};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_old_lines_and_events_go_in_batches() {
    old_lines_and_events_go_in_batches(TestBackend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_old_lines_and_events_go_in_batches() {
    old_lines_and_events_go_in_batches(TestBackend::Postgres).await
}

async fn old_lines_and_events_go_in_batches(backend: TestBackend) {
    let t = TestStore::new(backend).await;
    let s = seed(&t.store, "ret").await;
    let (writer, task) =
        LogWriter::start(t.store.clone(), Arc::new(NoSink), WriterConfig::default());
    let now = Utc::now();
    for (age_days, n) in [(40, 23), (31, 7), (29, 5), (0, 4)] {
        for i in 0..n {
            let mut l = NewLog::now(s.deployment.id, LogLevel::Info, format!("{age_days}d #{i}"));
            l.timestamp = now - Duration::days(age_days) + Duration::seconds(i);
            writer.append(l).await.unwrap();
        }
        writer
            .write_event(NewEvent {
                kind: EventKind::PermissionsChanged,
                organization_id: Some(s.org.id),
                project_id: None,
                deployment_id: None,
                user_id: Some(s.user.id),
                data: json!({}),
                created_at: now - Duration::days(age_days),
            })
            .await
            .unwrap();
    }
    let purged = t.store.apply_log_retention(30, now, 4).await.unwrap();
    assert_eq!(
        purged,
        Purged {
            log_lines: 30,
            events: 2
        }
    );
    let left = t
        .store
        .list_logs(
            s.deployment.id,
            &LogQuery {
                level: None,
                text: None,
                skip: 0,
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let msgs: Vec<&str> = left.iter().map(|l| l.log.message.as_str()).collect();
    assert_eq!(left.len(), 9, "{msgs:?}");
    assert!(
        left.iter()
            .all(|l| !l.log.message.starts_with("40d") && !l.log.message.starts_with("31d"))
    );
    let again = t.store.apply_log_retention(30, now, 4).await.unwrap();
    assert_eq!(again, Purged::default());
    let later = t
        .store
        .apply_log_retention(30, now + Duration::days(31), 1000)
        .await
        .unwrap();
    assert_eq!(later.log_lines, 9);
    task.shutdown().await;
}
