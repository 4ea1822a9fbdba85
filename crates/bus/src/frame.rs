//! A committed entry rendered once as its SSE frame, with what routing needs to know.

use bytes::Bytes;
use paasportal_core::event::deployment_progress;
use paasportal_core::{DeploymentContext, EventKind, LogRecord, StreamEvent};
use uuid::Uuid;

/// One event ready to send: the encoded SSE frame, shared by every subscriber.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The global sequence number, sent as the SSE `id:`.
    pub seq: i64,
    pub kind: EventKind,
    pub organization_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub deployment_id: Option<Uuid>,
    /// The user a user-targeted event (`permissions_changed`) is for.
    pub user_id: Option<Uuid>,
    /// A log line written after its deployment ended (success, failure or cancel).
    pub ends_deployment: bool,
    /// `id: …\nevent: …\ndata: …\n\n`.
    pub bytes: Bytes,
}

impl Frame {
    /// The frame of a durable non-log event.
    pub fn event(ev: &StreamEvent) -> Frame {
        Frame {
            seq: ev.seq,
            kind: ev.kind,
            organization_id: ev.organization_id,
            project_id: ev.project_id,
            deployment_id: ev.deployment_id,
            user_id: ev.user_id,
            ends_deployment: false,
            bytes: Bytes::from(ev.sse_frame()),
        }
    }

    /// The `deployment_progress` frame of a durable log line.
    pub fn log(ctx: &DeploymentContext, rec: &LogRecord) -> Frame {
        let mut f = Frame::event(&deployment_progress(ctx, rec));
        f.ends_deployment = rec.log.status.is_finished();
        f
    }
}
