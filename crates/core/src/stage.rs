//! The deployment pipeline's stage catalogue: sixteen stages plus `completed`,
//! with the spec's ids, names, descriptions, fatality and default timeouts.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One stage of the deployment pipeline, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Initializing,
    Connecting,
    CreatingNetwork,
    ConfiguringDns,
    CreatingDatabase,
    CloningPlatformRepos,
    CloningOrgRepos,
    CloningRepo,
    PullingImage,
    GeneratingConfig,
    StartingContainer,
    InstallingDependencies,
    InitializingDatabase,
    VerifyingDns,
    ConfiguringTraefik,
    HealthCheck,
    Completed,
}

/// Static facts about a stage.
#[derive(Debug, Clone, Copy)]
pub struct StageInfo {
    pub stage: Stage,
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// A fatal stage's failure fails the deployment; a non-fatal one only logs a warning.
    pub fatal: bool,
    /// Upper bound for the whole stage, sized from the spec's timing table with a wide margin.
    pub default_timeout: Duration,
}

const fn info(
    stage: Stage,
    id: &'static str,
    name: &'static str,
    description: &'static str,
    fatal: bool,
    timeout_secs: u64,
) -> StageInfo {
    StageInfo {
        stage,
        id,
        name,
        description,
        fatal,
        default_timeout: Duration::from_secs(timeout_secs),
    }
}

/// Every stage in pipeline order, `completed` last.
pub const CATALOGUE: [StageInfo; 17] = [
    info(
        Stage::Initializing,
        "initializing",
        "Initializing",
        "Preparing deployment configuration",
        true,
        60,
    ),
    info(
        Stage::Connecting,
        "connecting",
        "Connecting",
        "Establishing SSH connection to the server",
        true,
        60,
    ),
    info(
        Stage::CreatingNetwork,
        "creating_network",
        "Creating Network",
        "Setting up the isolated Docker network",
        true,
        60,
    ),
    info(
        Stage::ConfiguringDns,
        "configuring_dns",
        "Configuring DNS",
        "Creating the DNS record early for propagation",
        false,
        60,
    ),
    info(
        Stage::CreatingDatabase,
        "creating_database",
        "Creating Database",
        "Deploying the PostgreSQL container",
        true,
        300,
    ),
    info(
        Stage::CloningPlatformRepos,
        "cloning_platform_repos",
        "Cloning Platform Repos",
        "Cloning platform addon repositories",
        false,
        600,
    ),
    info(
        Stage::CloningOrgRepos,
        "cloning_org_repos",
        "Cloning Organization Repos",
        "Cloning organization addon repositories",
        false,
        600,
    ),
    info(
        Stage::CloningRepo,
        "cloning_repo",
        "Cloning Project Repository",
        "Cloning the project repository",
        true,
        600,
    ),
    info(
        Stage::PullingImage,
        "pulling_image",
        "Pulling Image",
        "Downloading Odoo Docker image",
        true,
        1800,
    ),
    info(
        Stage::GeneratingConfig,
        "generating_config",
        "Generating Config",
        "Creating the odoo.conf configuration",
        true,
        60,
    ),
    info(
        Stage::StartingContainer,
        "starting_container",
        "Starting Container",
        "Launching Odoo container",
        true,
        300,
    ),
    info(
        Stage::InstallingDependencies,
        "installing_dependencies",
        "Installing Dependencies",
        "Installing apt.txt and requirements.txt packages",
        false,
        1800,
    ),
    info(
        Stage::InitializingDatabase,
        "initializing_database",
        "Initializing Database",
        "Initializing or restoring the Odoo database",
        true,
        1800,
    ),
    info(
        Stage::VerifyingDns,
        "verifying_dns",
        "Verifying DNS",
        "Verifying DNS propagation before SSL",
        false,
        240,
    ),
    info(
        Stage::ConfiguringTraefik,
        "configuring_traefik",
        "Configuring Traefik",
        "Configuring HTTP routing and SSL",
        true,
        60,
    ),
    info(
        Stage::HealthCheck,
        "health_check",
        "Health Check",
        "Verifying the environment responds",
        false,
        120,
    ),
    info(
        Stage::Completed,
        "completed",
        "Completed",
        "Finalizing the deployment",
        true,
        60,
    ),
];

/// Number of working stages (everything before `completed`).
pub const WORKING_STAGES: usize = 16;

impl Stage {
    /// All stages in pipeline order, `completed` last.
    pub fn all() -> impl Iterator<Item = Stage> {
        CATALOGUE.iter().map(|i| i.stage)
    }

    /// The sixteen working stages, without `completed`.
    pub fn working() -> impl Iterator<Item = Stage> {
        CATALOGUE[..WORKING_STAGES].iter().map(|i| i.stage)
    }

    /// Position in the pipeline, 0 for `initializing`, 16 for `completed`.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Static facts about this stage.
    pub fn info(self) -> &'static StageInfo {
        &CATALOGUE[self.index()]
    }

    /// The spec's id, e.g. `pulling_image`.
    pub fn id(self) -> &'static str {
        self.info().id
    }

    /// Human name, e.g. "Pulling Image".
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Whether a failure of this stage fails the deployment.
    pub fn is_fatal(self) -> bool {
        self.info().fatal
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Error for a string that names no stage.
#[derive(Debug, thiserror::Error)]
#[error("unknown stage '{0}'")]
pub struct UnknownStage(pub String);

impl FromStr for Stage {
    type Err = UnknownStage;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CATALOGUE
            .iter()
            .find(|i| i.id == s)
            .map(|i| i.stage)
            .ok_or_else(|| UnknownStage(s.to_owned()))
    }
}

/// Where a stage stands within one deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Running,
    Completed,
    /// A non-fatal stage that failed; the deployment went on.
    Warning,
    Failed,
    Skipped,
}

impl StepStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Running => "running",
            StepStatus::Completed => "completed",
            StepStatus::Warning => "warning",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
        }
    }

    /// True once the stage will not change again.
    pub fn is_finished(self) -> bool {
        !matches!(self, StepStatus::Pending | StepStatus::Running)
    }
}

impl FromStr for StepStatus {
    type Err = UnknownStage;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending" => StepStatus::Pending,
            "running" => StepStatus::Running,
            "completed" => StepStatus::Completed,
            "warning" => StepStatus::Warning,
            "failed" => StepStatus::Failed,
            "skipped" => StepStatus::Skipped,
            other => return Err(UnknownStage(other.to_owned())),
        })
    }
}

/// Progress of a deployment in whole percent, from how many of the sixteen working
/// stages have finished (completed, warned or skipped). `completed` itself is 100.
pub fn progress_percent(finished_working_stages: usize) -> u8 {
    let done = finished_working_stages.min(WORKING_STAGES);
    ((done * 100) / WORKING_STAGES) as u8
}

/// Progress of a deployment from its stages' statuses (in any order): the working stages
/// that finished (completed, warned or skipped) up to the furthest stage the run reached
/// (running, completed, warned or failed). Stages after that point were never reached,
/// even when a failed or cancelled run closed them as `skipped`, so they do not count:
/// a run that failed at its second stage is at 6 %, not 93 %.
pub fn progress_of_steps(steps: impl IntoIterator<Item = (Stage, StepStatus)>) -> u8 {
    let steps: Vec<(Stage, StepStatus)> = steps.into_iter().collect();
    if steps
        .iter()
        .any(|&(s, st)| s == Stage::Completed && st == StepStatus::Completed)
    {
        return 100;
    }
    let reached = |st: StepStatus| {
        matches!(
            st,
            StepStatus::Running | StepStatus::Completed | StepStatus::Warning | StepStatus::Failed
        )
    };
    let Some(furthest) = steps
        .iter()
        .filter(|&&(_, st)| reached(st))
        .map(|&(s, _)| s.index())
        .max()
    else {
        return 0;
    };
    let finished = steps
        .iter()
        .filter(|&&(s, st)| {
            s.index() <= furthest
                && s.index() < WORKING_STAGES
                && matches!(
                    st,
                    StepStatus::Completed | StepStatus::Warning | StepStatus::Skipped
                )
        })
        .count();
    progress_percent(finished)
}

/// Progress while a line of `stage` is being logged: every stage before it has finished.
pub fn progress_at(stage: Stage) -> u8 {
    if stage == Stage::Completed {
        100
    } else {
        progress_percent(stage.index())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_in_pipeline_order_with_spec_ids() {
        let ids: Vec<_> = Stage::all().map(Stage::id).collect();
        assert_eq!(
            ids,
            [
                "initializing",
                "connecting",
                "creating_network",
                "configuring_dns",
                "creating_database",
                "cloning_platform_repos",
                "cloning_org_repos",
                "cloning_repo",
                "pulling_image",
                "generating_config",
                "starting_container",
                "installing_dependencies",
                "initializing_database",
                "verifying_dns",
                "configuring_traefik",
                "health_check",
                "completed",
            ]
        );
        for (i, info) in CATALOGUE.iter().enumerate() {
            assert_eq!(info.stage.index(), i, "{} out of place", info.id);
            assert_eq!(info.id.parse::<Stage>().unwrap(), info.stage);
        }
        assert_eq!(Stage::working().count(), 16);
    }

    #[test]
    fn non_fatal_stages_are_the_specs() {
        let non_fatal: Vec<_> = Stage::all()
            .filter(|s| !s.is_fatal())
            .map(Stage::id)
            .collect();
        assert_eq!(
            non_fatal,
            [
                "configuring_dns",
                "cloning_platform_repos",
                "cloning_org_repos",
                "installing_dependencies",
                "verifying_dns",
                "health_check",
            ]
        );
    }

    #[test]
    fn progress_goes_from_zero_to_hundred_monotonically() {
        assert_eq!(progress_percent(0), 0);
        assert_eq!(progress_percent(8), 50);
        assert_eq!(progress_percent(16), 100);
        assert_eq!(progress_percent(99), 100);
        assert_eq!(progress_at(Stage::Initializing), 0);
        assert_eq!(progress_at(Stage::HealthCheck), 93);
        assert_eq!(progress_at(Stage::Completed), 100);
        let all: Vec<_> = Stage::all().map(progress_at).collect();
        assert!(all.windows(2).all(|w| w[0] < w[1]), "{all:?}");
    }

    fn closed_as_the_runner_closes_them(failed_at: Stage) -> Vec<(Stage, StepStatus)> {
        Stage::all()
            .map(|s| {
                let st = match s.index().cmp(&failed_at.index()) {
                    std::cmp::Ordering::Less => StepStatus::Completed,
                    std::cmp::Ordering::Equal => StepStatus::Failed,
                    std::cmp::Ordering::Greater => StepStatus::Skipped,
                };
                (s, st)
            })
            .collect()
    }

    #[test]
    fn a_failed_run_counts_only_the_stages_it_reached() {
        // Failed at stage 2 of 17: only `initializing` finished.
        assert_eq!(
            progress_of_steps(closed_as_the_runner_closes_them(Stage::Connecting)),
            6
        );
        assert_eq!(
            progress_of_steps(closed_as_the_runner_closes_them(Stage::Initializing)),
            0
        );
        // Every failure point reports what `progress_at` reported when the stage began.
        for stage in Stage::working() {
            assert_eq!(
                progress_of_steps(closed_as_the_runner_closes_them(stage)),
                progress_at(stage),
                "{stage}"
            );
        }
        // Stages skipped before the furthest reached one (absent from the pipeline) count.
        let mut steps = closed_as_the_runner_closes_them(Stage::PullingImage);
        steps[3].1 = StepStatus::Skipped;
        steps[5].1 = StepStatus::Warning;
        assert_eq!(progress_of_steps(steps), progress_at(Stage::PullingImage));
        // Cancelled between stages: nothing running, the rest closed as skipped.
        let mut between = closed_as_the_runner_closes_them(Stage::CreatingNetwork);
        between[2].1 = StepStatus::Skipped;
        assert_eq!(progress_of_steps(between), progress_percent(2));
        // Never started, and finished.
        assert_eq!(
            progress_of_steps(Stage::all().map(|s| (s, StepStatus::Pending))),
            0
        );
        assert_eq!(
            progress_of_steps(Stage::all().map(|s| (s, StepStatus::Completed))),
            100
        );
    }

    #[test]
    fn unknown_stage_is_rejected() {
        assert!("deploying".parse::<Stage>().is_err());
        assert!("".parse::<Stage>().is_err());
    }
}
