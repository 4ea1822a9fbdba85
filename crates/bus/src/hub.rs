//! The replica's hub: puts committed entries in sequence order, fills every gap from
//! the store, and dispatches each entry once to the subscribers that may see it.
//!
//! Entries arrive from this process's writer, from Redis (batches committed by any
//! process) and from the store itself (polling `last_seq`). Whatever the source, the hub
//! delivers seq `head + 1` next: an entry that arrives early waits in `pending`; a gap
//! that persists for `gap_grace` (a lost Redis message, Redis down, a writer in a process
//! that does not publish) is read back from the store with `entries_between`. Delivery is
//! therefore gap-free and duplicate-free, in seq order, whatever the transport did.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use paasportal_core::{Access, EventKind};
use paasportal_store::writer::Committed;
use paasportal_store::{CommittedBatch, Store, StoreError};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use uuid::Uuid;

use crate::contexts::Contexts;
use crate::frame::Frame;
use crate::registry::{Delivered, Filter, Mailbox, Registry, SubId};

/// Entries read from the store per query when filling a gap or replaying.
const CHUNK: i64 = 5_000;

/// Tuning of the hub.
#[derive(Debug, Clone, Copy)]
pub struct HubConfig {
    /// Frames a subscriber may have waiting; past this (and `slow_grace`) it is
    /// disconnected as too slow.
    pub mailbox_frames: usize,
    /// How long the hub waits for a full mailbox to make room before disconnecting its
    /// subscriber. Large batches are dispatched in pieces of half a mailbox, so a reader
    /// that keeps up survives any burst; a slow one delays the others by at most this, once.
    pub slow_grace: Duration,
    /// How often the store's `last_seq` is polled while Redis is not delivering.
    pub poll_interval: Duration,
    /// How often it is polled while Redis is live (a safety net for lost messages).
    pub redis_poll_interval: Duration,
    /// How long a gap may wait for late Redis messages before it is read from the store.
    pub gap_grace: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            mailbox_frames: 4_096,
            slow_grace: Duration::from_secs(1),
            poll_interval: Duration::from_millis(100),
            redis_poll_interval: Duration::from_secs(1),
            gap_grace: Duration::from_millis(100),
        }
    }
}

pub(crate) enum Input {
    Batch(Arc<CommittedBatch>),
    /// Redis (re)subscribed: look at the store now, something may have been missed.
    Resync,
}

/// The dispatching half of the bus; servers subscribe here.
pub struct Hub {
    store: Store,
    cfg: HubConfig,
    registry: Mutex<Registry>,
    head: AtomicI64,
    ready: watch::Sender<bool>,
    contexts: Contexts,
    pub(crate) redis_live: AtomicBool,
    /// Whether entries may arrive through Redis (a gap then waits `gap_grace` for them).
    pub(crate) uses_redis: bool,
}

/// One live subscription: frames arrive in its mailbox; dropping it unsubscribes.
pub struct Subscription {
    hub: Arc<Hub>,
    id: SubId,
    /// Frames with `seq > start`, in seq order.
    pub mailbox: Mailbox,
    /// The last seq dispatched before the subscription began: replay up to here from the store.
    pub start: i64,
    /// A `permissions_changed` for this user was dispatched after the access used for the
    /// filter was read: reload it and call [`Subscription::set_scope`].
    pub access_stale: bool,
}

impl Subscription {
    /// Replaces the subscription's scope with that of `access`.
    pub fn set_scope(&self, access: &Access) {
        self.hub
            .registry
            .lock()
            .expect("registry lock")
            .set_scope(self.id, access.view_scope());
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub
            .registry
            .lock()
            .expect("registry lock")
            .remove(self.id);
    }
}

impl Hub {
    pub(crate) fn new(store: Store, cfg: HubConfig, uses_redis: bool) -> Arc<Hub> {
        Arc::new(Hub {
            store,
            cfg,
            registry: Mutex::new(Registry::default()),
            head: AtomicI64::new(0),
            ready: watch::channel(false).0,
            contexts: Contexts::default(),
            redis_live: AtomicBool::new(false),
            uses_redis,
        })
    }

    /// The last sequence number dispatched.
    pub fn head(&self) -> i64 {
        self.head.load(Ordering::Acquire)
    }

    /// How many subscriptions are open.
    pub fn subscribers(&self) -> usize {
        self.registry.lock().expect("registry lock").len()
    }

    /// Deliveries so far (frames queued, subscribers dropped as too slow).
    pub fn delivered(&self) -> Delivered {
        self.registry.lock().expect("registry lock").delivered
    }

    /// Whether Redis is delivering batches right now.
    pub fn redis_live(&self) -> bool {
        self.redis_live.load(Ordering::Relaxed)
    }

    /// Waits until the hub knows where the store's sequence stands.
    pub async fn ready(&self) {
        let mut rx = self.ready.subscribe();
        let _ = rx.wait_for(|r| *r).await;
    }

    /// Subscribes with `filter`. `access_read_at` is [`Hub::head`] as it was just before
    /// the access behind the filter was read, so a permission change in between is noticed.
    pub async fn subscribe(self: &Arc<Self>, filter: Filter, access_read_at: i64) -> Subscription {
        self.ready().await;
        let mut reg = self.registry.lock().expect("registry lock");
        let user = filter.user_id;
        let start = self.head();
        let (id, mailbox) = reg.add(filter, self.cfg.mailbox_frames, start);
        let access_stale = reg
            .last_permissions_change(user)
            .is_some_and(|seq| seq > access_read_at);
        Subscription {
            hub: self.clone(),
            id,
            mailbox,
            start,
            access_stale,
        }
    }

    /// Frames the subscriber may see with `after < seq <= upto`, read from the store,
    /// at most one chunk: returns them and the seq the chunk reached.
    pub async fn replay(
        &self,
        filter: &Filter,
        after: i64,
        upto: i64,
    ) -> Result<(Vec<Arc<Frame>>, i64), StoreError> {
        if after >= upto {
            return Ok((Vec::new(), after));
        }
        if let Some(d) = filter.deployment {
            let limit = CHUNK;
            let lines = self.store.logs_after(d, after, limit).await?;
            let full = lines.len() as i64 == limit;
            let Some(ctx) = self.contexts.get(&self.store, d).await? else {
                return Ok((Vec::new(), upto));
            };
            let mut reached = upto;
            let mut out = Vec::with_capacity(lines.len());
            for rec in lines {
                if rec.seq > upto {
                    break;
                }
                reached = rec.seq;
                let f = Frame::log(&ctx, &rec);
                if filter.admits(&f) {
                    out.push(Arc::new(f));
                }
            }
            if !full {
                reached = upto;
            }
            return Ok((out, reached));
        }
        let end = upto.min(after.saturating_add(CHUNK));
        let entries = self.store.entries_between(after, end).await?;
        if entries.is_empty() && end < upto {
            // An empty stretch (ids never used, or deleted): jump to where entries are.
            return Ok((Vec::new(), self.store.skip_empty(end, upto, CHUNK).await?));
        }
        let mut out = Vec::new();
        for f in self.frames(&entries).await? {
            if filter.admits(&f) {
                out.push(f);
            }
        }
        Ok((out, end))
    }

    /// Renders entries as frames (dropping lines of deployments deleted since).
    async fn frames(&self, entries: &[Committed]) -> Result<Vec<Arc<Frame>>, StoreError> {
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            match e {
                Committed::Log(rec) => {
                    if let Some(ctx) = self
                        .contexts
                        .get(&self.store, rec.log.deployment_id)
                        .await?
                    {
                        out.push(Arc::new(Frame::log(&ctx, rec)));
                    }
                }
                Committed::Event(ev) => out.push(Arc::new(Frame::event(ev))),
            }
        }
        Ok(out)
    }

    /// Dispatches entries that directly follow `head`, in order. Access of users whose
    /// permissions changed is reloaded first and applied at the event's position.
    async fn deliver(&self, entries: &[Committed], upto: i64) {
        let frames = loop {
            match self.frames(entries).await {
                Ok(f) => break f,
                Err(e) => {
                    tracing::warn!(error = %e, "event bus cannot render entries; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        let mut access: HashMap<Uuid, Option<Access>> = HashMap::new();
        for f in &frames {
            if f.kind != EventKind::PermissionsChanged {
                continue;
            }
            let Some(user) = f.user_id else { continue };
            if access.contains_key(&user)
                || self
                    .registry
                    .lock()
                    .expect("registry lock")
                    .of_user(user)
                    .is_empty()
            {
                continue;
            }
            let loaded = match self.store.load_access(user).await {
                Ok(a) => Some(a),
                Err(e) => {
                    tracing::info!(user_id = %user, error = %e, "access not reloaded; closing the user's streams");
                    None
                }
            };
            access.insert(user, loaded);
        }
        let piece = (self.cfg.mailbox_frames / 2).max(1);
        for frames in frames.chunks(piece) {
            {
                let mut reg = self.registry.lock().expect("registry lock");
                for f in frames {
                    if f.kind == EventKind::PermissionsChanged
                        && let Some(user) = f.user_id
                        && let Some(a) = access.get(&user)
                    {
                        for id in reg.of_user(user) {
                            match a {
                                Some(a) => reg.set_scope(id, a.view_scope()),
                                None => reg.remove(id),
                            }
                        }
                    }
                    reg.dispatch(f);
                    self.head.store(f.seq, Ordering::Release);
                }
            }
            self.make_room().await;
        }
        if upto > self.head() {
            self.head.store(upto, Ordering::Release);
        }
    }

    /// Gives subscribers whose mailbox overflowed up to `slow_grace` to make room, then
    /// hands them the waiting frames or disconnects them.
    async fn make_room(&self) {
        let stuck = self.registry.lock().expect("registry lock").stuck();
        if stuck.is_empty() {
            return;
        }
        let until = Instant::now() + self.cfg.slow_grace;
        futures::future::join_all(stuck.iter().map(|(tx, n)| {
            tokio::time::timeout_at(until, tx.reserve_many((*n).min(tx.max_capacity())))
        }))
        .await;
        self.registry
            .lock()
            .expect("registry lock")
            .flush_overflow();
    }

    /// Reads `(head, upto]` from the store and dispatches it, a chunk at a time.
    async fn fill(&self, upto: i64) -> Result<(), StoreError> {
        while self.head() < upto {
            let after = self.head();
            let end = upto.min(after + CHUNK);
            let entries = self.store.entries_between(after, end).await?;
            tracing::debug!(
                after,
                end,
                found = entries.len(),
                "gap filled from the store"
            );
            self.deliver(&entries, end).await;
        }
        Ok(())
    }

    /// The sequencer: runs until the inbox closes.
    pub(crate) async fn run(self: Arc<Self>, mut inbox: mpsc::Receiver<Input>) {
        let start = loop {
            match self.store.last_seq().await {
                Ok(s) => break s,
                Err(e) => {
                    tracing::warn!(error = %e, "event bus waits for the database");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        };
        self.head.store(start, Ordering::Release);
        self.ready.send_replace(true);
        let mut pending: BTreeMap<i64, Committed> = BTreeMap::new();
        let mut gap_since: Option<Instant> = None;
        let mut tail: Option<(i64, Instant)> = None;
        let mut next_poll = Instant::now() + self.cfg.poll_interval;
        loop {
            let wake = match gap_since {
                Some(t) => next_poll.min(t + self.cfg.gap_grace),
                None => next_poll,
            };
            tokio::select! {
                input = inbox.recv() => match input {
                    None => break,
                    Some(input) => self.take(input, &mut pending, &mut next_poll),
                },
                _ = tokio::time::sleep_until(wake) => {}
            }
            while let Ok(input) = inbox.try_recv() {
                self.take(input, &mut pending, &mut next_poll);
            }
            self.advance(&mut pending).await;
            let now = Instant::now();
            match pending.first_key_value() {
                Some((first, _)) => {
                    let since = *gap_since.get_or_insert(now);
                    if now >= since + self.cfg.gap_grace {
                        let upto = first - 1;
                        if let Err(e) = self.fill(upto).await {
                            tracing::warn!(error = %e, "gap not filled yet");
                        }
                        self.advance(&mut pending).await;
                        gap_since = None;
                    }
                }
                None => gap_since = None,
            }
            if Instant::now() >= next_poll {
                self.poll(&mut tail, &mut pending).await;
                next_poll = Instant::now() + self.poll_interval();
            }
        }
        tracing::debug!("event bus stopped");
    }

    fn poll_interval(&self) -> Duration {
        if self.redis_live() {
            self.cfg.redis_poll_interval
        } else {
            self.cfg.poll_interval
        }
    }

    fn take(&self, input: Input, pending: &mut BTreeMap<i64, Committed>, next_poll: &mut Instant) {
        match input {
            Input::Batch(batch) => {
                let head = self.head();
                for e in &batch.entries {
                    if e.seq() > head {
                        pending.entry(e.seq()).or_insert_with(|| e.clone());
                    }
                }
            }
            Input::Resync => *next_poll = Instant::now(),
        }
    }

    /// Dispatches the run of pending entries that continues `head`.
    async fn advance(&self, pending: &mut BTreeMap<i64, Committed>) {
        let head = self.head();
        while pending.first_key_value().is_some_and(|(s, _)| *s <= head) {
            pending.pop_first();
        }
        let mut run = Vec::new();
        let mut next = head + 1;
        while pending.first_key_value().is_some_and(|(s, _)| *s == next) {
            run.push(pending.pop_first().expect("present").1);
            next += 1;
        }
        if !run.is_empty() {
            self.deliver(&run, next - 1).await;
        }
    }

    /// Looks at the store's last seq; reads what Redis has not brought in time.
    async fn poll(
        &self,
        tail: &mut Option<(i64, Instant)>,
        pending: &mut BTreeMap<i64, Committed>,
    ) {
        let last = match self.store.last_seq().await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(error = %e, "event bus cannot read the last seq");
                return;
            }
        };
        let head = self.head();
        if last <= head {
            *tail = None;
            return;
        }
        let due = if self.uses_redis && self.redis_live() {
            match *tail {
                Some((t, at)) if at.elapsed() >= self.cfg.gap_grace && head < t => Some(t),
                _ => None,
            }
        } else {
            Some(last)
        };
        if let Some(upto) = due {
            if let Err(e) = self.fill(upto).await {
                tracing::warn!(error = %e, "catch-up from the store failed");
            }
            self.advance(pending).await;
        }
        if tail.is_none_or(|(t, _)| t <= self.head()) {
            *tail = Some((last, Instant::now()));
        }
    }
}
