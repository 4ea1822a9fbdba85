//! The engine's settings, loaded once by the binary from flags and `PAASPORTAL_*` variables.

use std::collections::HashMap;
use std::time::Duration;

use paasportal_core::Stage;
use paasportal_odoo::backup::StorageConfig;
use paasportal_odoo::docker_args::database::DbImages;
use paasportal_odoo::naming::BaseDir;

use crate::transport::SshOptions;

/// How a worker runs deployments.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Deployments one worker runs at the same time.
    pub concurrency: usize,
    /// How long a claimed deployment stays this worker's without a heartbeat.
    pub lease: Duration,
    /// How often leases are renewed and cancel requests checked.
    pub heartbeat: Duration,
    /// How often an idle worker looks for queued deployments.
    pub poll: Duration,
    /// How often expired leases of other (dead) workers are looked for.
    pub reap_every: Duration,
    /// Upper bound for any one command; a stage's own timeout bounds it further.
    pub command_timeout: Duration,
    /// Per-stage timeouts replacing the catalogue's defaults.
    pub stage_timeouts: HashMap<Stage, Duration>,
    /// SSH connection settings.
    pub ssh: SshOptions,
    /// On shutdown, how long running deployments may take to finish before they are stopped.
    pub shutdown_grace: Duration,
    /// How the Odoo stages lay an environment out on its server.
    pub deploy: DeploySettings,
    /// Repositories of one scope cloned at the same time.
    pub clone_concurrency: usize,
    /// How `verifying_dns` checks the environment's name.
    pub dns_verify: DnsVerifySettings,
    /// Where migration backups are kept; `None` when this portal restores none.
    pub backups: Option<StorageConfig>,
}

/// `verifying_dns`: the resolvers asked, how often, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsVerifySettings {
    /// e.g. `1.1.1.1:53`, `8.8.8.8:53`.
    pub resolvers: Vec<std::net::SocketAddr>,
    /// The spec's 10 s between two attempts.
    pub interval: Duration,
    /// The spec's 3 minutes.
    pub max_wait: Duration,
}

impl Default for DnsVerifySettings {
    fn default() -> Self {
        DnsVerifySettings {
            resolvers: vec![
                std::net::SocketAddr::from(([1, 1, 1, 1], 53)),
                std::net::SocketAddr::from(([8, 8, 8, 8], 53)),
            ],
            interval: Duration::from_secs(10),
            max_wait: Duration::from_secs(180),
        }
    }
}

/// Settings of the infrastructure stages.
#[derive(Debug, Clone)]
pub struct DeploySettings {
    /// Where each environment gets `{base_dir}/{env_uuid}/` on its server.
    pub base_dir: BaseDir,
    /// The PostgreSQL and PgBouncer images of the database containers.
    pub db_images: DbImages,
    /// Pause between PostgreSQL readiness polls (30 of them at most).
    pub ready_interval: Duration,
    /// How long the health check waits for Odoo to start before its first request.
    pub health_wait: Duration,
    /// Requests the health check makes (2 s apart) before it warns.
    pub health_attempts: u32,
    /// Seconds a graceful `docker stop` of the previous Odoo container may take.
    pub stop_grace_secs: u32,
}

impl Default for DeploySettings {
    fn default() -> Self {
        DeploySettings {
            base_dir: BaseDir::default(),
            db_images: DbImages {
                postgres: "postgres:15".into(),
                pgbouncer: "pgbouncer/pgbouncer:latest".into(),
            },
            ready_interval: Duration::from_secs(1),
            health_wait: Duration::from_secs(10),
            health_attempts: 3,
            stop_grace_secs: 10,
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            concurrency: 8,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(1),
            poll: Duration::from_millis(500),
            reap_every: Duration::from_secs(5),
            command_timeout: Duration::from_secs(15 * 60),
            stage_timeouts: HashMap::new(),
            ssh: SshOptions::default(),
            shutdown_grace: Duration::from_secs(30),
            deploy: DeploySettings::default(),
            clone_concurrency: 4,
            dns_verify: DnsVerifySettings::default(),
            backups: None,
        }
    }
}

impl EngineConfig {
    /// The timeout of one stage: the configured one, else the catalogue's default.
    pub fn stage_timeout(&self, stage: Stage) -> Duration {
        self.stage_timeouts
            .get(&stage)
            .copied()
            .unwrap_or(stage.info().default_timeout)
    }
}

/// Parses `stage=seconds` pairs separated by commas, e.g. `pulling_image=3600,health_check=300`.
pub fn parse_stage_timeouts(text: &str) -> Result<HashMap<Stage, Duration>, String> {
    let mut out = HashMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (stage, secs) = pair
            .split_once('=')
            .ok_or_else(|| format!("'{pair}' is not stage=seconds"))?;
        let stage: Stage = stage.trim().parse().map_err(|e| format!("{e}"))?;
        let secs: f64 = secs
            .trim()
            .parse()
            .map_err(|_| format!("'{secs}' is not a number of seconds"))?;
        if !(secs > 0.0 && secs.is_finite()) {
            return Err(format!("the timeout of {stage} must be positive"));
        }
        out.insert(stage, Duration::from_secs_f64(secs));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_timeouts_parse_and_override() {
        let t = parse_stage_timeouts("pulling_image=3600, health_check=2.5").unwrap();
        let cfg = EngineConfig {
            stage_timeouts: t,
            ..Default::default()
        };
        assert_eq!(
            cfg.stage_timeout(Stage::PullingImage),
            Duration::from_secs(3600)
        );
        assert_eq!(
            cfg.stage_timeout(Stage::HealthCheck),
            Duration::from_millis(2500)
        );
        assert_eq!(
            cfg.stage_timeout(Stage::Connecting),
            Stage::Connecting.info().default_timeout
        );
        assert!(parse_stage_timeouts("deploying=3").is_err());
        assert!(parse_stage_timeouts("health_check").is_err());
        assert!(parse_stage_timeouts("health_check=-1").is_err());
        assert!(parse_stage_timeouts("").unwrap().is_empty());
    }
}
