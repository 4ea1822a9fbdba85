//! `paasportal bench fill`: a history to query. One organization with P projects (two
//! environments each), D finished deployments spread over the last days with their
//! stage timings, and N log lines through the durable writer; then ANALYZE. Prints the
//! credentials and sample ids `bench query` needs as one JSON line.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use clap::Args;
use paasportal_core::stage::{CATALOGUE, WORKING_STAGES};
use paasportal_core::{DeploymentStatus, LogLevel, NewLog, ProjectRole, StepStatus, Trigger};
use paasportal_store::history_import::{ImportedDeployment, ImportedStep};
use paasportal_store::users::NewUser;
use paasportal_store::writer::NoSink;
use paasportal_store::{ConnectOptions, LogWriter, Store, WriterConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use super::fixtures;
use crate::startup;

/// Arguments of `bench fill`.
#[derive(Debug, Args)]
pub struct FillArgs {
    /// The database to fill (PostgreSQL for the benchmark; SQLite works too).
    #[arg(long, env = "PAASPORTAL_DATABASE_URL")]
    pub database_url: String,
    /// Finished deployments to create.
    #[arg(long, default_value_t = 10_000)]
    pub deployments: usize,
    /// Projects to spread them over (two environments each).
    #[arg(long, default_value_t = 1_000)]
    pub projects: usize,
    /// Log lines in total, spread evenly over the deployments.
    #[arg(long, default_value_t = 5_000_000)]
    pub lines: usize,
    /// The deployments start within this many days before now.
    #[arg(long, default_value_t = 30)]
    pub days: i64,
    /// Seed of the random history, so two fills hold the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Deployments whose lines are written concurrently.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Also write the JSON summary to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Deployments per import transaction.
const IMPORT_CHUNK: usize = 1_000;
/// Sample deployments (and their projects) the query user may read.
const SAMPLES: usize = 5;

/// Like the baseline's fill: mostly info, some warnings and errors, a little debug.
const LEVELS: [(LogLevel, u32); 4] = [
    (LogLevel::Info, 85),
    (LogLevel::Warning, 8),
    (LogLevel::Error, 5),
    (LogLevel::Debug, 2),
];
const WORDS: [&str; 20] = [
    "resolving",
    "fetching",
    "compiling",
    "linking",
    "uploading",
    "layer",
    "cache",
    "hit",
    "miss",
    "pulling",
    "image",
    "step",
    "done",
    "ok",
    "retry",
    "warning",
    "module",
    "package",
    "container",
    "volume",
];

/// Runs the fill.
pub async fn run(args: FillArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.deployments > 0 && args.projects > 0,
        "--deployments and --projects must be positive"
    );
    let started = Instant::now();
    let store = startup::open_store(&args.database_url, &ConnectOptions::default()).await?;
    let mut rng = StdRng::seed_from_u64(args.seed);
    let base = fixtures::organization(&store).await?;
    let mut environments = Vec::with_capacity(args.projects * 2);
    for p in 0..args.projects {
        let project = store
            .create_project(base.org.id, &format!("{}-p{p}", base.tag))
            .await?;
        for name in ["production", "staging"] {
            let branch = if name == "production" {
                "main"
            } else {
                "develop"
            };
            let env = base.environment(&store, project.id, name, branch).await?;
            environments.push((project.id, env.id, env.branch));
        }
    }
    eprintln!(
        "fill: {} projects, {} environments in {:.1}s",
        args.projects,
        environments.len(),
        started.elapsed().as_secs_f64()
    );

    let t_deployments = Instant::now();
    let now = Utc::now();
    let mut versions = vec![0i64; environments.len()];
    let mut deployments = Vec::with_capacity(args.deployments);
    for d in 0..args.deployments {
        let e = (d % args.projects) * 2 + (d / args.projects) % 2;
        versions[e] += 1;
        let (project_id, environment_id, branch) = &environments[e];
        let start = now - Duration::seconds(rng.gen_range(3_600..args.days.max(1) * 86_400));
        deployments.push(history(
            &mut rng,
            *project_id,
            *environment_id,
            base.server.id,
            versions[e],
            branch,
            start,
        ));
    }
    for chunk in deployments.chunks(IMPORT_CHUNK) {
        store.import_deployments(chunk).await?;
    }
    let deployments_s = t_deployments.elapsed().as_secs_f64();
    eprintln!(
        "fill: {} deployments with their stages in {deployments_s:.1}s",
        deployments.len()
    );

    let per_deployment = args.lines / args.deployments;
    let t_lines = Instant::now();
    let written = write_lines(
        &store,
        &deployments,
        per_deployment,
        args.seed,
        args.concurrency,
    )
    .await?;
    let lines_s = t_lines.elapsed().as_secs_f64();
    eprintln!(
        "fill: {written} lines in {lines_s:.1}s ({:.0} lines/s)",
        written as f64 / lines_s
    );

    let t_analyze = Instant::now();
    store.analyze().await?;
    let analyze_s = t_analyze.elapsed().as_secs_f64();

    let samples: Vec<&ImportedDeployment> = deployments
        .iter()
        .skip(args.deployments / 2)
        .take(SAMPLES)
        .collect();
    let password = Uuid::new_v4().simple().to_string();
    let email = format!("{}-reader@bench.paasportal.test", base.tag);
    let user = store
        .create_user(&NewUser {
            email: email.clone(),
            name: "Bench reader".into(),
            password_hash: paasportal_core::password::hash(&password),
            is_portal_admin: false,
        })
        .await?;
    for d in &samples {
        store
            .upsert_project_member(d.project_id, user.id, ProjectRole::Viewer)
            .await?;
    }
    let report = serde_json::json!({
        "bench": "fill",
        "backend": format!("{:?}", store.backend()).to_lowercase(),
        "organization_id": base.org.id,
        "projects": args.projects,
        "deployments": args.deployments,
        "lines": written,
        "lines_per_deployment": per_deployment,
        "deployments_s": round1(deployments_s),
        "lines_s": round1(lines_s),
        "lines_per_s": (written as f64 / lines_s).round(),
        "analyze_s": round1(analyze_s),
        "total_s": round1(started.elapsed().as_secs_f64()),
        "email": email,
        "password": password,
        "sample_deployments": samples.iter().map(|d| d.id).collect::<Vec<_>>(),
        "sample_projects": samples.iter().map(|d| d.project_id).collect::<Vec<_>>(),
    });
    if let Some(path) = &args.out {
        std::fs::write(path, format!("{report}\n"))?;
    }
    println!("{report}");
    store.close().await;
    Ok(())
}

/// One finished deployment: every stage in order, each a few seconds; one in ten fails
/// at a random stage and one in twenty is cancelled.
fn history(
    rng: &mut StdRng,
    project_id: Uuid,
    environment_id: Uuid,
    server_id: Uuid,
    version: i64,
    branch: &str,
    start: DateTime<Utc>,
) -> ImportedDeployment {
    let roll: u32 = rng.gen_range(0..100);
    let (status, last) = match roll {
        0..=9 => (DeploymentStatus::Failed, rng.gen_range(1..WORKING_STAGES)),
        10..=14 => (
            DeploymentStatus::Cancelled,
            rng.gen_range(1..WORKING_STAGES),
        ),
        _ => (DeploymentStatus::Success, WORKING_STAGES - 1),
    };
    let mut at = start;
    let mut steps = Vec::with_capacity(last + 1);
    for (i, stage) in CATALOGUE[..=last].iter().enumerate() {
        let took = Duration::milliseconds(rng.gen_range(200..8_000));
        let step_status = if i < last || status == DeploymentStatus::Success {
            StepStatus::Completed
        } else {
            StepStatus::Failed
        };
        steps.push(ImportedStep {
            step: stage.id,
            status: step_status,
            started_at: at,
            completed_at: at + took,
        });
        at += took;
    }
    ImportedDeployment {
        id: Uuid::now_v7(),
        project_id,
        environment_id,
        server_id: Some(server_id),
        version,
        status,
        trigger: Trigger::Webhook,
        triggered_by: None,
        git_branch: branch.to_owned(),
        started_at: start,
        completed_at: at,
        error_message: match status {
            DeploymentStatus::Failed => Some(format!("{} failed", CATALOGUE[last].name)),
            DeploymentStatus::Cancelled => Some("Cancelled by user".into()),
            _ => None,
        },
        steps,
    }
}

/// Writes `per_deployment` lines for every deployment through the durable writer,
/// `concurrency` deployments at a time; returns how many were acknowledged.
async fn write_lines(
    store: &Store,
    deployments: &[ImportedDeployment],
    per_deployment: usize,
    seed: u64,
    concurrency: usize,
) -> anyhow::Result<usize> {
    let (writer, task) = LogWriter::start(store.clone(), Arc::new(NoSink), WriterConfig::default());
    let deployments = Arc::new(deployments.to_vec());
    let workers = concurrency.max(1);
    let mut handles = Vec::with_capacity(workers);
    for w in 0..workers {
        let (writer, deployments) = (writer.clone(), deployments.clone());
        let seed = seed.wrapping_add(w as u64 + 1);
        handles.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut written = 0usize;
            for d in deployments.iter().skip(w).step_by(workers) {
                let mut receipts = Vec::with_capacity(per_deployment);
                for i in 0..per_deployment {
                    receipts.push(writer.append(line(&mut rng, d, i, per_deployment)).await?);
                }
                for r in receipts {
                    r.await?;
                    written += 1;
                }
            }
            anyhow::Ok(written)
        }));
    }
    let mut written = 0;
    for h in handles {
        written += h.await??;
    }
    task.shutdown().await;
    Ok(written)
}

/// Line `i` of `n` of a deployment: timestamped inside the stage it belongs to.
fn line(rng: &mut StdRng, d: &ImportedDeployment, i: usize, n: usize) -> NewLog {
    let step = &d.steps[(i * d.steps.len() / n.max(1)).min(d.steps.len() - 1)];
    let span = (d.completed_at - d.started_at)
        .num_microseconds()
        .unwrap_or(0);
    let timestamp = d.started_at + Duration::microseconds(span * i as i64 / n.max(1) as i64);
    let mut roll = rng.gen_range(0..100);
    let level = LEVELS
        .iter()
        .find(|(_, weight)| {
            let hit = roll < *weight;
            roll = roll.saturating_sub(*weight);
            hit
        })
        .map_or(LogLevel::Info, |(l, _)| *l);
    let words: Vec<&str> = (0..8)
        .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
        .collect();
    NewLog {
        id: Uuid::now_v7(),
        deployment_id: d.id,
        timestamp,
        level,
        message: format!("[{}] {} #{i}", step.step, words.join(" ")),
        step: Some(step.step.to_owned()),
        data: if level == LogLevel::Error {
            serde_json::json!({ "exit_code": 1 })
        } else {
            serde_json::Value::Null
        },
        status: DeploymentStatus::Running,
        progress_percent: (i * 100 / n.max(1)) as u8,
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
