//! Deployment shapes: the spec's detail, list item, logs, progress, latest and stats
//! responses, and the trends response beyond the spec.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use paasportal_core::{Deployment, DeploymentStatus, LogLevel, LogRecord, Trigger};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `GET /api/v1/deployments/{id}`: every field of the spec's example, in its order.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeploymentOut {
    pub id: Uuid,
    pub project_id: Uuid,
    pub environment_id: Uuid,
    pub vm_id: Option<Uuid>,
    pub version: i64,
    pub status: DeploymentStatus,
    pub trigger: Trigger,
    pub triggered_by: Option<Uuid>,
    pub git_commit: Option<String>,
    pub git_branch: Option<String>,
    pub git_message: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<f64>,
    pub container_id: Option<String>,
    pub image_tag: Option<String>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Deployment> for DeploymentOut {
    fn from(d: Deployment) -> Self {
        DeploymentOut {
            id: d.id,
            project_id: d.project_id,
            environment_id: d.environment_id,
            vm_id: d.vm_id,
            version: d.version,
            status: d.status,
            trigger: d.trigger,
            triggered_by: d.triggered_by,
            git_commit: d.git_commit,
            git_branch: d.git_branch,
            git_message: d.git_message,
            started_at: d.started_at,
            completed_at: d.completed_at,
            duration_seconds: d.duration_seconds,
            container_id: d.container_id,
            image_tag: d.image_tag,
            error_message: d.error_message,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// One element of `GET /api/v1/deployments`: the spec's list example's fields.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeploymentListItem {
    pub id: Uuid,
    pub project_id: Uuid,
    pub environment_id: Uuid,
    pub version: i64,
    pub status: DeploymentStatus,
    pub trigger: Trigger,
    pub triggered_by: Option<Uuid>,
    pub git_commit: Option<String>,
    pub git_branch: Option<String>,
    pub git_message: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<f64>,
    pub container_id: Option<String>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Deployment> for DeploymentListItem {
    fn from(d: Deployment) -> Self {
        DeploymentListItem {
            id: d.id,
            project_id: d.project_id,
            environment_id: d.environment_id,
            version: d.version,
            status: d.status,
            trigger: d.trigger,
            triggered_by: d.triggered_by,
            git_commit: d.git_commit,
            git_branch: d.git_branch,
            git_message: d.git_message,
            started_at: d.started_at,
            completed_at: d.completed_at,
            duration_seconds: d.duration_seconds,
            container_id: d.container_id,
            error_message: d.error_message,
            created_at: d.created_at,
        }
    }
}

/// One log line as the logs endpoint and the JSON export show it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogOut {
    pub id: Uuid,
    /// The line's place in the global sequence: its event id on the streams, and the
    /// anchor of `before_seq` / `after_seq`. Always sent; not required of documents
    /// written to the spec (its examples have no `seq`).
    #[schema(required = false)]
    pub seq: i64,
    pub level: LogLevel,
    pub message: String,
    pub timestamp: DateTime<Utc>,
    /// The stage the line belongs to, as in the spec's error log examples.
    pub step: Option<String>,
    pub data: serde_json::Value,
}

impl From<LogRecord> for LogOut {
    fn from(r: LogRecord) -> Self {
        let l = r.log;
        LogOut {
            id: l.id,
            seq: r.seq,
            level: l.level,
            message: l.message,
            timestamp: l.timestamp,
            step: l.step,
            data: l.data,
        }
    }
}

/// `GET /api/v1/deployments/{id}/logs`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogsOut {
    pub deployment_id: Uuid,
    pub logs: Vec<LogOut>,
}

/// A line inside a progress step.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StepLog {
    pub message: String,
    pub timestamp: DateTime<Utc>,
    pub level: LogLevel,
}

/// One stage in the progress view, with its timing.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StepOut {
    pub id: String,
    pub name: String,
    pub description: String,
    pub status: String,
    pub logs: Vec<StepLog>,
    pub latest_message: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<f64>,
}

/// `GET /api/v1/deployments/{id}/progress`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProgressOut {
    pub deployment_id: Uuid,
    pub status: DeploymentStatus,
    pub progress_percent: u8,
    pub steps: Vec<StepOut>,
    pub current_step: Option<String>,
    pub error_message: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<f64>,
}

/// `GET /api/v1/deployments/environment/{environment_id}/latest`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LatestOut {
    pub has_deployment: bool,
    pub environment_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<DeploymentStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Option<DateTime<Utc>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Option<DateTime<Utc>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<Option<String>>,
}

/// `GET /api/v1/deployments/project/{project_id}/stats`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatsOut {
    pub project_id: Uuid,
    pub total_deployments: i64,
    /// Counts of the statuses that occur, by status name.
    pub status_counts: BTreeMap<String, i64>,
    /// Percentage of deployments that succeeded, one decimal.
    pub success_rate: f64,
}

/// Average duration of one stage over the window.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StageTrend {
    pub id: String,
    pub name: String,
    pub avg_duration_seconds: f64,
    pub runs: i64,
}

/// `GET /api/v1/deployments/project/{project_id}/trends?days=N`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrendsOut {
    pub project_id: Uuid,
    pub days: i64,
    pub total: i64,
    pub successful: i64,
    pub failed: i64,
    pub cancelled: i64,
    pub avg_duration: Option<f64>,
    pub fastest: Option<f64>,
    pub slowest: Option<f64>,
    pub p95_duration: Option<f64>,
    /// Stages in pipeline order, only those that ran.
    pub stages: Vec<StageTrend>,
}

/// `{"message": …}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageOut {
    pub message: String,
}

/// `POST /api/v1/deployments` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDeployment {
    pub environment_id: Uuid,
}

/// Query of the logs endpoint.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    #[param(value_type = Option<paasportal_core::LogLevel>)]
    pub level: Option<String>,
    #[param(minimum = 0)]
    pub skip: Option<i64>,
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<i64>,
    /// Case-insensitive text search across messages.
    pub q: Option<String>,
    /// Only the lines of this stage (an id of the stage catalogue, e.g. `pulling_image`).
    pub step: Option<String>,
    /// The last `limit` lines instead of the first ones.
    pub tail: Option<bool>,
    /// The `limit` lines just before the line with this `seq`.
    pub before_seq: Option<i64>,
    /// The `limit` lines just after the line with this `seq`.
    pub after_seq: Option<i64>,
}

/// Query of the deployment list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub project_id: Option<Uuid>,
    pub environment_id: Option<Uuid>,
    #[param(value_type = Option<paasportal_core::DeploymentStatus>)]
    pub status: Option<String>,
    #[param(minimum = 0)]
    pub skip: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Query of the trends endpoint.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendsQuery {
    #[param(minimum = 1, maximum = 365)]
    pub days: Option<i64>,
}

/// Query of the export endpoint.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `json` (default), `txt` or `ndjson`.
    pub format: Option<String>,
}
