//! A fresh, migrated store per test on either backend.

use paasportal_store::{ConnectOptions, Store};

use crate::require_env;

/// The two backends every conformance test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// A fresh store that cleans up after itself: a temporary SQLite file, or a
/// PostgreSQL database created for this test on the shared test server and dropped on drop.
pub struct TestStore {
    pub store: Store,
    /// The URL the store was opened with (for starting a server process on it).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestStore {
    /// A fresh migrated store on `backend`.
    pub async fn new(backend: TestBackend) -> TestStore {
        match backend {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite:{}", dir.path().join("test.db").display());
                let store = Store::open(&url, &ConnectOptions::default())
                    .await
                    .expect("open SQLite store");
                TestStore {
                    store,
                    url,
                    _dir: Some(dir),
                    pg: None,
                }
            }
            TestBackend::Postgres => {
                let admin_url = require_env("PAASPORTAL_TEST_DATABASE_URL");
                let name = format!("pp_test_{}", uuid::Uuid::new_v4().simple());
                create_database(&admin_url, &name).await;
                let url = with_database(&admin_url, &name);
                let opts = ConnectOptions {
                    max_connections: 10,
                    ..Default::default()
                };
                let store = Store::open(&url, &opts)
                    .await
                    .expect("open PostgreSQL store");
                TestStore {
                    store,
                    url,
                    _dir: None,
                    pg: Some((admin_url, name)),
                }
            }
        }
    }
}

impl TestStore {
    /// A fresh migrated SQLite store in `dir` (which the caller keeps), opened with `opts`.
    pub async fn sqlite_in(dir: &std::path::Path, opts: &ConnectOptions) -> TestStore {
        let url = format!("sqlite:{}", dir.join("test.db").display());
        let store = Store::open(&url, opts).await.expect("open SQLite store");
        TestStore {
            store,
            url,
            _dir: None,
            pg: None,
        }
    }

    /// A fresh migrated store on `backend`, opened with `opts`.
    pub async fn with_options(backend: TestBackend, opts: &ConnectOptions) -> TestStore {
        match backend {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let mut t = TestStore::sqlite_in(dir.path(), opts).await;
                t._dir = Some(dir);
                t
            }
            TestBackend::Postgres => {
                let admin_url = require_env("PAASPORTAL_TEST_DATABASE_URL");
                let name = format!("pp_test_{}", uuid::Uuid::new_v4().simple());
                create_database(&admin_url, &name).await;
                let url = with_database(&admin_url, &name);
                let store = Store::open(&url, opts)
                    .await
                    .expect("open PostgreSQL store");
                TestStore {
                    store,
                    url,
                    _dir: None,
                    pg: Some((admin_url, name)),
                }
            }
        }
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.pg.take() else {
            return;
        };
        let store = self.store.clone();
        // Drop the database from a separate thread with its own runtime: Drop cannot await.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async move {
                    store.close().await;
                    drop_database(&admin_url, &name).await;
                });
            }
        })
        .join();
    }
}

/// `url` with its database name replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..path_start], db);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

async fn admin_conn(admin_url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!("cannot reach the test PostgreSQL at PAASPORTAL_TEST_DATABASE_URL: {e}")
        })
}

async fn create_database(admin_url: &str, name: &str) {
    let mut c = admin_conn(admin_url).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut c)
        .await
        .expect("create test database");
}

async fn drop_database(admin_url: &str, name: &str) {
    let mut c = admin_conn(admin_url).await;
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut c)
    .await;
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_swapped() {
        assert_eq!(
            with_database("postgres://u@h:1/postgres", "x"),
            "postgres://u@h:1/x"
        );
        assert_eq!(with_database("postgres://u@h:1", "x"), "postgres://u@h:1/x");
        assert_eq!(
            with_database("postgres://u@h/p?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
