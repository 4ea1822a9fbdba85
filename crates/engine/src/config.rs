//! The engine's settings, loaded once by the binary from flags and `PAASPORTAL_*` variables.

use std::collections::HashMap;
use std::time::Duration;

use paasportal_core::Stage;

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
