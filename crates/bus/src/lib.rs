//! paasportal's event bus.
//!
//! The durable writer hands every committed batch to the bus's [`CommitSink`]: nothing is
//! published before it is durable, and everything carries its sequence number. The sink
//! feeds this process's [`Hub`] directly and, with Redis, PUBLISHes the batch for the
//! other replicas. Each replica's hub holds one Redis subscription, orders what arrives
//! by seq, fills gaps from the store and fans out in-process to its subscribers.

mod contexts;
pub mod frame;
pub mod hub;
mod redis_link;
pub mod registry;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use paasportal_store::{CommitSink, CommittedBatch, Store};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use frame::Frame;
pub use hub::{Hub, HubConfig, Subscription};
pub use registry::{Delivered, Filter};

use hub::Input;

/// Batches waiting for the hub or the Redis publisher; past this they are dropped and
/// the hub reads them from the store instead (the writer never waits for the bus).
const QUEUE_BATCHES: usize = 4_096;

/// Why the bus could not start.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("invalid Redis URL: {0}")]
    InvalidRedisUrl(String),
}

fn redis_client(url: &str) -> Result<redis::Client, BusError> {
    redis::Client::open(url).map_err(|e| BusError::InvalidRedisUrl(e.to_string()))
}

/// The sink the writer calls after each commit.
struct BusSink {
    local: Option<mpsc::Sender<Input>>,
    redis: Option<mpsc::Sender<Arc<CommittedBatch>>>,
}

impl CommitSink for BusSink {
    fn committed(&self, batch: Arc<CommittedBatch>) {
        if let Some(r) = &self.redis {
            let _ = r.try_send(batch.clone());
        }
        if let Some(l) = &self.local {
            let _ = l.try_send(Input::Batch(batch));
        }
    }
}

/// A running bus: the hub, its sink, and the tasks behind them (stopped on drop).
pub struct Bus {
    hub: Arc<Hub>,
    sink: Arc<BusSink>,
    tasks: Vec<JoinHandle<()>>,
}

impl Bus {
    /// Starts a hub on `store`, with Redis fan-out when `redis_url` is given.
    pub fn start(store: Store, redis_url: Option<&str>, cfg: HubConfig) -> Result<Bus, BusError> {
        let client = redis_url.map(redis_client).transpose()?;
        let hub = Hub::new(store, cfg, client.is_some());
        let (tx, rx) = mpsc::channel(QUEUE_BATCHES);
        let mut tasks = vec![tokio::spawn(hub.clone().run(rx))];
        let mut redis = None;
        if let Some(client) = client {
            let (ptx, prx) = mpsc::channel(QUEUE_BATCHES);
            tasks.push(tokio::spawn(redis_link::publish(client.clone(), prx)));
            tasks.push(tokio::spawn(redis_link::subscribe(
                client,
                hub.clone(),
                tx.clone(),
            )));
            redis = Some(ptx);
        }
        Ok(Bus {
            hub,
            sink: Arc::new(BusSink {
                local: Some(tx),
                redis,
            }),
            tasks,
        })
    }

    /// The hub, for subscribing.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// The writer's sink: feeds this hub and publishes to Redis.
    pub fn sink(&self) -> Arc<dyn CommitSink> {
        self.sink.clone()
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A publish-only sink for processes without subscribers (`paasportal worker`): PUBLISHes
/// each committed batch to Redis. Without Redis the batches reach the servers through
/// the store, which every hub polls.
pub struct Publisher {
    sink: Arc<BusSink>,
    task: Option<JoinHandle<()>>,
}

impl Publisher {
    /// A publisher to `redis_url`, or one that publishes nothing.
    pub fn start(redis_url: Option<&str>) -> Result<Publisher, BusError> {
        let Some(url) = redis_url else {
            return Ok(Publisher {
                sink: Arc::new(BusSink {
                    local: None,
                    redis: None,
                }),
                task: None,
            });
        };
        let client = redis_client(url)?;
        let (tx, rx) = mpsc::channel(QUEUE_BATCHES);
        Ok(Publisher {
            sink: Arc::new(BusSink {
                local: None,
                redis: Some(tx),
            }),
            task: Some(tokio::spawn(redis_link::publish(client, rx))),
        })
    }

    /// The writer's sink.
    pub fn sink(&self) -> Arc<dyn CommitSink> {
        self.sink.clone()
    }

    /// Waits, at most `timeout`, until every queued batch has been taken for publishing
    /// (call it after the writer's shutdown, before the process exits).
    pub async fn drained(&self, timeout: Duration) {
        let Some(tx) = &self.sink.redis else { return };
        let until = tokio::time::Instant::now() + timeout;
        while tx.capacity() < tx.max_capacity() && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // The last batch taken may still be on its way to Redis.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}
