//! Environment status changes as they go out on the event stream.

use chrono::Utc;
use paasportal_core::{DeploymentContext, EnvironmentStatus, EventKind, NewEvent};
use paasportal_store::LogWriter;
use serde_json::json;

/// Appends an `environment_status` event (`{"environment_id", "status", "deployment_id"}`).
pub async fn environment_status(
    writer: &LogWriter,
    ctx: &DeploymentContext,
    status: EnvironmentStatus,
) {
    let event = NewEvent {
        kind: EventKind::EnvironmentStatus,
        organization_id: Some(ctx.organization_id),
        project_id: Some(ctx.project_id),
        deployment_id: Some(ctx.deployment_id),
        user_id: None,
        data: json!({
            "environment_id": ctx.environment_id,
            "status": status,
            "deployment_id": ctx.deployment_id,
        }),
        created_at: Utc::now(),
    };
    if let Err(e) = writer.append_event(event).await {
        tracing::error!(environment_id = %ctx.environment_id, error = %e, "environment_status event not written");
    }
}
