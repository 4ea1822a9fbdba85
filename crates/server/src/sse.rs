//! One SSE connection: the `connected` event and `retry:` hint, the replay of what the
//! client missed (from the store, up to where its live subscription begins), then live
//! frames from its mailbox, coalesced into few writes, with `: keepalive` after silence.
//!
//! Every frame carries its seq as `id:`; a frame at or below the last id sent is never
//! sent again, so replay and live join without gap or duplicate.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, Response};
use bytes::{Bytes, BytesMut};
use paasportal_bus::{Filter, Frame, Hub, Subscription};
use paasportal_core::EventKind;
use paasportal_store::Store;
use tokio::time::Instant;
use uuid::Uuid;

/// Milliseconds a client waits before reconnecting, sent as the stream's `retry:` hint.
pub const RETRY_MS: u64 = 3_000;
/// Largest chunk written at once when frames queue up.
const MAX_CHUNK: usize = 64 * 1024;
/// A per-deployment stream closes this long after its deployment's last line.
const END_QUIET: Duration = Duration::from_secs(1);
/// How often a per-deployment stream looks whether its deployment has ended.
const STATUS_EVERY: Duration = Duration::from_secs(5);

/// The first bytes of every stream.
fn preamble() -> Bytes {
    Bytes::from(format!(
        "retry: {RETRY_MS}\nevent: connected\ndata: {{\"status\": \"connected\"}}\n\n"
    ))
}

/// The per-deployment part of a log stream: when to close.
struct Ending {
    deployment: Uuid,
    store: Store,
    /// Closing once nothing arrives for [`END_QUIET`].
    armed: bool,
    next_check: Instant,
}

/// A connection's state between chunks.
struct Conn {
    hub: Arc<Hub>,
    sub: Subscription,
    filter: Filter,
    preamble: Option<Bytes>,
    /// Replaying `(after, sub.start]` from the store while `Some(after)`.
    replay: Option<i64>,
    last_sent: i64,
    keepalive: Duration,
    last_write: Instant,
    ending: Option<Ending>,
    /// Close after the chunk just sent (the subscriber's access changed on a log stream).
    close: bool,
}

/// An SSE response streaming `sub`, after replaying from `last_event_id` when given.
/// With `deployment`, the stream ends once that deployment has ended.
pub fn response(
    hub: Arc<Hub>,
    sub: Subscription,
    filter: Filter,
    last_event_id: Option<i64>,
    keepalive: Duration,
    deployment: Option<(Uuid, Store)>,
) -> Response<Body> {
    let start = sub.start;
    let after = match (last_event_id, &deployment) {
        (Some(l), _) => Some(l),
        (None, Some(_)) => Some(0),
        (None, None) => None,
    };
    let replay = after.filter(|a| *a < start);
    let conn = Conn {
        hub,
        sub,
        filter,
        preamble: Some(preamble()),
        replay,
        last_sent: after.unwrap_or(start),
        keepalive,
        last_write: Instant::now(),
        ending: deployment.map(|(deployment, store)| Ending {
            deployment,
            store,
            armed: false,
            next_check: Instant::now(),
        }),
        close: false,
    };
    let stream = futures::stream::unfold(conn, |mut c| async move {
        let chunk = c.next_chunk().await?;
        c.last_write = Instant::now();
        Some((Ok::<Bytes, Infallible>(chunk), c))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

impl Conn {
    /// The next bytes to write, or `None` to end the stream.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if let Some(p) = self.preamble.take() {
            return Some(p);
        }
        if self.close {
            return None;
        }
        while let Some(after) = self.replay {
            let (frames, reached) = match self.hub.replay(&self.filter, after, self.sub.start).await
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "stream replay failed; the client will resume");
                    return None;
                }
            };
            let mut buf = BytesMut::new();
            for f in frames {
                self.push(&mut buf, &f);
            }
            self.replay = (reached < self.sub.start).then_some(reached);
            if self.replay.is_none() {
                self.last_sent = self.last_sent.max(self.sub.start);
            }
            if !buf.is_empty() {
                return Some(buf.freeze());
            }
        }
        loop {
            let wait = self.wait();
            match tokio::time::timeout(wait, self.sub.mailbox.recv()).await {
                Ok(Some(first)) => {
                    let mut buf = BytesMut::new();
                    self.push(&mut buf, &first);
                    while buf.len() < MAX_CHUNK {
                        match self.sub.mailbox.try_recv() {
                            Ok(f) => self.push(&mut buf, &f),
                            Err(_) => break,
                        }
                    }
                    if !buf.is_empty() {
                        return Some(buf.freeze());
                    }
                }
                // Disconnected by the hub: too slow, or access could not be reloaded.
                Ok(None) => return None,
                Err(_) => {
                    if self.ending.as_ref().is_some_and(|e| e.armed) {
                        return None;
                    }
                    self.check_ended().await;
                    if self.last_write.elapsed() >= self.keepalive {
                        return Some(Bytes::from_static(b": keepalive\n\n"));
                    }
                }
            }
        }
    }

    /// How long to wait for the next frame.
    fn wait(&self) -> Duration {
        let keepalive = self.keepalive.saturating_sub(self.last_write.elapsed());
        match &self.ending {
            Some(e) if e.armed => END_QUIET,
            Some(e) => keepalive
                .min(e.next_check.saturating_duration_since(Instant::now()))
                .max(Duration::from_millis(1)),
            None => keepalive.max(Duration::from_millis(1)),
        }
    }

    /// A log stream closes once its deployment has ended and its last lines are out.
    async fn check_ended(&mut self) {
        let Some(e) = self.ending.as_mut() else {
            return;
        };
        if Instant::now() < e.next_check {
            return;
        }
        e.next_check = Instant::now() + STATUS_EVERY;
        if let Ok(d) = e.store.get_deployment(e.deployment).await
            && d.status.is_finished()
        {
            e.armed = true;
        }
    }

    /// Appends `f` unless it was already sent.
    fn push(&mut self, buf: &mut BytesMut, f: &Frame) {
        if f.seq <= self.last_sent {
            return;
        }
        self.last_sent = f.seq;
        buf.extend_from_slice(&f.bytes);
        if let Some(e) = self.ending.as_mut() {
            if f.ends_deployment {
                e.armed = true;
            }
            if f.kind == EventKind::PermissionsChanged {
                self.close = true;
            }
        }
    }
}
