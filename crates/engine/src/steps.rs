//! Recording stage states off the runner's critical path.
//!
//! A stage starting or ending is queued to a task that applies the changes in order,
//! several per transaction when they pile up, so a deployment never waits for a commit
//! between two stages. [`StepRecorder::flush`] waits until everything queued is durable;
//! the runner flushes before it writes the deployment's outcome.

use chrono::{DateTime, Utc};
use paasportal_core::{Stage, StepStatus};
use paasportal_store::steps::StepChange;
use paasportal_store::{Store, StoreError};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Most changes applied in one transaction.
const MAX_BATCH: usize = 64;

enum Op {
    Change(StepChange),
    Flush(oneshot::Sender<Result<(), String>>),
}

/// Queues one deployment's stage changes to a background writer.
pub(crate) struct StepRecorder {
    tx: mpsc::UnboundedSender<Op>,
}

impl StepRecorder {
    /// Starts the recorder's task for `deployment_id`.
    pub fn start(store: Store, deployment_id: Uuid) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(apply(store, deployment_id, rx));
        StepRecorder { tx }
    }

    /// `stage` started at `at`, with the deployment at `progress`.
    pub fn started(&self, stage: Stage, at: DateTime<Utc>, progress: u8) {
        let _ = self.tx.send(Op::Change(StepChange::Start {
            step: stage.id().to_owned(),
            at,
            progress_percent: progress,
        }));
    }

    /// `stage` ended with `status` at `at` after `seconds`, with the deployment at `progress`.
    pub fn finished(
        &self,
        stage: Stage,
        status: StepStatus,
        at: DateTime<Utc>,
        seconds: f64,
        progress: u8,
    ) {
        let _ = self.tx.send(Op::Change(StepChange::Finish {
            step: stage.id().to_owned(),
            status,
            at,
            duration_seconds: seconds,
            progress_percent: progress,
        }));
    }

    /// Waits until every change queued so far is durable; the first failure since the
    /// last flush is returned.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Op::Flush(tx)).is_err() {
            return Err(StoreError::Corrupt("the step recorder stopped".into()));
        }
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Corrupt(format!(
                "stage states were not recorded: {e}"
            ))),
            Err(_) => Err(StoreError::Corrupt("the step recorder stopped".into())),
        }
    }
}

async fn apply(store: Store, deployment_id: Uuid, mut rx: mpsc::UnboundedReceiver<Op>) {
    let mut failure: Option<String> = None;
    let mut batch: Vec<StepChange> = Vec::new();
    while let Some(op) = rx.recv().await {
        let mut flushes = Vec::new();
        let mut next = Some(op);
        while let Some(op) = next.take() {
            match op {
                Op::Change(c) => batch.push(c),
                Op::Flush(done) => flushes.push(done),
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            if let Err(e) = store.record_steps(deployment_id, &batch).await {
                tracing::error!(deployment_id = %deployment_id, error = %e, "stage states not recorded");
                failure.get_or_insert(e.to_string());
            }
            batch.clear();
        }
        for done in flushes {
            let _ = done.send(match failure.take() {
                Some(e) => Err(e),
                None => Ok(()),
            });
        }
    }
}
