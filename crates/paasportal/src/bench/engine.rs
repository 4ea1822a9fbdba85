//! `paasportal bench engine`: the deployment engine's own overhead.
//!
//! N deployments are queued, each running the whole sixteen-stage pipeline against a
//! real sshd: `initializing`, `connecting` (a real SSH connection), then one real
//! command per remaining stage, then `completed`. One worker runs them with the given
//! concurrency. For each deployment the report takes its wall time (claim to end), the
//! time spent inside remote commands (each command's round trip), and the time of the
//! SSH connection; engine overhead is wall time minus time in remote commands, shown
//! with and without the connection set-up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use paasportal_core::shell::ShellCommand;
use paasportal_core::{AuthMethod, DeploymentStatus, SecretBox, Stage, Trigger};
use paasportal_engine::stages::{Connecting, Initializing, Script};
use paasportal_engine::{Engine, EngineConfig, Pipeline, RunReport, Worker};
use paasportal_store::environments::NewEnvironment;
use paasportal_store::servers::{NewServer, ServerSecrets};
use paasportal_store::versions::NewOdooVersion;
use paasportal_store::writer::NoSink;
use paasportal_store::{ConnectOptions, LogWriter, Store, WriterConfig};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::stats;
use crate::startup;

/// Flags of `bench engine`.
#[derive(Debug, Args)]
pub struct EngineBenchArgs {
    /// Database: `sqlite:PATH` or `postgres://…` [default: a fresh SQLite file in a temp dir]
    #[arg(long)]
    pub database_url: Option<String>,
    /// Deployments to run.
    #[arg(long, default_value_t = 50)]
    pub deployments: usize,
    /// Deployments the worker runs at once.
    #[arg(long, default_value_t = 50)]
    pub concurrency: usize,
    /// The command each stage after `connecting` runs on the server.
    #[arg(long, default_value = "true")]
    pub command: String,
    /// SSH server to deploy to.
    #[arg(long, env = "PAASPORTAL_TEST_SSH_HOST", default_value = "127.0.0.1")]
    pub ssh_host: String,
    #[arg(long, env = "PAASPORTAL_TEST_SSH_PORT", default_value_t = 22)]
    pub ssh_port: u16,
    #[arg(long, env = "PAASPORTAL_TEST_SSH_USER", default_value = "root")]
    pub ssh_user: String,
    /// Path of an unencrypted private key the server accepts.
    #[arg(long, env = "PAASPORTAL_TEST_SSH_KEY")]
    pub ssh_key: std::path::PathBuf,
}

/// Runs the benchmark and prints its report; the last line is JSON.
pub async fn run(args: EngineBenchArgs) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", tmp.path().join("bench.db").display()));
    let store = startup::open_store(&url, &ConnectOptions::default()).await?;
    let key = std::fs::read_to_string(&args.ssh_key)
        .with_context(|| format!("cannot read the SSH key {}", args.ssh_key.display()))?;
    let secrets = SecretBox::new(&SecretBox::generate_key())?;
    let ids = queue(&store, &secrets, &args, &key).await?;
    let (writer, writer_task) =
        LogWriter::start(store.clone(), Arc::new(NoSink), WriterConfig::default());

    let mut pipeline = Pipeline::empty()
        .with(Stage::Initializing, Initializing)
        .with(Stage::Connecting, Connecting);
    let mut remote_stages = 0;
    for stage in Stage::working().filter(|s| !matches!(s, Stage::Initializing | Stage::Connecting))
    {
        pipeline = pipeline.with(
            stage,
            Script::new(
                vec![ShellCommand::script(&args.command)],
                format!("{} done", stage.name()),
            ),
        );
        remote_stages += 1;
    }
    let config = EngineConfig {
        concurrency: args.concurrency,
        poll: Duration::from_millis(20),
        ..Default::default()
    };
    let engine = Engine::new(store.clone(), writer, secrets, config, pipeline);
    let (tx, mut rx) = mpsc::unbounded_channel::<RunReport>();
    let worker = Worker::new(engine).with_reports(tx);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    eprintln!(
        "engine: {} deployments x {} stages ({} remote commands each) on {:?}, concurrency {}, target {}@{}:{}",
        args.deployments,
        Stage::all().count(),
        remote_stages,
        store.backend(),
        args.concurrency,
        args.ssh_user,
        args.ssh_host,
        args.ssh_port
    );
    let started = Instant::now();
    let handle = tokio::spawn(worker.run(async {
        let _ = stop_rx.await;
    }));
    let mut reports = Vec::with_capacity(ids.len());
    while reports.len() < ids.len() {
        match tokio::time::timeout(Duration::from_secs(600), rx.recv()).await {
            Ok(Some(r)) => reports.push(r),
            _ => anyhow::bail!(
                "the worker stopped reporting after {} deployments",
                reports.len()
            ),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = stop_tx.send(());
    handle.await??;
    writer_task.shutdown().await;

    let mut overhead = Vec::new();
    let mut overhead_no_connect = Vec::new();
    let mut wall = Vec::new();
    let mut connect = Vec::new();
    let mut errors = Vec::new();
    for r in &reports {
        let d = store.get_deployment(r.deployment_id).await?;
        if r.status != Some(DeploymentStatus::Success) {
            errors.push(format!("{}: {:?}", d.id, d.error_message));
        }
        let steps = store.list_steps(r.deployment_id).await?;
        let conn = steps
            .iter()
            .find(|s| s.step == "connecting")
            .and_then(|s| s.duration_seconds)
            .unwrap_or(0.0);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let o = ms(r.wall) - ms(r.remote);
        overhead.push(o);
        overhead_no_connect.push(o - conn * 1000.0);
        wall.push(ms(r.wall));
        connect.push(conn * 1000.0);
    }
    for v in [
        &mut overhead,
        &mut overhead_no_connect,
        &mut wall,
        &mut connect,
    ] {
        v.sort_by(|a, b| a.total_cmp(b));
    }
    let p = |v: &[f64], q: f64| round1(stats::percentile(v, q));
    let report = serde_json::json!({
        "bench": "engine",
        "backend": format!("{:?}", store.backend()).to_lowercase(),
        "deployments": reports.len(),
        "concurrency": args.concurrency,
        "remote_commands_per_deployment": remote_stages,
        "errors": errors.len(),
        "seconds": round1(elapsed),
        "overhead_ms_p50": p(&overhead, 50.0),
        "overhead_ms_p95": p(&overhead, 95.0),
        "overhead_ms_max": p(&overhead, 100.0),
        "overhead_without_connect_ms_p50": p(&overhead_no_connect, 50.0),
        "overhead_without_connect_ms_p95": p(&overhead_no_connect, 95.0),
        "connect_ms_p50": p(&connect, 50.0),
        "wall_ms_p50": p(&wall, 50.0),
        "wall_ms_max": p(&wall, 100.0),
        "max_rss_mb": round1(stats::max_rss_mb()),
    });
    eprintln!(
        "engine: {} deployments in {elapsed:.2}s, {} errors; overhead per deployment p50 {} ms, p95 {} ms, max {} ms (of which SSH connect p50 {} ms)",
        reports.len(),
        errors.len(),
        report["overhead_ms_p50"],
        report["overhead_ms_p95"],
        report["overhead_ms_max"],
        report["connect_ms_p50"],
    );
    for e in errors.iter().take(5) {
        eprintln!("engine: error {e}");
    }
    println!("{report}");
    store.close().await;
    if !errors.is_empty() {
        anyhow::bail!("{} of {} deployments failed", errors.len(), reports.len());
    }
    Ok(())
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// One organization, project and server; one environment with a queued deployment each.
async fn queue(
    store: &Store,
    secrets: &SecretBox,
    args: &EngineBenchArgs,
    key: &str,
) -> anyhow::Result<Vec<Uuid>> {
    let run = Uuid::new_v4().simple().to_string()[..8].to_owned();
    let org = store
        .create_organization(&format!("bench-engine-{run}"))
        .await?;
    let project = store
        .create_project(org.id, &format!("bench-engine-{run}"))
        .await?;
    let server = store
        .create_server(&NewServer {
            organization_id: org.id,
            name: format!("bench-engine-{run}"),
            ip: args.ssh_host.clone(),
            ssh_port: args.ssh_port,
            ssh_user: args.ssh_user.clone(),
            auth_method: AuthMethod::Key,
            secrets: ServerSecrets {
                ssh_private_key_enc: Some(secrets.seal(key)),
                ..Default::default()
            },
        })
        .await?;
    if store.get_odoo_version("18.0").await.is_err() {
        store
            .create_odoo_version(&NewOdooVersion {
                version: "18.0".into(),
                image: "odoo:18.0".into(),
                registry_username: None,
                registry_password_enc: None,
            })
            .await?;
    }
    let mut ids = Vec::with_capacity(args.deployments);
    for d in 0..args.deployments {
        let env = store
            .create_environment(&NewEnvironment {
                project_id: project.id,
                server_id: server.id,
                name: format!("env-{d}"),
                branch: "main".into(),
                subdomain: format!("bench-engine-{run}-{d}"),
                apps_domain: "bench.example.com".into(),
                odoo_version: "18.0".into(),
                cpu_cores: 2.0,
                ram_mb: 2048,
                disk_gb: 20,
                config_overrides: serde_json::json!({}),
                read_replica: false,
                migration_id: None,
            })
            .await?;
        ids.push(
            store
                .create_deployment(env.id, Trigger::Api, None)
                .await?
                .id,
        );
    }
    Ok(ids)
}
