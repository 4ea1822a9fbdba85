//! A worker: claims queued deployments and runs up to `concurrency` of them at once.
//!
//! Every `heartbeat` it renews the leases of the deployments it runs, in one query, and
//! learns of cancel requests from the same answer (so a cancel is noticed within a
//! heartbeat). Every `reap_every` it fails deployments whose lease expired: on PostgreSQL
//! those of dead workers on any host; on SQLite, where one worker process holds the
//! database's worker lock, it also fails at start-up every deployment the previous
//! process left running.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use paasportal_store::Backend;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::control::{RunControl, StopReason};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::recovery::{LostWorker, fail_lost, reap_expired};
use crate::runner::{self, RunReport};
use crate::sqlite_lock;

type Active = Arc<Mutex<HashMap<Uuid, RunControl>>>;

/// Runs queued deployments until told to stop.
pub struct Worker {
    engine: Engine,
    id: String,
    wake: Arc<Notify>,
    reports: Option<mpsc::UnboundedSender<RunReport>>,
}

impl Worker {
    /// A worker with a fresh id (`host:pid:random`).
    pub fn new(engine: Engine) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "host".into());
        let id = format!(
            "{host}:{}:{}",
            std::process::id(),
            &Uuid::new_v4().simple().to_string()[..8]
        );
        Worker {
            engine,
            id,
            wake: Arc::new(Notify::new()),
            reports: None,
        }
    }

    /// This worker's id, as recorded on the deployments it claims.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Wakes the worker at once when a deployment is queued in this process.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Sends a report of every finished run to `tx`.
    pub fn with_reports(mut self, tx: mpsc::UnboundedSender<RunReport>) -> Self {
        self.reports = Some(tx);
        self
    }

    /// Takes the SQLite worker lock (on SQLite) and fails what dead workers left running.
    /// Errors here mean the worker must not run (another one holds the database).
    pub async fn prepare(self) -> Result<ReadyWorker, EngineError> {
        let lock = match self.engine.store.backend() {
            Backend::Sqlite => sqlite_lock::acquire(self.engine.store.url())?,
            Backend::Postgres => None,
        };
        self.recover_at_start().await?;
        Ok(ReadyWorker {
            worker: self,
            _lock: lock,
        })
    }

    /// [`Worker::prepare`], then [`ReadyWorker::run`].
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), EngineError> {
        self.prepare().await?.run(shutdown).await
    }

    async fn recover_at_start(&self) -> Result<(), EngineError> {
        let engine = &self.engine;
        match engine.store.backend() {
            Backend::Sqlite => {
                for id in engine.store.running_deployments().await? {
                    fail_lost(engine, id, LostWorker::ProcessEnded, None).await?;
                }
            }
            Backend::Postgres => {
                reap_expired(engine).await?;
            }
        }
        Ok(())
    }
}

/// A worker that holds its lock and has recovered what dead workers left: ready to run.
pub struct ReadyWorker {
    worker: Worker,
    _lock: Option<sqlite_lock::WorkerLock>,
}

impl ReadyWorker {
    /// The worker's id.
    pub fn id(&self) -> &str {
        &self.worker.id
    }

    /// Runs until `shutdown` resolves, then lets running deployments finish for up to
    /// the configured grace and stops the rest (they end `failed`, saying why).
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), EngineError> {
        let this = &self.worker;
        let engine = this.engine.clone();
        let store = &engine.store;
        let cfg = engine.config.clone();
        tracing::info!(worker_id = %this.id, concurrency = cfg.concurrency, "worker started");

        let active: Active = Arc::default();
        let background = CancellationToken::new();
        let mut helpers = JoinSet::new();
        helpers.spawn(heartbeat(
            engine.clone(),
            this.id.clone(),
            active.clone(),
            background.clone(),
        ));
        helpers.spawn(reaper(engine.clone(), background.clone()));

        let slots = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
        let mut runs = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            while let Some(done) = runs.try_join_next() {
                if let Err(e) = done {
                    tracing::error!(error = %e, "a deployment run panicked");
                }
            }
            let permit = tokio::select! {
                _ = &mut shutdown => break,
                p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            };
            match store.claim_next_deployment(&this.id, cfg.lease).await {
                Ok(Some(deployment)) => {
                    let control = RunControl::new();
                    let id = deployment.id;
                    lock(&active).insert(id, control.clone());
                    let guard = ActiveGuard {
                        active: active.clone(),
                        id,
                    };
                    let (engine, worker_id, reports) =
                        (engine.clone(), this.id.clone(), this.reports.clone());
                    runs.spawn(async move {
                        let _guard = guard;
                        let _permit = permit;
                        run_one(&engine, &worker_id, deployment, control, reports).await;
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = this.wake.notified() => {}
                        _ = tokio::time::sleep(cfg.poll) => {}
                    }
                }
                Err(e) => {
                    drop(permit);
                    tracing::warn!(error = %e, "cannot claim deployments; retrying");
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = tokio::time::sleep(cfg.poll) => {}
                    }
                }
            }
        }

        if !runs.is_empty() {
            tracing::info!(
                running = runs.len(),
                grace = ?cfg.shutdown_grace,
                "worker stopping: waiting for running deployments"
            );
        }
        let drained = tokio::time::timeout(cfg.shutdown_grace, async {
            while runs.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            for control in lock(&active).values() {
                control.stop(StopReason::Shutdown);
            }
            while runs.join_next().await.is_some() {}
        }
        background.cancel();
        while helpers.join_next().await.is_some() {}
        tracing::info!(worker_id = %this.id, "worker stopped");
        Ok(())
    }
}

fn lock(active: &Active) -> std::sync::MutexGuard<'_, HashMap<Uuid, RunControl>> {
    active.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes a run from the active set however its task ends (even by panic), so its
/// lease is no longer renewed and a stuck row is reaped.
struct ActiveGuard {
    active: Active,
    id: Uuid,
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        lock(&self.active).remove(&self.id);
    }
}

async fn run_one(
    engine: &Engine,
    worker_id: &str,
    deployment: paasportal_core::Deployment,
    control: RunControl,
    reports: Option<mpsc::UnboundedSender<RunReport>>,
) {
    let id = deployment.id;
    match runner::run(engine, worker_id, deployment, control).await {
        Ok(report) => {
            if let Some(tx) = reports {
                let _ = tx.send(report);
            }
        }
        Err(e) => {
            tracing::error!(deployment_id = %id, error = %e, "deployment run failed on a store error");
            if let Err(e2) = fail_lost(engine, id, LostWorker::RunError(e.to_string()), None).await
            {
                tracing::error!(deployment_id = %id, error = %e2, "cannot record the failure; the lease will expire and the deployment be failed as lost");
            }
        }
    }
}

/// Renews the leases of the active runs and relays cancel requests and lost leases.
async fn heartbeat(engine: Engine, worker_id: String, active: Active, stop: CancellationToken) {
    let cfg = engine.config.clone();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(cfg.heartbeat) => {}
        }
        let snapshot: Vec<(Uuid, RunControl)> = lock(&active)
            .iter()
            .map(|(id, c)| (*id, c.clone()))
            .collect();
        if snapshot.is_empty() {
            continue;
        }
        let ids: Vec<Uuid> = snapshot.iter().map(|(id, _)| *id).collect();
        match engine.store.renew_leases(&worker_id, &ids, cfg.lease).await {
            Ok(states) => {
                for (id, control) in snapshot {
                    match states.iter().find(|s| s.deployment_id == id) {
                        None => control.stop(StopReason::LeaseLost),
                        Some(s) if s.cancel_requested_at.is_some() => {
                            control.stop(StopReason::Cancelled { by: s.cancelled_by })
                        }
                        Some(_) => {}
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot renew leases; retrying"),
        }
    }
}

/// Fails deployments whose lease expired.
async fn reaper(engine: Engine, stop: CancellationToken) {
    let every = engine.config.reap_every;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        if let Err(e) = reap_expired(&engine).await {
            tracing::warn!(error = %e, "cannot look for lost deployments; retrying");
        }
    }
}
