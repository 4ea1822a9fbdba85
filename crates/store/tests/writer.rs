//! The durable writer under stress: a crashing database, backpressure, shutdown flush.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use paasportal_core::{LogLevel, NewLog};
use paasportal_store::writer::NoSink;
use paasportal_store::{ConnectOptions, LogWriter, Store, WriteError, WriterConfig};
use paasportal_testkit::fixtures::seed;
use paasportal_testkit::{PgCluster, TestBackend, TestStore, Tmpfs};

fn line(dep: uuid::Uuid, i: usize) -> NewLog {
    NewLog::now(dep, LogLevel::Info, format!("line {i}"))
}

/// Acknowledged lines survive a PostgreSQL crash; while it is down producers get errors;
/// once it is back the same writer carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_lines_survive_a_database_crash_and_the_writer_recovers() {
    let cluster = PgCluster::start();
    let opts = ConnectOptions {
        acquire_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let store = Store::open(&cluster.url(), &opts).await.unwrap();
    let s = seed(&store, "crash").await;
    let (w, task) = LogWriter::start(store.clone(), Arc::new(NoSink), WriterConfig::default());

    let mut acked = Vec::new();
    for i in 0..500 {
        acked.push(
            w.write(line(s.deployment.id, i))
                .await
                .expect("database is up"),
        );
    }

    cluster.stop_immediate();
    let t0 = Instant::now();
    let err = w
        .write(line(s.deployment.id, 9999))
        .await
        .expect_err("database is down");
    assert!(matches!(err, WriteError::Database(_)), "{err:?}");
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "errors surface promptly"
    );

    cluster.start_again();
    let deadline = Instant::now() + Duration::from_secs(20);
    let seq = loop {
        match w.write(line(s.deployment.id, 500)).await {
            Ok(seq) => break seq,
            Err(e) => {
                assert!(Instant::now() < deadline, "writer did not recover: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    acked.push(seq);
    task.shutdown().await;

    let fresh = Store::open(&cluster.url(), &opts).await.unwrap();
    let stored = fresh.logs_after(s.deployment.id, 0, 10_000).await.unwrap();
    let stored_seqs: Vec<i64> = stored.iter().map(|l| l.seq).collect();
    for a in &acked {
        assert!(stored_seqs.contains(a), "acknowledged seq {a} was lost");
    }
    assert_eq!(
        stored.len(),
        acked.len(),
        "unacknowledged lines were not written"
    );
}

/// A stalled database makes producers wait once the bounded queue is full.
async fn producers_feel_backpressure(backend: TestBackend) {
    let t = TestStore::new(backend).await;
    let s = seed(&t.store, "bp").await;
    let cfg = WriterConfig {
        queue_capacity: 4,
        max_batch: 2,
    };
    let (w, task) = LogWriter::start(t.store.clone(), Arc::new(NoSink), cfg);

    // Hold the sequence row's lock so the writer's next transaction blocks.
    let blocker = hold_sequence_lock(&t.url).await;

    let appended = Arc::new(AtomicUsize::new(0));
    let producer = {
        let (w, appended, dep) = (w.clone(), appended.clone(), s.deployment.id);
        tokio::spawn(async move {
            let mut receipts = Vec::new();
            for i in 0..50 {
                receipts.push(w.append(line(dep, i)).await.unwrap());
                appended.fetch_add(1, Ordering::SeqCst);
            }
            for r in receipts {
                r.await.unwrap();
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    let queued = appended.load(Ordering::SeqCst);
    assert!(
        queued <= cfg.queue_capacity + cfg.max_batch + 1,
        "{queued} lines accepted while the database was stalled: the queue is not bounded"
    );
    assert!(!producer.is_finished());

    blocker.release().await;
    tokio::time::timeout(Duration::from_secs(20), producer)
        .await
        .expect("producer finishes")
        .unwrap();
    task.shutdown().await;
    assert_eq!(t.store.count_logs(s.deployment.id).await.unwrap(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producers_feel_backpressure_sqlite() {
    producers_feel_backpressure(TestBackend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producers_feel_backpressure_postgres() {
    producers_feel_backpressure(TestBackend::Postgres).await
}

/// Shutdown writes everything already queued before returning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_flushes_the_queue() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let s = seed(&t.store, "sd").await;
    let (w, task) = LogWriter::start(t.store.clone(), Arc::new(NoSink), WriterConfig::default());
    let mut receipts = Vec::new();
    for i in 0..3000 {
        receipts.push(w.append(line(s.deployment.id, i)).await.unwrap());
    }
    task.shutdown().await;
    for r in receipts {
        r.await
            .expect("queued lines are written before shutdown returns");
    }
    assert_eq!(
        w.write(line(s.deployment.id, 0)).await,
        Err(WriteError::Closed)
    );
    assert_eq!(t.store.count_logs(s.deployment.id).await.unwrap(), 3000);
}

/// A transaction on another connection that holds the sequence row until released.
struct SequenceLock {
    release: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

impl SequenceLock {
    async fn release(self) {
        let _ = self.release.send(());
        self.done.await.unwrap();
    }
}

async fn hold_sequence_lock(url: &str) -> SequenceLock {
    use sqlx::Connection;
    let (locked_tx, locked_rx) = tokio::sync::oneshot::channel();
    let (release, release_rx) = tokio::sync::oneshot::channel::<()>();
    let url = url.to_owned();
    let done = tokio::spawn(async move {
        let sql = "UPDATE event_seq SET value = value WHERE id = 1";
        if url.starts_with("sqlite:") {
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let mut tx = c.begin().await.unwrap();
            sqlx::query(sql).execute(&mut *tx).await.unwrap();
            locked_tx.send(()).unwrap();
            let _ = release_rx.await;
            tx.rollback().await.unwrap();
        } else {
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            let mut tx = c.begin().await.unwrap();
            sqlx::query(sql).execute(&mut *tx).await.unwrap();
            locked_tx.send(()).unwrap();
            let _ = release_rx.await;
            tx.rollback().await.unwrap();
        }
    });
    locked_rx.await.unwrap();
    SequenceLock { release, done }
}

/// On a full disk the writer acknowledges only what it committed: every acknowledged
/// line is stored, every other one fails with `Full`, and once there is room again the
/// same writer carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_lines_instead_of_acknowledging_them() {
    let fs = Tmpfs::mount(4096);
    let t = TestStore::sqlite_in(fs.path(), &ConnectOptions::default()).await;
    let s = seed(&t.store, "full").await;
    let (w, task) = LogWriter::start(t.store.clone(), Arc::new(NoSink), WriterConfig::default());
    let mut acked = vec![w.write(line(s.deployment.id, 0)).await.unwrap()];

    let filler = fs.fill();
    let mut refused = 0;
    for i in 1..5_000 {
        let mut l = line(s.deployment.id, i);
        l.message = format!("{i} {}", "x".repeat(2_000));
        match w.write(l).await {
            Ok(seq) => acked.push(seq),
            Err(WriteError::Full(_)) => {
                refused += 1;
                if refused == 3 {
                    break;
                }
            }
            Err(e) => panic!("expected Full, got {e:?}"),
        }
    }
    assert_eq!(refused, 3, "the disk never filled up");

    std::fs::remove_file(filler).unwrap();
    acked.push(
        w.write(line(s.deployment.id, 9_999))
            .await
            .expect("the writer carries on once there is room"),
    );
    task.shutdown().await;
    let stored: Vec<i64> = t
        .store
        .logs_after(s.deployment.id, 0, 100_000)
        .await
        .unwrap()
        .iter()
        .map(|l| l.seq)
        .collect();
    assert_eq!(stored, acked, "exactly the acknowledged lines are stored");
}

/// Lines the database refuses (a deployment that does not exist; on PostgreSQL a NUL
/// byte in the text or the data) fail alone: the other lines of their batch are stored.
async fn one_bad_line_never_fails_its_batch(backend: TestBackend) {
    let t = TestStore::new(backend).await;
    let s = seed(&t.store, "bad").await;
    let (w, task) = LogWriter::start(t.store.clone(), Arc::new(NoSink), WriterConfig::default());

    // Hold the sequence row so that everything below queues up into one batch.
    let blocker = hold_sequence_lock(&t.url).await;
    let mut receipts = Vec::new();
    for i in 0..40 {
        let mut l = line(s.deployment.id, i);
        let bad = match i {
            7 => {
                l.deployment_id = uuid::Uuid::new_v4();
                true
            }
            13 if backend == TestBackend::Postgres => {
                l.message = "before\0after".into();
                true
            }
            29 if backend == TestBackend::Postgres => {
                l.data = serde_json::json!({ "output": "a\u{0}b" });
                true
            }
            _ => false,
        };
        receipts.push((bad, w.append(l).await.unwrap()));
    }
    blocker.release().await;

    let mut good = 0;
    for (bad, r) in receipts {
        match (bad, r.await) {
            (false, Ok(_)) => good += 1,
            (true, Err(WriteError::Refused(_))) => {}
            (bad, got) => panic!("bad line: {bad}, got {got:?}"),
        }
    }
    task.shutdown().await;
    assert_eq!(t.store.count_logs(s.deployment.id).await.unwrap(), good);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_line_never_fails_its_batch_sqlite() {
    one_bad_line_never_fails_its_batch(TestBackend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_line_never_fails_its_batch_postgres() {
    one_bad_line_never_fails_its_batch(TestBackend::Postgres).await
}

/// A batch that fails for a passing reason (here SQLite busy past its timeout) is tried
/// again: an event whose producer does not retry is not lost to a short lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_briefly_locked_database_does_not_lose_events() {
    let opts = ConnectOptions {
        busy_timeout: Duration::from_millis(100),
        ..Default::default()
    };
    let t = TestStore::with_options(TestBackend::Sqlite, &opts).await;
    let s = seed(&t.store, "busy").await;
    let (w, task) = LogWriter::start(t.store.clone(), Arc::new(NoSink), WriterConfig::default());
    let blocker = hold_sequence_lock(&t.url).await;
    let receipt = w
        .append_event(paasportal_core::NewEvent {
            kind: paasportal_core::event::EventKind::EnvironmentStatus,
            organization_id: Some(s.org.id),
            project_id: Some(s.project.id),
            deployment_id: Some(s.deployment.id),
            user_id: None,
            data: serde_json::json!({ "status": "running" }),
            created_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    blocker.release().await;
    let seq = receipt
        .await
        .expect("the event is written once the lock is gone");
    task.shutdown().await;
    let entries = t.store.entries_between(0, seq).await.unwrap();
    assert_eq!(entries.last().map(|e| e.seq()), Some(seq));
}
