//! Events on the live stream. New event types are added to [`EventKind`] and nowhere else.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::log::LogRecord;
use crate::text_enum;

text_enum! {
    /// The `event:` name of a stream event.
    pub enum EventKind: "event type" {
        /// One deployment log line, with the deployment's progress.
        DeploymentProgress = "deployment_progress",
        /// An environment changed status.
        EnvironmentStatus = "environment_status",
        /// A migration restore advanced.
        MigrationProgress = "migration_progress",
        /// A user's memberships changed; their streams re-check what they may see.
        PermissionsChanged = "permissions_changed",
    }
}

/// A durable event with its global sequence number, routed by organization and project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamEvent {
    /// Global, dense, commit-ordered; sent as the SSE `id:`.
    pub seq: i64,
    pub kind: EventKind,
    pub organization_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub deployment_id: Option<Uuid>,
    /// The user concerned, for user-targeted events such as `permissions_changed`.
    pub user_id: Option<Uuid>,
    /// The payload sent as `data.data` on the wire.
    pub data: serde_json::Value,
}

/// What the stream says about a deployment besides the log line itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentContext {
    pub deployment_id: Uuid,
    pub environment_id: Uuid,
    pub project_id: Uuid,
    pub organization_id: Uuid,
    pub project_name: String,
    pub environment_name: String,
    pub triggered_by: Option<Uuid>,
    pub branch: String,
}

/// An event that is not a log line, as a producer appends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub kind: EventKind,
    pub organization_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub deployment_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Timestamps on the wire: RFC 3339, UTC, microseconds, `Z`.
pub fn wire_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Renders a durable log line as the spec's `deployment_progress` event.
pub fn deployment_progress(ctx: &DeploymentContext, rec: &LogRecord) -> StreamEvent {
    let log = &rec.log;
    let mut data = serde_json::json!({
        "deployment_id": ctx.deployment_id,
        "environment_id": ctx.environment_id,
        "project_id": ctx.project_id,
        "project_name": ctx.project_name,
        "environment_name": ctx.environment_name,
        "status": log.status,
        "step": log.step,
        "message": log.message,
        "level": log.level,
        "timestamp": wire_time(&log.timestamp),
        "progress_percent": log.progress_percent,
        "triggered_by": ctx.triggered_by,
        "branch": ctx.branch,
    });
    if !log.data.is_null() {
        data["data"] = log.data.clone();
    }
    StreamEvent {
        seq: rec.seq,
        kind: EventKind::DeploymentProgress,
        organization_id: Some(ctx.organization_id),
        project_id: Some(ctx.project_id),
        deployment_id: Some(ctx.deployment_id),
        user_id: None,
        data,
    }
}

impl StreamEvent {
    /// The JSON sent as the SSE `data:` line: `{"type": ..., "data": ...}`.
    pub fn wire_data(&self) -> String {
        serde_json::json!({ "type": self.kind, "data": self.data }).to_string()
    }

    /// The complete SSE frame, ready to write: `id`, `event`, `data`, blank line.
    pub fn sse_frame(&self) -> String {
        format!(
            "id: {}\nevent: {}\ndata: {}\n\n",
            self.seq,
            self.kind,
            self.wire_data()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployment::DeploymentStatus;
    use crate::log::{LogLevel, NewLog};

    #[test]
    fn deployment_progress_has_the_specs_fields() {
        let ctx = DeploymentContext {
            deployment_id: Uuid::new_v4(),
            environment_id: Uuid::new_v4(),
            project_id: Uuid::new_v4(),
            organization_id: Uuid::new_v4(),
            project_name: "MyProject".into(),
            environment_name: "production".into(),
            triggered_by: Some(Uuid::new_v4()),
            branch: "main".into(),
        };
        let mut log = NewLog::now(ctx.deployment_id, LogLevel::Info, "Image ready (12.4s)");
        log.step = Some("pulling_image".into());
        log.status = DeploymentStatus::Running;
        log.progress_percent = 56;
        let ev = deployment_progress(&ctx, &LogRecord { seq: 42, log });
        let frame = ev.sse_frame();
        assert!(frame.starts_with("id: 42\nevent: deployment_progress\ndata: {"));
        assert!(frame.ends_with("}\n\n"));
        let wire: serde_json::Value = serde_json::from_str(&ev.wire_data()).unwrap();
        assert_eq!(wire["type"], "deployment_progress");
        let d = &wire["data"];
        for key in [
            "deployment_id",
            "environment_id",
            "project_id",
            "project_name",
            "environment_name",
            "status",
            "step",
            "message",
            "level",
            "timestamp",
            "progress_percent",
            "triggered_by",
            "branch",
        ] {
            assert!(d.get(key).is_some(), "missing {key}");
        }
        assert_eq!(d["status"], "running");
        assert_eq!(d["level"], "info");
        assert_eq!(d["progress_percent"], 56);
        assert!(d["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(d.get("data").is_none());
    }
}
