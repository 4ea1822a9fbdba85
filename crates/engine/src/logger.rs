//! A deployment's logger: every line is redacted, cleared of NUL bytes (U+FFFD instead:
//! PostgreSQL text cannot hold them), stamped with its stage, level, `data`,
//! the deployment's status and progress, and appended to the durable writer.
//!
//! Appends do not wait for their commit (that would put a database round trip on every
//! line of a deployment); the receipts are kept and checked in the background of later
//! appends, and [`DeploymentLogger::flush`] waits for all of them, re-appending any line
//! whose batch failed (the writer recovers by itself once the database is back).

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use paasportal_core::log::{value_without_nul, without_nul};
use paasportal_core::redact::Redactor;
use paasportal_core::{DeploymentStatus, LogLevel, NewLog, Stage};
use paasportal_store::{LogWriter, Receipt, WriteError};
use serde_json::Value;
use uuid::Uuid;

/// How many un-acknowledged lines are kept before finished receipts are swept.
const SWEEP_AT: usize = 512;
/// Attempts to write one line before giving up on it.
const ATTEMPTS: u32 = 5;

/// Writes one deployment's lines.
pub struct DeploymentLogger {
    deployment_id: Uuid,
    writer: LogWriter,
    redactor: Redactor,
    state: Mutex<State>,
}

struct State {
    status: DeploymentStatus,
    progress: u8,
    pending: Vec<Pending>,
}

struct Pending {
    log: NewLog,
    receipt: Receipt,
    attempt: u32,
}

impl DeploymentLogger {
    /// A logger for `deployment_id`, redacting with `redactor`.
    pub fn new(deployment_id: Uuid, writer: LogWriter, redactor: Redactor) -> Self {
        DeploymentLogger {
            deployment_id,
            writer,
            redactor,
            state: Mutex::new(State {
                status: DeploymentStatus::Running,
                progress: 0,
                pending: Vec::new(),
            }),
        }
    }

    /// The redactor every line passes through.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Sets the status stamped on later lines.
    pub fn set_status(&self, status: DeploymentStatus) {
        self.lock().status = status;
    }

    /// Sets the progress stamped on later lines.
    pub fn set_progress(&self, progress: u8) {
        self.lock().progress = progress;
    }

    /// The progress stamped on lines now.
    pub fn progress(&self) -> u8 {
        self.lock().progress
    }

    /// Logs a line of `stage` (or of no stage) now.
    pub async fn log(&self, level: LogLevel, stage: Option<Stage>, message: &str, data: Value) {
        self.log_at(Utc::now(), level, stage, message, data).await
    }

    /// Logs a line with an explicit timestamp.
    pub async fn log_at(
        &self,
        at: DateTime<Utc>,
        level: LogLevel,
        stage: Option<Stage>,
        message: &str,
        mut data: Value,
    ) {
        self.redactor.redact_value(&mut data);
        value_without_nul(&mut data);
        let (status, progress) = {
            let s = self.lock();
            (s.status, s.progress)
        };
        let log = NewLog {
            id: Uuid::now_v7(),
            deployment_id: self.deployment_id,
            timestamp: at,
            level,
            message: without_nul(&self.redactor.redact(message)).into_owned(),
            step: stage.map(|s| s.id().to_owned()),
            data,
            status,
            progress_percent: progress,
        };
        self.append(log, 1).await;
    }

    async fn append(&self, log: NewLog, attempt: u32) {
        match self.writer.append(log.clone()).await {
            Ok(receipt) => {
                let sweep = {
                    let mut s = self.lock();
                    s.pending.push(Pending {
                        log,
                        receipt,
                        attempt,
                    });
                    s.pending.len() >= SWEEP_AT
                };
                if sweep {
                    self.sweep().await;
                }
            }
            Err(e) => {
                tracing::error!(deployment_id = %self.deployment_id, error = %e, "log line dropped: the log writer has stopped")
            }
        }
    }

    /// Drops acknowledged receipts and re-appends lines whose batch failed.
    async fn sweep(&self) {
        let taken = std::mem::take(&mut self.lock().pending);
        let mut keep = Vec::with_capacity(taken.len());
        let mut failed = Vec::new();
        for mut p in taken {
            match (&mut p.receipt).now_or_never() {
                None => keep.push(p),
                Some(Ok(_)) => {}
                Some(Err(e)) => failed.push((p.log, p.attempt, e)),
            }
        }
        self.lock().pending.extend(keep);
        for (log, attempt, e) in failed {
            self.retry(log, attempt, e).await;
        }
    }

    /// Waits until every line appended so far is durable (retrying failed batches).
    pub async fn flush(&self) {
        loop {
            let taken = std::mem::take(&mut self.lock().pending);
            if taken.is_empty() {
                return;
            }
            for p in taken {
                if let Err(e) = p.receipt.await {
                    self.retry(p.log, p.attempt, e).await;
                }
            }
        }
    }

    async fn retry(&self, log: NewLog, attempt: u32, e: WriteError) {
        if attempt >= ATTEMPTS || e == WriteError::Closed {
            tracing::error!(deployment_id = %self.deployment_id, error = %e, attempts = attempt, "log line lost");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100 << attempt.min(5))).await;
        Box::pin(self.append(log, attempt + 1)).await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
