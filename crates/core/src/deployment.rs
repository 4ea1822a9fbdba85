//! Deployments: one run of the pipeline for one environment.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::stage::StepStatus;
use crate::text_enum;

text_enum! {
    /// Lifecycle of a deployment.
    pub enum DeploymentStatus: "deployment status" {
        Pending = "pending",
        Running = "running",
        Success = "success",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

impl DeploymentStatus {
    /// True once the deployment has ended, for better or worse.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            DeploymentStatus::Success | DeploymentStatus::Failed | DeploymentStatus::Cancelled
        )
    }
}

text_enum! {
    /// What started a deployment.
    pub enum Trigger: "trigger" {
        Manual = "manual",
        Api = "api",
        Webhook = "webhook",
        Schedule = "schedule",
    }
}

/// A deployment with every field of the spec's API response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: Uuid,
    pub project_id: Uuid,
    pub environment_id: Uuid,
    /// The server (VM) the deployment targets.
    pub vm_id: Option<Uuid>,
    /// Counts up per environment, from 1.
    pub version: i64,
    pub status: DeploymentStatus,
    pub trigger: Trigger,
    pub triggered_by: Option<Uuid>,
    pub git_commit: Option<String>,
    pub git_branch: Option<String>,
    pub git_message: Option<String>,
    pub committer_name: Option<String>,
    pub committer_email: Option<String>,
    pub commit_date: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<f64>,
    pub container_id: Option<String>,
    pub image_tag: Option<String>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One stage's state within one deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentStep {
    pub deployment_id: Uuid,
    pub step: String,
    pub status: StepStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<f64>,
}

/// Git facts captured from the project repository during `cloning_repo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GitInfo {
    pub git_commit: String,
    pub git_message: String,
    pub git_branch: String,
    pub committer_name: String,
    pub committer_email: String,
    pub commit_date: Option<DateTime<Utc>>,
}

/// Formats a duration the way the spec's closing lines do: "187.3s (3.1 min)".
pub fn format_total(seconds: f64) -> String {
    format!("{seconds:.1}s ({:.1} min)", seconds / 60.0)
}

/// Who cancelled a deployment, as lines and `error_message` name them: the user's display
/// name (never their e-mail: viewers of the project read these lines), or "an
/// administrator" when no user is recorded.
pub fn canceller(name: Option<&str>) -> String {
    match name {
        Some(n) if !n.trim().is_empty() => n.trim().to_owned(),
        _ => "an administrator".to_owned(),
    }
}

/// "Deployment cancelled by Ada Lovelace": the line of a run stopped by a cancel.
pub fn cancelled_message(canceller: &str) -> String {
    format!("Deployment cancelled by {canceller}")
}

/// The line of a deployment cancelled while it waited in the queue.
pub fn cancelled_before_start_message(canceller: &str) -> String {
    format!("Deployment cancelled by {canceller} before it started")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellers_are_named_by_display_name() {
        assert_eq!(
            cancelled_message(&canceller(Some("Ada Lovelace"))),
            "Deployment cancelled by Ada Lovelace"
        );
        assert_eq!(
            cancelled_before_start_message(&canceller(None)),
            "Deployment cancelled by an administrator before it started"
        );
        assert_eq!(canceller(Some("  ")), "an administrator");
    }

    #[test]
    fn total_reads_like_the_spec() {
        assert_eq!(format_total(187.3), "187.3s (3.1 min)");
    }

    #[test]
    fn statuses_round_trip() {
        for s in DeploymentStatus::ALL {
            assert_eq!(s.as_str().parse::<DeploymentStatus>().unwrap(), *s);
        }
        assert!("done".parse::<DeploymentStatus>().is_err());
        assert!(DeploymentStatus::Cancelled.is_finished());
        assert!(!DeploymentStatus::Pending.is_finished());
    }
}
