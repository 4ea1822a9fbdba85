//! Connecting to SQLite or PostgreSQL, chosen by the URL's scheme.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::error::{Result, StoreError};

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool to one of the two backends.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Largest pool size (SQLite caps it at 8: one writer, several readers).
    pub max_connections: u32,
    /// Connection attempts before giving up at start-up.
    pub attempts: u32,
    /// How long a query waits for a free connection.
    pub acquire_timeout: Duration,
    /// SQLite: how long a statement waits for another connection's lock before it fails
    /// as busy.
    pub busy_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            max_connections: 32,
            attempts: 5,
            acquire_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(10),
        }
    }
}

impl Backend {
    /// The backend a URL names: `sqlite:` or `postgres:`/`postgresql:`.
    pub fn of_url(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::InvalidUrl {
                url: redact_url(url),
                reason: "expected sqlite:PATH or postgres://USER@HOST/DB".into(),
            })
        }
    }
}

impl Db {
    /// Connects, retrying with exponential backoff (0.5 s, 1 s, 2 s, …) while the
    /// database is unreachable. Invalid URLs and refused logins fail at once.
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Db> {
        let backend = Backend::of_url(url)?;
        let invalid = |e: sqlx::Error| StoreError::InvalidUrl {
            url: redact_url(url),
            reason: e.to_string(),
        };
        let mut delay = Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            let result = match backend {
                Backend::Sqlite => {
                    let o = sqlite_options(url, opts.busy_timeout).map_err(invalid)?;
                    SqlitePoolOptions::new()
                        .max_connections(opts.max_connections.clamp(1, 8))
                        .acquire_timeout(opts.acquire_timeout)
                        .connect_with(o)
                        .await
                        .map(Db::Sqlite)
                }
                Backend::Postgres => {
                    let o = PgConnectOptions::from_str(url).map_err(invalid)?;
                    PgPoolOptions::new()
                        .max_connections(opts.max_connections)
                        .acquire_timeout(opts.acquire_timeout)
                        .connect_with(o)
                        .await
                        .map(Db::Postgres)
                }
            };
            match result {
                Ok(db) => return Ok(db),
                Err(e) if attempt < opts.attempts && is_transient(&e) => {
                    tracing::warn!(attempt, error = %e, "database not reachable yet, retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(8));
                    attempt += 1;
                }
                Err(e) => return Err(StoreError::Database(e)),
            }
        }
    }

    /// A small pool that connects on first use, for a component that must own its
    /// connections (the log writer runs on its own thread and runtime).
    pub fn connect_lazy(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
        busy_timeout: Duration,
    ) -> Result<Db> {
        let invalid = |e: sqlx::Error| StoreError::InvalidUrl {
            url: redact_url(url),
            reason: e.to_string(),
        };
        Ok(match Backend::of_url(url)? {
            Backend::Sqlite => Db::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(acquire_timeout)
                    .connect_lazy_with(sqlite_options(url, busy_timeout).map_err(invalid)?),
            ),
            Backend::Postgres => Db::Postgres(
                PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(acquire_timeout)
                    .connect_lazy_with(PgConnectOptions::from_str(url).map_err(invalid)?),
            ),
        })
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}

/// WAL journal, full fsync on commit (acknowledged means durable), foreign keys on.
fn sqlite_options(
    url: &str,
    busy_timeout: Duration,
) -> std::result::Result<SqliteConnectOptions, sqlx::Error> {
    Ok(SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(busy_timeout)
        .foreign_keys(true))
}

fn is_transient(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_)
    ) || matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("57P03"))
}

/// The URL with any password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &userinfo[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend_and_hide_passwords() {
        assert_eq!(
            Backend::of_url("sqlite:/tmp/x.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::of_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::of_url("mysql://u@h/db").is_err());
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }
}
