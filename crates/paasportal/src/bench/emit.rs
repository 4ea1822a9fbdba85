//! `paasportal bench emit`: a worker-like process that plays K synthetic deployments
//! through the real durable writer and the Redis publisher, for a separate `serve`
//! replica to stream to SSE clients (the baseline's emitter, in paasportal's topology).
//!
//! It creates an organization, P projects (each with a member user) and K running
//! deployments through the store, prints one JSON line with their ids and access tokens
//! signed with the serve replica's JWT secret, waits for `--start-file` when given, then
//! appends L lines per deployment at `--rate` lines/s in total (0 = flat out). Every
//! line is stamped when it is emitted, so receive time − `timestamp` is end-to-end latency.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use paasportal_bus::Publisher;
use paasportal_core::{OrgRole, ProjectRole};
use paasportal_server::auth::AuthKeys;
use paasportal_store::users::NewUser;
use paasportal_store::{ConnectOptions, LogWriter, Store, WriterConfig};
use uuid::Uuid;

use super::{fixtures, ingest, stats};
use crate::startup;

/// Flags of `bench emit`.
#[derive(Debug, Args)]
pub struct EmitArgs {
    /// Database shared with the serve replica: `postgres://…` (or `sqlite:PATH`).
    #[arg(long, env = "PAASPORTAL_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// Redis the serve replica subscribes to; without it the replica finds the lines by
    /// polling the store.
    #[arg(long, env = "PAASPORTAL_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// The serve replica's JWT signing key (base64, 32 bytes or more), to sign the tokens.
    #[arg(long, env = "PAASPORTAL_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: String,
    /// Lifetime of the printed tokens, in seconds.
    #[arg(long, default_value_t = 6 * 3600)]
    pub token_ttl_secs: u64,
    /// Deployments played concurrently.
    #[arg(long, default_value_t = 4)]
    pub deployments: usize,
    /// Lines per deployment.
    #[arg(long, default_value_t = 1_000)]
    pub lines: usize,
    /// Total lines per second across all deployments; 0 = flat out.
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Projects the deployments are spread over, each with its own member user.
    #[arg(long, default_value_t = 1)]
    pub projects: usize,
    /// Wait until this file exists before emitting (the load client creates it once
    /// all its subscribers are connected).
    #[arg(long)]
    pub start_file: Option<PathBuf>,
    /// Longest wait for `--start-file`, in seconds.
    #[arg(long, default_value_t = 600)]
    pub start_timeout_secs: u64,
}

/// Runs the emitter: setup, one JSON line on stdout, the wait, the lines, a report on stderr.
pub async fn run(args: EmitArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.deployments > 0, "--deployments must be at least 1");
    anyhow::ensure!(
        args.projects > 0 && args.projects <= args.deployments,
        "--projects must be between 1 and --deployments"
    );
    let secret = STANDARD
        .decode(args.jwt_secret.trim())
        .context("--jwt-secret is not valid base64")?;
    let keys = AuthKeys::new(
        &secret,
        Duration::from_secs(args.token_ttl_secs),
        Duration::from_secs(args.token_ttl_secs),
    )?;
    let store = startup::open_store(&args.database_url, &ConnectOptions::default()).await?;
    let fx = fixtures::running(&store, args.projects, args.deployments).await?;
    let setup = setup_json(&store, &keys, &fx, args.lines).await?;
    println!("{setup}");

    let publisher = Publisher::start(args.redis_url.as_deref())?;
    let (writer, task) = LogWriter::start(store.clone(), publisher.sink(), WriterConfig::default());
    if let Some(path) = &args.start_file {
        wait_for(path, Duration::from_secs(args.start_timeout_secs)).await?;
    }
    eprintln!(
        "emit: {} deployments x {} lines over {} projects, {}",
        args.deployments,
        args.lines,
        args.projects,
        if args.rate > 0.0 {
            format!("{} lines/s", args.rate)
        } else {
            "flat out".into()
        }
    );
    let (mut durable_ms, elapsed) = play(&writer, &fx, &args).await?;
    task.shutdown().await;
    publisher.drained(Duration::from_secs(5)).await;
    durable_ms.sort_by(|a, b| a.total_cmp(b));
    let total = durable_ms.len();
    eprintln!(
        "emit: {total} lines in {elapsed:.2}s = {:.0} lines/s; append->durable p50 {:.2} ms, p99 {:.2} ms",
        total as f64 / elapsed,
        stats::percentile(&durable_ms, 50.0),
        stats::percentile(&durable_ms, 99.0),
    );
    store.close().await;
    Ok(())
}

/// Appends every deployment's lines, paced; returns append→durable latencies and seconds taken.
async fn play(
    writer: &LogWriter,
    fx: &fixtures::Fixture,
    args: &EmitArgs,
) -> anyhow::Result<(Vec<f64>, f64)> {
    let k = fx.deployments.len();
    let interval = (args.rate > 0.0).then(|| Duration::from_secs_f64(k as f64 / args.rate));
    let start = Instant::now();
    let mut producers = Vec::with_capacity(k);
    for (i, dep) in fx.deployments.iter().enumerate() {
        // Staggered so the deployments' lines interleave evenly instead of arriving together.
        let offset = interval.map(|every| every.mul_f64(i as f64 / k as f64));
        producers.push(tokio::spawn(ingest::produce(
            writer.clone(),
            dep.id,
            args.lines,
            start,
            interval,
            offset,
        )));
    }
    let mut out = Vec::with_capacity(k * args.lines);
    for p in producers {
        out.extend(p.await??);
    }
    Ok((out, start.elapsed().as_secs_f64()))
}

/// Users and tokens: an organization admin who sees every project, and one member per project.
async fn setup_json(
    store: &Store,
    keys: &AuthKeys,
    fx: &fixtures::Fixture,
    lines: usize,
) -> anyhow::Result<serde_json::Value> {
    let tag = Uuid::new_v4().simple().to_string();
    let admin = bench_user(store, &format!("bench-admin-{tag}")).await?;
    store
        .upsert_org_member(fx.organization_id, admin, OrgRole::Admin)
        .await?;
    let mut projects = Vec::with_capacity(fx.project_ids.len());
    for (p, project) in fx.project_ids.iter().enumerate() {
        let user = bench_user(store, &format!("bench-p{p}-{tag}")).await?;
        store
            .upsert_project_member(*project, user, ProjectRole::Viewer)
            .await?;
        let deployments: Vec<Uuid> = fx
            .deployments
            .iter()
            .enumerate()
            .filter(|(d, _)| d % fx.project_ids.len() == p)
            .map(|(_, d)| d.id)
            .collect();
        projects.push(serde_json::json!({
            "project_id": project,
            "user_id": user,
            "token": keys.issue_access(user),
            "deployments": deployments,
            "expected": deployments.len() * lines,
        }));
    }
    Ok(serde_json::json!({
        "organization_id": fx.organization_id,
        "org_admin": {
            "user_id": admin,
            "token": keys.issue_access(admin),
            "expected": fx.deployments.len() * lines,
        },
        "deployments": fx.deployments.iter().map(|d| d.id).collect::<Vec<_>>(),
        "lines_per_deployment": lines,
        "projects": projects,
    }))
}

/// A user who signs in with a token only (the password hash matches no password).
async fn bench_user(store: &Store, name: &str) -> anyhow::Result<Uuid> {
    Ok(store
        .create_user(&NewUser {
            email: format!("{name}@bench.example.com"),
            name: name.to_owned(),
            password_hash: "!".into(),
            is_portal_admin: false,
        })
        .await?
        .id)
}

async fn wait_for(path: &std::path::Path, timeout: Duration) -> anyhow::Result<()> {
    let until = Instant::now() + timeout;
    while !path.exists() {
        anyhow::ensure!(
            Instant::now() < until,
            "{} did not appear within {timeout:?}",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}
