//! `paasportal bench repos`: cloning a scope's repositories in parallel against one
//! after another, and a redeploy (fetch and reset of every clone) against a fresh
//! clone, on a real server over SSH from a real git server.
//!
//! Each run queues fresh environments whose deployment runs `initializing`,
//! `connecting` and the three cloning stages; the five repositories are platform
//! repositories. Reported per mode: the median over runs of the time the cloning
//! stages took (from `deployment_steps`), and the ratios.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use paasportal_core::{AuthMethod, DeploymentStatus, RepoScope, SecretBox, Stage, Trigger};
use paasportal_engine::stages::{
    CloningOrgRepos, CloningPlatformRepos, CloningRepo, Connecting, Initializing,
};
use paasportal_engine::{Engine, EngineConfig, Pipeline, RunReport, Worker};
use paasportal_odoo::naming::BaseDir;
use paasportal_store::environments::NewEnvironment;
use paasportal_store::repositories::NewRepository;
use paasportal_store::servers::{NewServer, ServerSecrets};
use paasportal_store::versions::NewOdooVersion;
use paasportal_store::writer::NoSink;
use paasportal_store::{ConnectOptions, LogWriter, Store, WriterConfig};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::stats;
use crate::startup;

/// Flags of `bench repos`.
#[derive(Debug, Args)]
pub struct ReposBenchArgs {
    /// Runs of each mode (the report gives medians).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Base URL of the git server: repositories are `{git_url}/{name}.git`.
    #[arg(long, env = "PAASPORTAL_TEST_GIT_URL")]
    pub git_url: String,
    /// Repositories cloned, comma-separated.
    #[arg(
        long,
        default_value = "bench-1,bench-2,bench-3,bench-4,bench-5",
        value_delimiter = ','
    )]
    pub repos: Vec<String>,
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

struct Bench {
    store: Store,
    secrets: SecretBox,
    server_id: Uuid,
    project_id: Uuid,
    user_id: Option<Uuid>,
    base: BaseDir,
}

impl Bench {
    /// Seconds the three cloning stages of deployment `id` took.
    async fn clone_seconds(&self, id: Uuid) -> anyhow::Result<f64> {
        let steps = self.store.list_steps(id).await?;
        Ok(steps
            .iter()
            .filter(|s| {
                [
                    Stage::CloningPlatformRepos,
                    Stage::CloningOrgRepos,
                    Stage::CloningRepo,
                ]
                .iter()
                .any(|st| st.id() == s.step)
            })
            .filter_map(|s| s.duration_seconds)
            .sum())
    }

    /// A new environment and its first deployment.
    async fn environment(&self, n: usize) -> anyhow::Result<Uuid> {
        let env = self
            .store
            .create_environment(&NewEnvironment {
                project_id: self.project_id,
                server_id: self.server_id,
                name: format!("bench-{n}"),
                branch: "main".into(),
                subdomain: format!("bench-{n}-{}", &Uuid::new_v4().simple().to_string()[..8]),
                apps_domain: "bench.paasportal.test".into(),
                odoo_version: "18.0".into(),
                cpu_cores: 1.0,
                ram_mb: 1024,
                disk_gb: 10,
                config_overrides: serde_json::json!({}),
                read_replica: false,
                migration_id: None,
            })
            .await?;
        Ok(env.id)
    }

    /// Runs one deployment of `env` with `concurrency` clones at a time; its clone seconds.
    async fn deploy(&self, env: Uuid, concurrency: usize) -> anyhow::Result<f64> {
        let d = self
            .store
            .create_deployment(env, Trigger::Manual, self.user_id)
            .await?;
        let (writer, writer_task) = LogWriter::start(
            self.store.clone(),
            Arc::new(NoSink),
            WriterConfig::default(),
        );
        let pipeline = Pipeline::empty()
            .with(Stage::Initializing, Initializing)
            .with(Stage::Connecting, Connecting)
            .with(Stage::CloningPlatformRepos, CloningPlatformRepos)
            .with(Stage::CloningOrgRepos, CloningOrgRepos)
            .with(Stage::CloningRepo, CloningRepo);
        let config = EngineConfig {
            poll: Duration::from_millis(20),
            deploy: paasportal_engine::config::DeploySettings {
                base_dir: self.base.clone(),
                ..Default::default()
            },
            clone_concurrency: concurrency,
            ..Default::default()
        };
        let engine = Engine::new(
            self.store.clone(),
            writer,
            self.secrets.clone(),
            config,
            pipeline,
        );
        let (tx, mut rx) = mpsc::unbounded_channel::<RunReport>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(Worker::new(engine).with_reports(tx).run(async {
            let _ = stop_rx.await;
        }));
        let report = tokio::time::timeout(Duration::from_secs(600), rx.recv())
            .await
            .ok()
            .flatten()
            .context("the worker did not finish the deployment")?;
        let _ = stop_tx.send(());
        handle.await??;
        writer_task.shutdown().await;
        if report.status != Some(DeploymentStatus::Success) {
            let d = self.store.get_deployment(d.id).await?;
            anyhow::bail!("deployment {} failed: {:?}", d.id, d.error_message);
        }
        self.clone_seconds(d.id).await
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    stats::percentile(&v, 50.0)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Runs the benchmark and prints its report; the last line is JSON.
pub async fn run(args: ReposBenchArgs) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let base_dir = tempfile::Builder::new().prefix("ppbench").tempdir()?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(base_dir.path(), std::fs::Permissions::from_mode(0o777))?;
    }
    let url = format!("sqlite:{}", tmp.path().join("bench.db").display());
    let store = startup::open_store(&url, &ConnectOptions::default()).await?;
    let key = std::fs::read_to_string(&args.ssh_key)
        .with_context(|| format!("cannot read the SSH key {}", args.ssh_key.display()))?;
    let secrets = SecretBox::new(&SecretBox::generate_key())?;
    let org = store.create_organization("Bench").await?;
    let project = store.create_project(org.id, "Bench").await?;
    let server = store
        .create_server(&NewServer {
            organization_id: org.id,
            name: "bench".into(),
            ip: args.ssh_host.clone(),
            ssh_port: args.ssh_port,
            ssh_user: args.ssh_user.clone(),
            auth_method: AuthMethod::Key,
            secrets: ServerSecrets {
                ssh_private_key_enc: Some(secrets.seal(&key)),
                ..Default::default()
            },
        })
        .await?;
    store
        .create_odoo_version(&NewOdooVersion {
            version: "18.0".into(),
            image: "odoo:18.0".into(),
            registry_username: None,
            registry_password_enc: None,
        })
        .await?;
    for name in &args.repos {
        store
            .create_repository(&NewRepository {
                scope: RepoScope::Platform,
                organization_id: None,
                project_id: None,
                name: name.clone(),
                url: format!("{}/{name}.git", args.git_url.trim_end_matches('/')),
                branch: "main".into(),
                token_enc: None,
                is_primary: false,
            })
            .await?;
    }
    let bench = Bench {
        store,
        secrets,
        server_id: server.id,
        project_id: project.id,
        user_id: None,
        base: BaseDir::new(base_dir.path().to_str().context("base dir path")?)?,
    };
    let n = args.repos.len();
    let (mut parallel, mut sequential, mut redeploy) = (vec![], vec![], vec![]);
    let mut envs = 0;
    for run in 1..=args.runs {
        envs += 1;
        let env = bench.environment(envs).await?;
        let p = bench.deploy(env, n).await?;
        let r = bench.deploy(env, n).await?;
        envs += 1;
        let s = bench.deploy(bench.environment(envs).await?, 1).await?;
        eprintln!(
            "repos: run {run}: {n} repos in parallel {p:.2}s, one after another {s:.2}s, redeploy {r:.2}s"
        );
        parallel.push(p);
        sequential.push(s);
        redeploy.push(r);
    }
    let (p, s, r) = (
        median(parallel.clone()),
        median(sequential.clone()),
        median(redeploy.clone()),
    );
    let report = serde_json::json!({
        "bench": "repos",
        "repositories": n,
        "runs": args.runs,
        "parallel_seconds": parallel.iter().copied().map(round2).collect::<Vec<_>>(),
        "sequential_seconds": sequential.iter().copied().map(round2).collect::<Vec<_>>(),
        "redeploy_seconds": redeploy.iter().copied().map(round2).collect::<Vec<_>>(),
        "parallel_median": round2(p),
        "sequential_median": round2(s),
        "redeploy_median": round2(r),
        "speedup_parallel_vs_sequential": round2(s / p),
        "redeploy_share_of_fresh_parallel": round2(r / p),
    });
    eprintln!(
        "repos: medians of {} runs: parallel {:.2}s, sequential {:.2}s ({:.2}x faster), redeploy {:.2}s ({:.0}% of a fresh clone)",
        args.runs,
        p,
        s,
        s / p,
        r,
        100.0 * r / p
    );
    println!("{report}");
    bench.store.close().await;
    Ok(())
}
