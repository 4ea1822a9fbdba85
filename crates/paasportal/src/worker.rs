//! `paasportal worker`: a deployment worker on its own, and the engine settings it shares
//! with the worker that `paasportal serve` runs by default.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use paasportal_bus::Publisher;
use paasportal_core::SecretBox;
use paasportal_engine::config::{DeploySettings, parse_stage_timeouts};
use paasportal_engine::transport::SshOptions;
use paasportal_engine::worker::ReadyWorker;
use paasportal_engine::{Engine, EngineConfig, Pipeline, Worker};
use paasportal_odoo::docker_args::database::DbImages;
use paasportal_odoo::docker_args::image::ImageRef;
use paasportal_odoo::naming::{BaseDir, DEFAULT_BASE_DIR};
use paasportal_store::{ConnectOptions, LogWriter, Store, WriterConfig};

use crate::config::CommonArgs;
use crate::serve::shutdown_signal;
use crate::{keys, startup};

/// Settings of the deployment engine.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Deployments this worker runs at the same time.
    #[arg(long, env = "PAASPORTAL_WORKER_CONCURRENCY", default_value_t = 8)]
    pub worker_concurrency: usize,
    /// Seconds a claimed deployment stays this worker's without a heartbeat; a dead
    /// worker's deployment is failed this long after its last heartbeat.
    #[arg(long, env = "PAASPORTAL_WORKER_LEASE_SECS", default_value_t = 30.0)]
    pub worker_lease_secs: f64,
    /// Milliseconds between heartbeats (lease renewal and cancel checks).
    #[arg(long, env = "PAASPORTAL_WORKER_HEARTBEAT_MS", default_value_t = 1000)]
    pub worker_heartbeat_ms: u64,
    /// Milliseconds between looks at the queue when idle.
    #[arg(long, env = "PAASPORTAL_WORKER_POLL_MS", default_value_t = 500)]
    pub worker_poll_ms: u64,
    /// Seconds between looks for deployments of dead workers.
    #[arg(long, env = "PAASPORTAL_WORKER_REAP_SECS", default_value_t = 5.0)]
    pub worker_reap_secs: f64,
    /// Seconds running deployments get to finish when the worker stops.
    #[arg(
        long,
        env = "PAASPORTAL_WORKER_SHUTDOWN_GRACE_SECS",
        default_value_t = 30.0
    )]
    pub worker_shutdown_grace_secs: f64,
    /// Upper bound for any one command on a server, in seconds.
    #[arg(long, env = "PAASPORTAL_COMMAND_TIMEOUT_SECS", default_value_t = 900.0)]
    pub command_timeout_secs: f64,
    /// Stage timeouts replacing the defaults, e.g. `pulling_image=3600,health_check=300`.
    #[arg(long, env = "PAASPORTAL_STAGE_TIMEOUTS", default_value = "")]
    pub stage_timeouts: String,
    /// Seconds allowed for SSH connect, handshake and authentication.
    #[arg(
        long,
        env = "PAASPORTAL_SSH_CONNECT_TIMEOUT_SECS",
        default_value_t = 15.0
    )]
    pub ssh_connect_timeout_secs: f64,
    /// Seconds of silence after which an SSH keepalive is sent.
    #[arg(long, env = "PAASPORTAL_SSH_KEEPALIVE_SECS", default_value_t = 15.0)]
    pub ssh_keepalive_secs: f64,
    /// Directory on each server under which environments get `{env_uuid}/` (odoo.conf,
    /// addons, data, logs).
    #[arg(long, env = "PAASPORTAL_DEPLOY_BASE_DIR", default_value = DEFAULT_BASE_DIR)]
    pub deploy_base_dir: String,
    /// Image of the environments' PostgreSQL containers.
    #[arg(long, env = "PAASPORTAL_POSTGRES_IMAGE", default_value = "postgres:15")]
    pub postgres_image: String,
    /// Image of the environments' PgBouncer containers (pgbouncer/pgbouncer variables).
    #[arg(
        long,
        env = "PAASPORTAL_PGBOUNCER_IMAGE",
        default_value = "pgbouncer/pgbouncer:latest"
    )]
    pub pgbouncer_image: String,
    /// Seconds the health check waits for Odoo to start before its first request.
    #[arg(
        long,
        env = "PAASPORTAL_HEALTH_CHECK_WAIT_SECS",
        default_value_t = 10.0
    )]
    pub health_check_wait_secs: f64,
    /// Health requests (2 s apart) before the health check warns.
    #[arg(long, env = "PAASPORTAL_HEALTH_CHECK_ATTEMPTS", default_value_t = 3)]
    pub health_check_attempts: u32,
    #[command(flatten)]
    pub stages: crate::deploy_args::DeployArgs,
}

fn secs(name: &str, v: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(v)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| anyhow::anyhow!("{name} must be a positive number of seconds, got {v}"))
}

impl EngineArgs {
    /// The engine's typed settings.
    pub fn config(&self) -> anyhow::Result<EngineConfig> {
        if self.worker_concurrency == 0 {
            anyhow::bail!("PAASPORTAL_WORKER_CONCURRENCY must be at least 1");
        }
        let mut config = EngineConfig {
            concurrency: self.worker_concurrency,
            lease: secs("PAASPORTAL_WORKER_LEASE_SECS", self.worker_lease_secs)?,
            heartbeat: Duration::from_millis(self.worker_heartbeat_ms.max(10)),
            poll: Duration::from_millis(self.worker_poll_ms.max(10)),
            reap_every: secs("PAASPORTAL_WORKER_REAP_SECS", self.worker_reap_secs)?,
            command_timeout: secs("PAASPORTAL_COMMAND_TIMEOUT_SECS", self.command_timeout_secs)?,
            stage_timeouts: parse_stage_timeouts(&self.stage_timeouts)
                .map_err(|e| anyhow::anyhow!("PAASPORTAL_STAGE_TIMEOUTS: {e}"))?,
            ssh: SshOptions {
                connect_timeout: secs(
                    "PAASPORTAL_SSH_CONNECT_TIMEOUT_SECS",
                    self.ssh_connect_timeout_secs,
                )?,
                keepalive_interval: secs("PAASPORTAL_SSH_KEEPALIVE_SECS", self.ssh_keepalive_secs)?,
                keepalive_max: 3,
            },
            shutdown_grace: Duration::try_from_secs_f64(self.worker_shutdown_grace_secs)
                .map_err(|_| anyhow::anyhow!("PAASPORTAL_WORKER_SHUTDOWN_GRACE_SECS is invalid"))?,
            deploy: self.deploy()?,
            ..EngineConfig::default()
        };
        self.stages.apply(&mut config)?;
        Ok(config)
    }

    fn deploy(&self) -> anyhow::Result<DeploySettings> {
        for (var, image) in [
            ("PAASPORTAL_POSTGRES_IMAGE", &self.postgres_image),
            ("PAASPORTAL_PGBOUNCER_IMAGE", &self.pgbouncer_image),
        ] {
            ImageRef::parse(image).map_err(|e| anyhow::anyhow!("{var}: {e}"))?;
        }
        Ok(DeploySettings {
            base_dir: BaseDir::new(&self.deploy_base_dir)
                .map_err(|e| anyhow::anyhow!("PAASPORTAL_DEPLOY_BASE_DIR: {e}"))?,
            db_images: DbImages {
                postgres: self.postgres_image.clone(),
                pgbouncer: self.pgbouncer_image.clone(),
            },
            health_wait: Duration::try_from_secs_f64(self.health_check_wait_secs)
                .map_err(|_| anyhow::anyhow!("PAASPORTAL_HEALTH_CHECK_WAIT_SECS is invalid"))?,
            health_attempts: self.health_check_attempts.max(1),
            ..DeploySettings::default()
        })
    }
}

/// Settings of `paasportal worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Largest database connection pool.
    #[arg(long, env = "PAASPORTAL_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
}

/// The master-key box, from configuration or the data directory.
pub fn secret_box(common: &CommonArgs) -> anyhow::Result<SecretBox> {
    let key = keys::load_or_generate(
        &common.data_dir,
        "master.key",
        common.master_key.as_deref(),
        "PAASPORTAL_MASTER_KEY",
    )?;
    SecretBox::new(&key).context("master key")
}

/// A worker on `store`, locked and recovered, ready to run.
pub async fn prepare(
    store: Store,
    writer: LogWriter,
    secrets: SecretBox,
    engine: &EngineArgs,
) -> anyhow::Result<ReadyWorker> {
    let engine = Engine::new(
        store,
        writer,
        secrets,
        engine.config()?,
        Pipeline::standard(),
    );
    Worker::new(engine)
        .prepare()
        .await
        .map_err(|e| anyhow::anyhow!("cannot start the deployment worker: {e}"))
}

/// Runs a prepared worker until `shutdown`.
pub async fn run_ready(
    worker: ReadyWorker,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    worker
        .run(shutdown)
        .await
        .map_err(|e| anyhow::anyhow!("the deployment worker stopped: {e}"))
}

/// `paasportal worker`: runs deployments until SIGINT or SIGTERM.
pub async fn run(args: WorkerArgs) -> anyhow::Result<()> {
    let common = &args.common;
    startup::ensure_data_dir(&common.data_dir)?;
    let secrets = secret_box(common)?;
    let opts = ConnectOptions {
        max_connections: args.db_max_connections,
        ..Default::default()
    };
    let store = startup::open_store(&common.database_url(), &opts).await?;
    // With Redis, committed batches are published for the servers' streams; without it
    // the servers find them by polling the store's sequence.
    let publisher = Publisher::start(common.redis_url.as_deref())?;
    let (writer, writer_task) =
        LogWriter::start(store.clone(), publisher.sink(), WriterConfig::default());
    let ready = prepare(store.clone(), writer, secrets, &args.engine).await?;
    tracing::info!(worker_id = ready.id(), backend = ?store.backend(), "paasportal worker running");
    eprintln!("paasportal worker {} running", ready.id());
    let result = run_ready(ready, shutdown_signal()).await;
    writer_task.shutdown().await;
    store.close().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        engine: EngineArgs,
    }

    #[test]
    fn engine_settings_parse_into_the_config() {
        let t = T::parse_from([
            "t",
            "--worker-concurrency",
            "3",
            "--stage-timeouts",
            "pulling_image=60",
            "--worker-lease-secs",
            "2.5",
        ]);
        let c = t.engine.config().unwrap();
        assert_eq!(c.concurrency, 3);
        assert_eq!(c.lease, Duration::from_millis(2500));
        assert_eq!(
            c.stage_timeout(paasportal_core::Stage::PullingImage),
            Duration::from_secs(60)
        );
        let bad = T::parse_from(["t", "--stage-timeouts", "nope=1"]);
        assert!(bad.engine.config().is_err());
        let zero = T::parse_from(["t", "--worker-concurrency", "0"]);
        assert!(zero.engine.config().is_err());
    }
}
