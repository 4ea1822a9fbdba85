//! Errors of the engine's worker.

use paasportal_store::StoreError;

/// Why a worker could not start or keep running.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "another paasportal worker already runs deployments from the SQLite database {db} \
         (it holds {lock}); SQLite supports one worker process: stop the other one, run \
         `paasportal serve --no-worker` beside a single `paasportal worker`, or use PostgreSQL \
         to run several workers"
    )]
    WorkerAlreadyRunning { db: String, lock: String },
    #[error("cannot open the worker lock file {path}: {source}")]
    Lock {
        path: String,
        #[source]
        source: std::io::Error,
    },
}
