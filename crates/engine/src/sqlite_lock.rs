//! One worker per SQLite database: SQLite has no `SKIP LOCKED` and a worker starting on
//! SQLite fails every `running` deployment as lost, which is only right if no other
//! worker process is running them. An exclusive lock on a file beside the database
//! makes a second worker refuse to start instead.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

use crate::error::EngineError;

/// Held for as long as the worker runs; the lock goes with the file handle.
#[derive(Debug)]
pub struct WorkerLock {
    _file: File,
}

/// The database file a `sqlite:` URL names; `None` for an in-memory database.
pub fn database_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.split('?').next().unwrap_or("");
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    if rest.is_empty() || rest == ":memory:" {
        None
    } else {
        Some(PathBuf::from(rest))
    }
}

/// Takes the worker lock of the SQLite database at `url` (`{db}.worker.lock`).
pub fn acquire(url: &str) -> Result<Option<WorkerLock>, EngineError> {
    let Some(db) = database_path(url) else {
        return Ok(None);
    };
    let mut lock = db.clone().into_os_string();
    lock.push(".worker.lock");
    let lock = PathBuf::from(lock);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(|source| EngineError::Lock {
            path: lock.display().to_string(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(Some(WorkerLock { _file: file })),
        Err(TryLockError::WouldBlock) => Err(EngineError::WorkerAlreadyRunning {
            db: db.display().to_string(),
            lock: lock.display().to_string(),
        }),
        Err(TryLockError::Error(source)) => Err(EngineError::Lock {
            path: lock.display().to_string(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_urls() {
        assert_eq!(database_path("sqlite:/tmp/a.db"), Some("/tmp/a.db".into()));
        assert_eq!(
            database_path("sqlite:///tmp/a.db?mode=rwc"),
            Some("/tmp/a.db".into())
        );
        assert_eq!(database_path("sqlite://rel.db"), Some("rel.db".into()));
        assert_eq!(database_path("sqlite::memory:"), None);
        assert_eq!(database_path("postgres://x/y"), None);
    }

    #[test]
    fn a_second_worker_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("p.db").display());
        let first = acquire(&url).unwrap();
        assert!(first.is_some());
        assert!(matches!(
            acquire(&url),
            Err(EngineError::WorkerAlreadyRunning { .. })
        ));
        drop(first);
        assert!(acquire(&url).unwrap().is_some());
    }
}
