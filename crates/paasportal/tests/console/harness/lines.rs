//! Log lines written by the test into the portal's own database through the store's
//! durable `LogWriter`, as the engine writes them: `serve` (without Redis) finds each
//! committed batch by polling the sequence and streams it to the page.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use paasportal_core::{DeploymentStatus, LogLevel, NewLog};
use paasportal_store::writer::{NoSink, WriterTask};
use paasportal_store::{ConnectOptions, LogWriter, Store, WriterConfig};
use uuid::Uuid;

/// The portal's store and a writer on it.
pub struct Lines {
    pub store: Store,
    writer: LogWriter,
    task: Option<WriterTask>,
}

/// One line of a synthetic deployment log: mostly info, every 50th a warning, every
/// 100th an error (`ERROR-MARK`), line 777 carries `needle-777`.
pub fn synthetic(deployment: Uuid, i: usize, n: usize) -> NewLog {
    let level = if i % 100 == 99 {
        LogLevel::Error
    } else if i % 50 == 49 {
        LogLevel::Warning
    } else if i % 10 == 3 {
        LogLevel::Debug
    } else {
        LogLevel::Info
    };
    let mut message = format!(
        "line {i}: pulling layer {:08x} from the cache",
        i * 2_654_435_761 % 4_294_967_296
    );
    if level == LogLevel::Error {
        message = format!("line {i}: ERROR-MARK command exited with status 1");
    }
    if i == 777 {
        message = format!("line {i}: the needle-777 is here");
    }
    let mut l = NewLog::now(deployment, level, message);
    l.step = Some("pulling_image".into());
    l.status = DeploymentStatus::Running;
    l.progress_percent = (i * 100 / n.max(1)).min(99) as u8;
    l
}

/// Milliseconds since the Unix epoch (the page's `Date.now()` clock).
pub fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

impl Lines {
    /// Opens the database at `url` (the portal's) with a writer of its own.
    pub async fn open(url: &str) -> Lines {
        let store = Store::open(
            url,
            &ConnectOptions {
                max_connections: 4,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let (writer, task) =
            LogWriter::start(store.clone(), Arc::new(NoSink), WriterConfig::default());
        Lines {
            store,
            writer,
            task: Some(task),
        }
    }

    /// Marks the (queued) deployment running, as a worker would.
    pub async fn start(&self, deployment: Uuid) {
        self.store.start_deployment(deployment).await.unwrap();
    }

    /// Writes `n` lines made by `make(i)` as fast as the writer takes them; returns
    /// their sequence numbers.
    pub async fn write(&self, n: usize, make: impl Fn(usize) -> NewLog) -> Vec<i64> {
        let mut receipts = Vec::with_capacity(n.min(65_536));
        let mut seqs = Vec::with_capacity(n);
        for i in 0..n {
            receipts.push(self.writer.append(make(i)).await.unwrap());
            if receipts.len() == 65_536 {
                for r in receipts.drain(..) {
                    seqs.push(r.await.unwrap());
                }
            }
        }
        for r in receipts {
            seqs.push(r.await.unwrap());
        }
        seqs
    }

    /// Writes `rate` lines a second for `secs` seconds (in ticks of 10 ms); returns
    /// every line's sequence number and the epoch milliseconds of its append.
    pub async fn stream(
        &self,
        rate: usize,
        secs: f64,
        first: usize,
        make: impl Fn(usize) -> NewLog,
    ) -> Vec<(i64, f64)> {
        let started = Instant::now();
        let total = (rate as f64 * secs) as usize;
        let mut pending = Vec::with_capacity(total);
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut sent = 0usize;
        while sent < total {
            tick.tick().await;
            let due = ((started.elapsed().as_secs_f64() * rate as f64) as usize).min(total);
            while sent < due {
                let at = epoch_ms();
                let r = self.writer.append(make(first + sent)).await.unwrap();
                pending.push((r, at));
                sent += 1;
            }
        }
        let mut out = Vec::with_capacity(total);
        for (r, at) in pending {
            out.push((r.await.unwrap(), at));
        }
        out
    }

    /// Flushes and stops the writer, and closes the store.
    pub async fn close(mut self) {
        if let Some(t) = self.task.take() {
            t.shutdown().await;
        }
        self.store.close().await;
    }
}
