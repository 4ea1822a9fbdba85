//! Membership changes take effect on the next request (access is loaded per request);
//! each one is also written as a `permissions_changed` event so that the affected user's
//! open streams re-check what they may see. So are the other changes of what a user may
//! see: the portal-admin flag, the user's deletion, and the deletion of an organization
//! or project they had access to (the streams of a user who no longer exists end).

use chrono::Utc;
use paasportal_core::{EventKind, NewEvent};
use serde_json::json;
use uuid::Uuid;

use crate::error::ApiResult;
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
    state.writer.write_event(event).await?;
    Ok(())
}

/// Why a user's access changed other than through one membership.
#[derive(Debug, Clone, Copy)]
pub enum Reason {
    /// The portal-admin flag was set or cleared.
    PortalAdmin,
    /// The user was deleted.
    UserDeleted,
    /// An organization they had access to was deleted.
    OrganizationDeleted(Uuid),
    /// A project they had access to was deleted.
    ProjectDeleted {
        organization_id: Uuid,
        project_id: Uuid,
    },
}

/// Writes a durable `permissions_changed` event for each of `users`.
pub async fn notify_access_changed(
    state: &AppState,
    users: &[Uuid],
    reason: Reason,
) -> ApiResult<()> {
    let (change, organization_id, project_id) = match reason {
        Reason::PortalAdmin => ("portal_admin", None, None),
        Reason::UserDeleted => ("user_deleted", None, None),
        Reason::OrganizationDeleted(o) => ("organization_deleted", Some(o), None),
        Reason::ProjectDeleted {
            organization_id,
            project_id,
        } => ("project_deleted", Some(organization_id), Some(project_id)),
    };
    let mut receipts = Vec::with_capacity(users.len());
    for user_id in users {
        let event = NewEvent {
            kind: EventKind::PermissionsChanged,
            organization_id,
            project_id,
            deployment_id: None,
            user_id: Some(*user_id),
            data: json!({
                "user_id": user_id,
                "organization_id": organization_id,
                "project_id": project_id,
                "change": change,
            }),
            created_at: Utc::now(),
        };
        receipts.push(state.writer.append_event(event).await?);
    }
    for r in receipts {
        r.await?;
    }
    Ok(())
}
