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
}

impl Store {
    /// Connects (retrying while the database is unreachable) and applies migrations.
    pub async fn open(url: &str, opts: &ConnectOptions) -> Result<Store> {
        let db = Db::connect(url, opts).await?;
        migrate::run(&db).await?;
        Ok(Store {
            db,
            url: url.into(),
        })
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

    /// Round-trips a trivial query: the readiness probe.
    pub async fn ping(&self) -> Result<()> {
        with_db!(&self.db, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.db.close().await
    }
}
