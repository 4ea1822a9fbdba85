//! 2xx means stored: a full disk, a busy database and a database that refuses writes
//! answer 503 with a `detail`, never a success for a change that was not made.

mod common;

use std::time::Duration;

use common::TestApp;
use paasportal_server::ServerConfig;
use paasportal_store::ConnectOptions;
use paasportal_testkit::{TestBackend, TestStore, Tmpfs};
use reqwest::Method;
use serde_json::json;

const TTL: Duration = Duration::from_secs(900);

/// SQLite on a full disk: `POST /organizations` and `PATCH /users/{id}` either store the
/// change (and a GET sees it) or answer 503 naming the cause; with room again they work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_never_acknowledges_a_lost_write() {
    let fs = Tmpfs::mount(4096);
    let t = TestStore::sqlite_in(fs.path(), &ConnectOptions::default()).await;
    let app = TestApp::start_on(t, TTL, ServerConfig::default()).await;
    let admin = app
        .user("admin@example.com", "correct horse battery", true)
        .await;
    let token = app.token(admin.id);
    let (status, _) = app
        .post(
            "/api/v1/organizations",
            Some(&token),
            json!({"name": "before"}),
        )
        .await;
    assert_eq!(status, 201);

    let filler = fs.fill();
    let mut refused = 0;
    for i in 0..3_000 {
        let name = format!("org {i} {}", "n".repeat(150));
        let (status, body) = app
            .post(
                "/api/v1/organizations",
                Some(&token),
                json!({ "name": name }),
            )
            .await;
        match status {
            201 => {
                let id = body["id"].as_str().unwrap();
                let (status, got) = app
                    .get(&format!("/api/v1/organizations/{id}"), Some(&token))
                    .await;
                assert_eq!(status, 200, "organization {id} acknowledged but not stored");
                assert_eq!(got["name"], name.as_str());
            }
            503 => {
                let detail = body["detail"].as_str().unwrap_or_default();
                assert!(detail.contains("disk space"), "unclear detail: {body}");
                refused += 1;
                if refused == 3 {
                    break;
                }
            }
            other => panic!("POST /organizations on a full disk answered {other}: {body}"),
        }
    }
    assert_eq!(refused, 3, "the disk never filled up");

    for i in 0..20 {
        let name = format!("renamed {i} {}", "r".repeat(150));
        let (status, body) = app
            .send(
                Method::PATCH,
                &format!("/api/v1/users/{}", admin.id),
                Some(&token),
                Some(json!({ "name": name })),
            )
            .await;
        let (_, got) = app
            .get(&format!("/api/v1/users/{}", admin.id), Some(&token))
            .await;
        match status {
            200 => assert_eq!(
                got["name"],
                name.as_str(),
                "rename acknowledged but not stored"
            ),
            503 => assert_ne!(got["name"], name.as_str()),
            other => panic!("PATCH /users on a full disk answered {other}: {body}"),
        }
    }

    std::fs::remove_file(filler).unwrap();
    let (status, body) = app
        .post(
            "/api/v1/organizations",
            Some(&token),
            json!({"name": "after"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = app
        .get(
            &format!("/api/v1/organizations/{}", body["id"].as_str().unwrap()),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200);
}

/// SQLite locked by another writer past the busy timeout: 503 with `Retry-After` (for a
/// write and for `/readyz`), and the same requests succeed once the lock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_database_answers_503_with_retry_after() {
    let opts = ConnectOptions {
        busy_timeout: Duration::from_millis(200),
        ..Default::default()
    };
    let t = TestStore::with_options(TestBackend::Sqlite, &opts).await;
    let url = t.url.clone();
    let app = TestApp::start_on(t, TTL, ServerConfig::default()).await;
    let admin = app
        .user("admin@example.com", "correct horse battery", true)
        .await;
    let token = app.token(admin.id);

    let lock = WriteLock::take(&url).await;
    let r = app
        .http
        .post(app.url("/api/v1/organizations"))
        .bearer_auth(&token)
        .json(&json!({"name": "while locked"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some(), "no Retry-After");
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("busy"), "{body}");

    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503, "/readyz must exercise a write");
    assert!(r.headers().get("retry-after").is_some());

    lock.release().await;
    let (status, _) = app
        .post(
            "/api/v1/organizations",
            Some(&token),
            json!({"name": "after"}),
        )
        .await;
    assert_eq!(status, 201);
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

/// PostgreSQL that accepts reads but refuses writes (a read-only database, as on a
/// standby): `/readyz` says the replica is not ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_when_the_database_refuses_writes() {
    let app = TestApp::start(TestBackend::Postgres).await;
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let db = app.t.url.rsplit('/').next().unwrap().to_owned();
    let admin_url = paasportal_testkit::require_env("PAASPORTAL_TEST_DATABASE_URL");
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{db}\" SET default_transaction_read_only = on"
    )))
    .execute(&admin)
    .await
    .unwrap();
    // Existing sessions keep their setting: end them so the pool reconnects.
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&db)
        .execute(&admin)
        .await
        .unwrap();
    for _ in 0..3 {
        let r = app.http.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(
            r.status(),
            503,
            "a database that refuses writes is not ready"
        );
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["detail"].is_string());
    }
    admin.close().await;
}

/// Another connection's write transaction on the SQLite file, held until released.
struct WriteLock {
    release: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

impl WriteLock {
    async fn take(url: &str) -> WriteLock {
        use sqlx::Connection;
        let (locked_tx, locked_rx) = tokio::sync::oneshot::channel();
        let (release, release_rx) = tokio::sync::oneshot::channel::<()>();
        let url = url.to_owned();
        let done = tokio::spawn(async move {
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let mut tx = c.begin().await.unwrap();
            sqlx::query("UPDATE event_seq SET value = value WHERE id = 1")
                .execute(&mut *tx)
                .await
                .unwrap();
            locked_tx.send(()).unwrap();
            let _ = release_rx.await;
            tx.rollback().await.unwrap();
        });
        locked_rx.await.unwrap();
        WriteLock { release, done }
    }

    async fn release(self) {
        let _ = self.release.send(());
        self.done.await.unwrap();
    }
}
