//! paasportal's storage: SQLite (embedded default) and PostgreSQL behind one API,
//! their migrations, and the durable batched log writer.
//!
//! Every query is written once with `$n` placeholders (both engines accept them) and
//! run on whichever pool the [`Store`] holds, through the [`with_db!`] macro. Row
//! structs derive `sqlx::FromRow` generically, so one struct decodes both engines' rows.

mod copy_binary;
pub mod db;
pub mod error;
pub mod migrate;
mod observe;
mod rows;

pub mod deploy_inputs;
pub mod deployment_container;
pub mod deployments;
pub mod env_secrets;
pub mod environments;
pub mod events;
pub mod history;
pub mod history_import;
pub mod logs;
pub mod organizations;
pub mod projects;
pub mod queue;
pub mod refresh_tokens;
pub mod repositories;
pub mod retention;
pub mod servers;
pub mod steps;
pub mod stream_tickets;
pub mod users;
pub mod versions;
pub mod writer;

pub use db::{Backend, ConnectOptions, Db};
pub use error::{Result, StoreError};
pub use writer::{CommitSink, CommittedBatch, LogWriter, Receipt, WriteError, WriterConfig};

/// Runs `$body` with `$pool` bound to the concrete pool of whichever backend `$db` is.
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// The store: a pool on one backend, with typed queries for every table.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    url: std::sync::Arc<str>,
    busy_timeout: std::time::Duration,
}

impl Store {
    /// Connects (retrying while the database is unreachable) and applies migrations.
    pub async fn open(url: &str, opts: &ConnectOptions) -> Result<Store> {
        let db = Db::connect(url, opts).await?;
        migrate::run(&db).await?;
        Ok(Store {
            db,
            url: url.into(),
            busy_timeout: opts.busy_timeout,
        })
    }

    /// SQLite's busy timeout the store was opened with (for pools opened beside it).
    pub fn busy_timeout(&self) -> std::time::Duration {
        self.busy_timeout
    }

    /// The URL the store was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The underlying pool.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Which engine the store runs on.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// Round-trips a trivial query.
    pub async fn ping(&self) -> Result<()> {
        with_db!(&self.db, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The readiness probe: commits a write that changes nothing (it rewrites the sequence
    /// counter's row with its own value), so a database that is read-only, locked past
    /// the busy timeout or out of space is reported as such.
    pub async fn check_writable(&self) -> Result<()> {
        let sql = "UPDATE event_seq SET value = value WHERE id = 1";
        match &self.db {
            Db::Sqlite(p) => {
                let mut tx = p.begin().await?;
                sqlx::query(sql).execute(&mut *tx).await?;
                tx.commit().await?;
            }
            Db::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query(sql).execute(&mut *tx).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.db.close().await
    }
}
