//! `creating_database`: PostgreSQL with 30 % of the environment's CPU and RAM and PGTune
//! settings, polled until it accepts connections (30 tries), PgBouncer in transaction
//! mode on 6432 in front of it, and for Odoo 18 and later with the read-replica flag a
//! streaming replica with its own PgBouncer on 6433. A redeploy keeps containers whose
//! arguments did not change; the data volume always stays.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use paasportal_core::diagnostics::ErrorCode;
use paasportal_odoo::docker_args::database::{
    DbRun, READY_RETRIES, REPLICA_STATUS_QUERY, pg_isready, pgbouncer_primary, pgbouncer_replica,
    postgres_primary, postgres_replica, psql, tuned_settings_query,
};
use paasportal_odoo::messages;
use paasportal_odoo::pgtune::{PGBOUNCER_PORT, PGBOUNCER_REPLICA_PORT, PgTune};
use serde_json::{Map, Value, json};

use super::docker::{self, Ensured};
use super::plan::{DeployPlan, plan};
use crate::context::StageContext;
use crate::diagnose::with_container_log;
use crate::stage::{StageError, StageHandler, StageOutcome};

/// How often the replica is polled until it streams (it first waits for the primary,
/// then copies it with `pg_basebackup`).
const REPLICA_RETRIES: u32 = 90;

/// Creates the database containers.
#[derive(Debug, Clone, Copy, Default)]
pub struct CreatingDatabase;

#[async_trait]
impl StageHandler for CreatingDatabase {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        let p = plan(cx).await?;
        let images = cx.config().deploy.db_images.clone();
        let run = DbRun {
            names: &p.names,
            images: &images,
            resources: p.resources,
            env_ram_mb: cx.environment().ram_mb,
            db_password: &p.db_password,
            replication_password: p.replication_password.as_deref(),
        };
        let db = p.names.db_container();
        cx.info(&messages::creating_postgres(&db)).await;
        let started = Instant::now();
        let how = docker::ensure_container(cx, &db, &postgres_primary(&run)).await?;
        if how == Ensured::Kept {
            cx.debug(&format!("{db} already runs with the same settings; kept"))
                .await;
        }
        cx.info(&messages::postgres_running(started.elapsed().as_secs_f64()))
            .await;
        cx.info(messages::WAITING_FOR_POSTGRES).await;
        wait_ready(cx, &db, READY_RETRIES, &pg_isready(&db), None).await?;
        cx.info(messages::POSTGRES_READY).await;

        let settings = check_tuning(cx, &p, &db).await?;

        let bouncer = p.names.pgbouncer();
        docker::ensure_container(cx, &bouncer, &pgbouncer_primary(&run)).await?;
        expect_running(cx, &bouncer).await?;
        cx.info(&messages::pgbouncer_running(&bouncer, PGBOUNCER_PORT))
            .await;

        if p.replica() {
            let replica = p.names.replica_container();
            let begin = Instant::now();
            docker::ensure_container(cx, &replica, &postgres_replica(&run)).await?;
            let query = psql(&replica, "postgres", REPLICA_STATUS_QUERY);
            wait_ready(cx, &replica, REPLICA_RETRIES, &query, Some("t")).await?;
            cx.info(&messages::replica_streaming(
                &replica,
                begin.elapsed().as_secs_f64(),
            ))
            .await;
            let rb = p.names.pgbouncer_replica();
            docker::ensure_container(cx, &rb, &pgbouncer_replica(&run)).await?;
            expect_running(cx, &rb).await?;
            cx.info(&messages::pgbouncer_running(&rb, PGBOUNCER_REPLICA_PORT))
                .await;
        }
        Ok(
            StageOutcome::completed("PostgreSQL optimized").with_data(json!({
                "container": db,
                "pgbouncer": bouncer,
                "read_replica": p.replica(),
                "cpus": p.resources.db_cpus,
                "memory_mb": p.resources.db_ram_mb,
                "settings": settings,
            })),
        )
    }
}

/// Polls `probe` every `ready_interval` until it succeeds (printing `want`, if given),
/// at most `tries` times; then fails with the container's last log lines.
async fn wait_ready(
    cx: &StageContext<'_>,
    container: &str,
    tries: u32,
    probe: &[String],
    want: Option<&str>,
) -> Result<(), StageError> {
    let interval = cx.config().deploy.ready_interval;
    let begin = Instant::now();
    let mut last = String::new();
    for attempt in 1..=tries {
        let out = docker::probe(cx, probe).await?;
        let text = out.stdout_text();
        let ok = out.status.success() && want.is_none_or(|w| text == w);
        if ok {
            return Ok(());
        }
        last = out.tail.last().cloned().unwrap_or_default();
        if attempt < tries {
            cx.sleep(interval).await?;
        }
    }
    let data = json!({
        "container": container,
        "max_retries": tries,
        "elapsed_seconds": (begin.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        "last_error": last,
    });
    Err(StageError::new(
        format!("PostgreSQL container {container} did not accept connections after {tries} tries"),
        ErrorCode::Timeout,
        with_container_log(cx, container, data).await,
    ))
}

/// Fails unless `container` is running (a pooler that exits at once, say on bad settings).
async fn expect_running(cx: &StageContext<'_>, container: &str) -> Result<(), StageError> {
    // A container that fails on its settings exits within a moment of starting.
    cx.sleep(Duration::from_millis(300)).await?;
    match docker::container_state(cx, container).await? {
        Some(s) if s == "running" => Ok(()),
        state => Err(StageError::new(
            format!(
                "Container {container} is not running ({})",
                state.as_deref().unwrap_or("absent")
            ),
            ErrorCode::CommandFailed,
            with_container_log(
                cx,
                container,
                json!({"container": container, "state": state}),
            )
            .await,
        )),
    }
}

/// Reads the PGTune settings in force and logs a warning for any that differ.
async fn check_tuning(
    cx: &StageContext<'_>,
    p: &DeployPlan,
    db: &str,
) -> Result<Value, StageError> {
    let out = docker::run(cx, &psql(db, "postgres", &tuned_settings_query())).await?;
    let text = out.stdout_text();
    let in_force: Map<String, Value> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();
    let tune = PgTune::for_container(p.resources.db_ram_mb, p.resources.db_cpus, p.replica());
    let differing: Vec<String> = tune
        .settings()
        .iter()
        .filter(|(k, v)| in_force.get(*k).and_then(Value::as_str) != Some(v.as_str()))
        .map(|(k, _)| (*k).to_owned())
        .collect();
    if !differing.is_empty() {
        cx.warn(
            "Some PGTune settings are not in force",
            json!({"settings": differing, "in_force": in_force}),
        )
        .await;
    }
    Ok(Value::Object(in_force))
}
