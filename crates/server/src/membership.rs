//! Membership changes take effect on the next request (access is loaded per request);
//! each one is also written as a `permissions_changed` event so that the affected user's
//! open streams re-check what they may see.

use chrono::Utc;
use paasportal_core::{EventKind, NewEvent};
use serde_json::json;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// What happened to a membership.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    Added,
    Changed,
    Removed,
}

impl Change {
    fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Changed => "changed",
            Change::Removed => "removed",
        }
    }
}

/// Where the membership is: an organization, or a project of an organization.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub organization_id: Uuid,
    pub project_id: Option<Uuid>,
}

/// Writes the durable `permissions_changed` event for `user_id`.
pub async fn notify(
    state: &AppState,
    user_id: Uuid,
    scope: Scope,
    change: Change,
    role: Option<&str>,
) -> ApiResult<()> {
    let event = NewEvent {
        kind: EventKind::PermissionsChanged,
        organization_id: Some(scope.organization_id),
        project_id: scope.project_id,
        deployment_id: None,
        user_id: Some(user_id),
        data: json!({
            "user_id": user_id,
            "organization_id": scope.organization_id,
            "project_id": scope.project_id,
            "change": change.as_str(),
            "role": role,
        }),
        created_at: Utc::now(),
    };
    state
        .writer
        .write_event(event)
        .await
        .map_err(|e| ApiError::Unavailable(format!("writing permissions_changed: {e}")))?;
    Ok(())
}
