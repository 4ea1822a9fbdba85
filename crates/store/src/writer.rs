//! The durable batched log writer.
//!
//! Producers [`LogWriter::append`] log lines and events into a bounded queue (a full
//! queue makes them wait: backpressure, never unbounded memory). One task drains the
//! queue into transactions, numbers each entry with the global sequence inside the same
//! transaction, commits, and only then acknowledges each producer with its sequence
//! number and hands the committed batch to a [`CommitSink`] (the event bus).
//!
//! A batch the database refuses because of one of its entries (a NUL byte PostgreSQL
//! cannot store, a line of a deleted deployment) is split in halves and each half written
//! on its own, down to the single entry, which alone fails: one bad entry never takes
//! its batch with it. A batch that fails for a passing reason (the database unreachable,
//! busy or out of space) is tried again a few times, then failed back to every producer;
//! the next batch tries again, so the writer recovers by itself when the database returns.
//! Nothing is acknowledged before its transaction's `COMMIT` succeeded.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use paasportal_core::{LogRecord, NewEvent, NewLog, StreamEvent};
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder, Sqlite};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

use crate::Store;
use crate::copy_binary::CopyBuf;
use crate::db::Db;
use crate::rows::null_or_json;

/// Why an entry was not made durable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("the log writer has stopped")]
    Closed,
    /// The database could not store the batch (unreachable, busy); it may succeed later.
    #[error("the database refused the log batch: {0}")]
    Database(String),
    /// The database is out of disk space.
    #[error("the database is out of disk space: {0}")]
    Full(String),
    /// The database refused this entry itself (its content or its deployment): writing
    /// it again will fail again.
    #[error("the database refused the entry: {0}")]
    Refused(String),
}

/// Sizing of the writer.
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// Entries that may wait in the queue before producers are made to wait.
    pub queue_capacity: usize,
    /// Most entries per transaction.
    pub max_batch: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            queue_capacity: 32_768,
            max_batch: 8_192,
        }
    }
}

/// One committed entry, in sequence order.
#[derive(Debug, Clone, PartialEq)]
pub enum Committed {
    Log(LogRecord),
    Event(StreamEvent),
}

impl Committed {
    /// The entry's global sequence number.
    pub fn seq(&self) -> i64 {
        match self {
            Committed::Log(l) => l.seq,
            Committed::Event(e) => e.seq,
        }
    }
}

/// Everything one transaction made durable, in sequence order.
#[derive(Debug, Clone, PartialEq)]
pub struct CommittedBatch {
    pub entries: Vec<Committed>,
}

/// Receives every committed batch, in commit order. Must not block.
pub trait CommitSink: Send + Sync + 'static {
    fn committed(&self, batch: Arc<CommittedBatch>);
}

/// A sink that drops batches: for tools that only write.
pub struct NoSink;

impl CommitSink for NoSink {
    fn committed(&self, _: Arc<CommittedBatch>) {}
}

enum Entry {
    Log(NewLog),
    Event(NewEvent),
}

struct Item {
    entry: Entry,
    ack: oneshot::Sender<Result<i64, WriteError>>,
}

/// Counters of what the writer has done.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub batches: AtomicU64,
    pub entries: AtomicU64,
    pub failed_batches: AtomicU64,
}

/// A handle for producers; cheap to clone.
#[derive(Clone)]
pub struct LogWriter {
    tx: mpsc::Sender<Item>,
    stats: Arc<WriterStats>,
}

/// The writer's thread: stop it with [`WriterTask::shutdown`] to flush what is queued.
pub struct WriterTask {
    stop: oneshot::Sender<()>,
    done: oneshot::Receiver<()>,
}

/// Resolves to the entry's sequence number once it is durable.
pub struct Receipt(oneshot::Receiver<Result<i64, WriteError>>);

impl Future for Receipt {
    type Output = Result<i64, WriteError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(WriteError::Closed)))
    }
}

impl LogWriter {
    /// Starts the writer on `store`, handing committed batches to `sink`.
    ///
    /// The writer runs on a thread of its own with its own small connection pool, so a
    /// busy request-serving runtime never delays a commit (and thus every producer).
    pub fn start(
        store: Store,
        sink: Arc<dyn CommitSink>,
        cfg: WriterConfig,
    ) -> (LogWriter, WriterTask) {
        let (tx, rx) = mpsc::channel(cfg.queue_capacity.max(1));
        let (stop_tx, stop_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        let stats = Arc::new(WriterStats::default());
        let thread_stats = stats.clone();
        std::thread::Builder::new()
            .name("paasportal-log-writer".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("the log writer's runtime starts");
                runtime.block_on(async move {
                    match Db::connect_lazy(
                        store.url(),
                        2,
                        Duration::from_secs(2),
                        store.busy_timeout(),
                    ) {
                        Ok(db) => run(db, sink, cfg, rx, stop_rx, thread_stats).await,
                        Err(e) => tracing::error!(error = %e, "log writer cannot open its pool"),
                    }
                });
                let _ = done_tx.send(());
            })
            .expect("the log writer's thread starts");
        (
            LogWriter { tx, stats },
            WriterTask {
                stop: stop_tx,
                done: done_rx,
            },
        )
    }

    /// Queues a log line, waiting while the queue is full. The receipt resolves once durable.
    pub async fn append(&self, log: NewLog) -> Result<Receipt, WriteError> {
        self.push(Entry::Log(log)).await
    }

    /// Queues a non-log event, waiting while the queue is full.
    pub async fn append_event(&self, event: NewEvent) -> Result<Receipt, WriteError> {
        self.push(Entry::Event(event)).await
    }

    /// Appends a log line and waits until it is durable; returns its sequence number.
    pub async fn write(&self, log: NewLog) -> Result<i64, WriteError> {
        self.append(log).await?.await
    }

    /// Appends an event and waits until it is durable; returns its sequence number.
    pub async fn write_event(&self, event: NewEvent) -> Result<i64, WriteError> {
        self.append_event(event).await?.await
    }

    /// What the writer has done so far.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    async fn push(&self, entry: Entry) -> Result<Receipt, WriteError> {
        let (ack, rx) = oneshot::channel();
        self.tx
            .send(Item { entry, ack })
            .await
            .map_err(|_| WriteError::Closed)?;
        Ok(Receipt(rx))
    }
}

impl WriterTask {
    /// Stops accepting entries, writes everything already queued, and waits for the task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.done.await;
    }
}

async fn run(
    db: Db,
    sink: Arc<dyn CommitSink>,
    cfg: WriterConfig,
    mut rx: mpsc::Receiver<Item>,
    mut stop: oneshot::Receiver<()>,
    stats: Arc<WriterStats>,
) {
    let mut batch: Vec<Item> = Vec::with_capacity(cfg.max_batch);
    loop {
        let first = tokio::select! {
            biased;
            item = rx.recv() => item,
            _ = &mut stop => { rx.close(); rx.recv().await }
        };
        let Some(first) = first else { break };
        batch.push(first);
        while batch.len() < cfg.max_batch {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        write_and_ack(&db, sink.as_ref(), &mut batch, &stats).await;
    }
    db.close().await;
    tracing::debug!("log writer stopped");
}

/// Passing failures a batch is tried again for, before it fails.
const RETRIES: u32 = 3;

/// Writes `batch` (leaving it empty) and tells every producer how it went.
async fn write_and_ack(db: &Db, sink: &dyn CommitSink, batch: &mut Vec<Item>, stats: &WriterStats) {
    let mut attempt = 0;
    loop {
        let e = match insert_batch(db, batch).await {
            Ok(first_seq) => {
                ack_committed(sink, batch, first_seq, stats);
                return;
            }
            Err(e) => e,
        };
        stats.failed_batches.fetch_add(1, Ordering::Relaxed);
        match failure(&e) {
            Failure::Entry if batch.len() > 1 => {
                // Isolate the entry the database refuses: each half on its own.
                tracing::debug!(error = %e, entries = batch.len(), "log batch refused; splitting it");
                let mut second = batch.split_off(batch.len() / 2);
                Box::pin(write_and_ack(db, sink, batch, stats)).await;
                Box::pin(write_and_ack(db, sink, &mut second, stats)).await;
                return;
            }
            Failure::Entry => {
                tracing::warn!(error = %e, "log entry refused by the database");
                fail(batch, WriteError::Refused(e.to_string()));
                return;
            }
            Failure::Passing if attempt < RETRIES => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            Failure::Passing => {
                tracing::warn!(error = %e, entries = batch.len(), "log batch not written");
                fail(batch, WriteError::Database(e.to_string()));
                return;
            }
            Failure::Full => {
                tracing::error!(error = %e, entries = batch.len(), "log batch not written: the database is out of disk space");
                fail(batch, WriteError::Full(e.to_string()));
                return;
            }
        }
    }
}

fn fail(batch: &mut Vec<Item>, err: WriteError) {
    for item in batch.drain(..) {
        let _ = item.ack.send(Err(err.clone()));
    }
}

/// Acknowledges a committed batch in sequence order and hands it to the sink.
fn ack_committed(
    sink: &dyn CommitSink,
    batch: &mut Vec<Item>,
    first_seq: i64,
    stats: &WriterStats,
) {
    stats.batches.fetch_add(1, Ordering::Relaxed);
    stats
        .entries
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
    let mut entries = Vec::with_capacity(batch.len());
    for (i, item) in batch.drain(..).enumerate() {
        let seq = first_seq + i as i64;
        let _ = item.ack.send(Ok(seq));
        entries.push(match item.entry {
            Entry::Log(log) => Committed::Log(LogRecord { seq, log }),
            Entry::Event(e) => Committed::Event(StreamEvent {
                seq,
                kind: e.kind,
                organization_id: e.organization_id,
                project_id: e.project_id,
                deployment_id: e.deployment_id,
                user_id: e.user_id,
                data: e.data,
            }),
        });
    }
    sink.committed(Arc::new(CommittedBatch { entries }));
}

/// Why a batch failed, as far as what to do next is concerned.
enum Failure {
    /// The database refused the content: some entry of the batch is at fault.
    Entry,
    /// The database could not take the batch now: unreachable, busy.
    Passing,
    /// The database is out of disk space: trying again at once would not help.
    Full,
}

fn failure(e: &sqlx::Error) -> Failure {
    match e {
        sqlx::Error::Encode(_) => Failure::Entry,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // SQLITE_BUSY, _LOCKED, _IOERR, _NOMEM pass; constraint and the like
                // are the entries' fault.
                match code.parse::<i64>().map(|n| n & 0xff) {
                    Ok(13) => Failure::Full,
                    Ok(5 | 6 | 7 | 10) => Failure::Passing,
                    _ => Failure::Entry,
                }
            } else {
                // PostgreSQL: connection (08), transaction rollback (40), resources (53),
                // operator intervention (57) and system (58) classes pass; data and
                // integrity errors are the entries' fault.
                match code.get(..2) {
                    _ if code == "53100" => Failure::Full,
                    Some("08" | "40" | "53" | "57" | "58") => Failure::Passing,
                    _ => Failure::Entry,
                }
            }
        }
        _ => Failure::Passing,
    }
}

const NEXT_SEQ: &str = "UPDATE event_seq SET value = value + $1 WHERE id = 1 RETURNING value";

/// Writes one batch in one transaction; returns the first sequence number it used.
async fn insert_batch(db: &Db, batch: &[Item]) -> Result<i64, sqlx::Error> {
    let n = batch.len() as i64;
    match db {
        Db::Postgres(pool) => {
            let started = std::time::Instant::now();
            let mut tx = pool.begin().await?;
            let end: i64 = sqlx::query_scalar(NEXT_SEQ)
                .bind(n)
                .fetch_one(&mut *tx)
                .await?;
            let first = end - n + 1;
            insert_pg(&mut tx, batch, first).await?;
            tx.commit().await?;
            tracing::trace!(entries = n, took = ?started.elapsed(), "batch committed");
            Ok(first)
        }
        Db::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            let end: i64 = sqlx::query_scalar(NEXT_SEQ)
                .bind(n)
                .fetch_one(&mut *tx)
                .await?;
            let first = end - n + 1;
            insert_sqlite(&mut tx, batch, first).await?;
            tx.commit().await?;
            Ok(first)
        }
    }
}

/// Batches at least this big go through COPY; smaller ones through one INSERT.
///
/// sqlx flushes COPY's data and its closing message separately; on a small batch the
/// second write then waits for the first one's delayed ACK (Nagle), about 40 ms.
/// A single multi-row INSERT is one write, so small batches stay fast.
const PG_COPY_THRESHOLD: usize = 1_024;

/// PostgreSQL: binary COPY for big batches (the fastest bulk path, indexes in place),
/// one INSERT … SELECT FROM UNNEST per table for small ones.
async fn insert_pg(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    batch: &[Item],
    first: i64,
) -> Result<(), sqlx::Error> {
    if batch.len() < PG_COPY_THRESHOLD {
        return insert_pg_unnest(tx, batch, first).await;
    }
    let mut logs = CopyBuf::new(batch.len() * 160);
    let mut events = CopyBuf::new(64);
    let (mut n_logs, mut n_events) = (0usize, 0usize);
    for (i, item) in batch.iter().enumerate() {
        let seq = first + i as i64;
        match &item.entry {
            Entry::Log(log) => {
                n_logs += 1;
                logs.tuple(10);
                logs.uuid(log.id);
                logs.uuid(log.deployment_id);
                logs.int8(seq);
                logs.timestamptz(log.timestamp);
                logs.text(log.level.as_str());
                logs.text(&log.message);
                logs.opt_text(log.step.as_deref());
                logs.jsonb(&log.data);
                logs.text(log.status.as_str());
                logs.int8(i64::from(log.progress_percent));
            }
            Entry::Event(e) => {
                n_events += 1;
                events.tuple(8);
                events.int8(seq);
                events.text(e.kind.as_str());
                events.opt_uuid(e.organization_id);
                events.opt_uuid(e.project_id);
                events.opt_uuid(e.deployment_id);
                events.opt_uuid(e.user_id);
                events.jsonb(&e.data);
                events.timestamptz(e.created_at);
            }
        }
    }
    if n_logs > 0 {
        let mut copy = tx
            .copy_in_raw(
                "COPY deployment_logs (id, deployment_id, seq, timestamp, level, message, step, data, \
                 status, progress_percent) FROM STDIN (FORMAT binary)",
            )
            .await?;
        copy.send(logs.finish()).await?;
        copy.finish().await?;
    }
    if n_events > 0 {
        let mut copy = tx
            .copy_in_raw(
                "COPY events (seq, kind, organization_id, project_id, deployment_id, user_id, data, created_at) \
                 FROM STDIN (FORMAT binary)",
            )
            .await?;
        copy.send(events.finish()).await?;
        copy.finish().await?;
    }
    Ok(())
}

/// PostgreSQL: one multi-row INSERT … SELECT FROM UNNEST per table.
async fn insert_pg_unnest(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    batch: &[Item],
    first: i64,
) -> Result<(), sqlx::Error> {
    let mut l = LogColumns::default();
    let mut e = EventColumns::default();
    for (i, item) in batch.iter().enumerate() {
        let seq = first + i as i64;
        match &item.entry {
            Entry::Log(log) => l.push(seq, log),
            Entry::Event(ev) => e.push(seq, ev),
        }
    }
    if !l.ids.is_empty() {
        sqlx::query(
            "INSERT INTO deployment_logs (id, deployment_id, seq, timestamp, level, message, step, data, \
             status, progress_percent) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::timestamptz[], $5::varchar[], \
             $6::text[], $7::varchar[], $8::jsonb[], $9::varchar[], $10::int8[])",
        )
        .bind(&l.ids)
        .bind(&l.deployment_ids)
        .bind(&l.seqs)
        .bind(&l.timestamps)
        .bind(&l.levels)
        .bind(&l.messages)
        .bind(&l.steps)
        .bind(&l.data)
        .bind(&l.statuses)
        .bind(&l.progress)
        .execute(&mut **tx)
        .await?;
    }
    if !e.seqs.is_empty() {
        sqlx::query(
            "INSERT INTO events (seq, kind, organization_id, project_id, deployment_id, user_id, data, created_at) \
             SELECT * FROM UNNEST($1::int8[], $2::text[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], \
             $7::jsonb[], $8::timestamptz[])",
        )
        .bind(&e.seqs)
        .bind(&e.kinds)
        .bind(&e.orgs)
        .bind(&e.projects)
        .bind(&e.deployments)
        .bind(&e.users)
        .bind(&e.data)
        .bind(&e.created)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[derive(Default)]
struct LogColumns<'a> {
    ids: Vec<uuid::Uuid>,
    deployment_ids: Vec<uuid::Uuid>,
    seqs: Vec<i64>,
    timestamps: Vec<chrono::DateTime<chrono::Utc>>,
    levels: Vec<&'static str>,
    messages: Vec<&'a str>,
    steps: Vec<Option<&'a str>>,
    data: Vec<Option<Json<&'a serde_json::Value>>>,
    statuses: Vec<&'static str>,
    progress: Vec<i64>,
}

impl<'a> LogColumns<'a> {
    fn push(&mut self, seq: i64, log: &'a NewLog) {
        self.ids.push(log.id);
        self.deployment_ids.push(log.deployment_id);
        self.seqs.push(seq);
        self.timestamps.push(log.timestamp);
        self.levels.push(log.level.as_str());
        self.messages.push(&log.message);
        self.steps.push(log.step.as_deref());
        self.data.push(null_or_json(&log.data));
        self.statuses.push(log.status.as_str());
        self.progress.push(i64::from(log.progress_percent));
    }
}

#[derive(Default)]
struct EventColumns<'a> {
    seqs: Vec<i64>,
    kinds: Vec<&'static str>,
    orgs: Vec<Option<uuid::Uuid>>,
    projects: Vec<Option<uuid::Uuid>>,
    deployments: Vec<Option<uuid::Uuid>>,
    users: Vec<Option<uuid::Uuid>>,
    data: Vec<Json<&'a serde_json::Value>>,
    created: Vec<chrono::DateTime<chrono::Utc>>,
}

impl<'a> EventColumns<'a> {
    fn push(&mut self, seq: i64, e: &'a NewEvent) {
        self.seqs.push(seq);
        self.kinds.push(e.kind.as_str());
        self.orgs.push(e.organization_id);
        self.projects.push(e.project_id);
        self.deployments.push(e.deployment_id);
        self.users.push(e.user_id);
        self.data.push(Json(&e.data));
        self.created.push(e.created_at);
    }
}

/// SQLite accepts at most 32,766 bound values per statement; 10 per row leaves room.
const SQLITE_ROWS_PER_INSERT: usize = 1_000;

/// SQLite: multi-row INSERTs of up to [`SQLITE_ROWS_PER_INSERT`] rows.
async fn insert_sqlite(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    batch: &[Item],
    first: i64,
) -> Result<(), sqlx::Error> {
    let numbered: Vec<(i64, &Item)> = batch
        .iter()
        .enumerate()
        .map(|(i, item)| (first + i as i64, item))
        .collect();
    let logs: Vec<(i64, &NewLog)> = numbered
        .iter()
        .filter_map(|(s, i)| match &i.entry {
            Entry::Log(l) => Some((*s, l)),
            Entry::Event(_) => None,
        })
        .collect();
    let events: Vec<(i64, &NewEvent)> = numbered
        .iter()
        .filter_map(|(s, i)| match &i.entry {
            Entry::Event(e) => Some((*s, e)),
            Entry::Log(_) => None,
        })
        .collect();
    for chunk in logs.chunks(SQLITE_ROWS_PER_INSERT) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO deployment_logs (id, deployment_id, seq, timestamp, level, message, step, data, \
             status, progress_percent) ",
        );
        qb.push_values(chunk, |mut b, (seq, log)| {
            b.push_bind(log.id)
                .push_bind(log.deployment_id)
                .push_bind(*seq)
                .push_bind(log.timestamp)
                .push_bind(log.level.as_str())
                .push_bind(log.message.as_str())
                .push_bind(log.step.as_deref())
                .push_bind(null_or_json(&log.data))
                .push_bind(log.status.as_str())
                .push_bind(i64::from(log.progress_percent));
        });
        qb.build().execute(&mut **tx).await?;
    }
    for chunk in events.chunks(SQLITE_ROWS_PER_INSERT) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO events (seq, kind, organization_id, project_id, deployment_id, user_id, data, created_at) ",
        );
        qb.push_values(chunk, |mut b, (seq, e)| {
            b.push_bind(*seq)
                .push_bind(e.kind.as_str())
                .push_bind(e.organization_id)
                .push_bind(e.project_id)
                .push_bind(e.deployment_id)
                .push_bind(e.user_id)
                .push_bind(Json(&e.data))
                .push_bind(e.created_at);
        });
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}
