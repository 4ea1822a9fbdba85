//! Redis fan-out: publishers PUBLISH each committed batch; every replica holds one
//! subscription and hands what arrives to its hub. Redis is only a fast path: whatever
//! it loses, the hub reads back from the store.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use paasportal_store::CommittedBatch;
use redis::aio::MultiplexedConnection;
use tokio::sync::mpsc;

use crate::hub::{Hub, Input};
use crate::wire;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(1);
const RECONNECT_DELAY: Duration = Duration::from_millis(250);

/// Publishes batches from `rx` until it closes; a batch that cannot be published is dropped.
pub(crate) async fn publish(client: redis::Client, mut rx: mpsc::Receiver<Arc<CommittedBatch>>) {
    let mut conn: Option<MultiplexedConnection> = None;
    let mut down_since_logged = false;
    while let Some(batch) = rx.recv().await {
        if conn.is_none() {
            match tokio::time::timeout(CONNECT_TIMEOUT, client.get_multiplexed_async_connection())
                .await
            {
                Ok(Ok(c)) => {
                    if down_since_logged {
                        tracing::info!("redis reachable again: publishing resumes");
                    }
                    down_since_logged = false;
                    conn = Some(c);
                }
                Ok(Err(e)) => {
                    if !down_since_logged {
                        tracing::warn!(error = %e, "redis unreachable: batches reach other replicas through the store");
                        down_since_logged = true;
                    }
                    continue;
                }
                Err(_) => {
                    if !down_since_logged {
                        tracing::warn!(
                            "redis connect timed out: batches reach other replicas through the store"
                        );
                        down_since_logged = true;
                    }
                    continue;
                }
            }
        }
        let c = conn.as_mut().expect("connected");
        let payload = wire::encode(&batch);
        let sent = tokio::time::timeout(
            PUBLISH_TIMEOUT,
            redis::cmd("PUBLISH")
                .arg(wire::CHANNEL)
                .arg(payload)
                .query_async::<i64>(c),
        )
        .await;
        if !matches!(sent, Ok(Ok(_))) {
            tracing::warn!("redis publish failed: reconnecting");
            down_since_logged = true;
            conn = None;
        }
    }
}

/// Holds the replica's one subscription, reconnecting forever; marks Redis live or not.
pub(crate) async fn subscribe(client: redis::Client, hub: Arc<Hub>, inbox: mpsc::Sender<Input>) {
    let mut logged_down = false;
    loop {
        let pubsub = tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_pubsub()).await;
        let mut pubsub = match pubsub {
            Ok(Ok(p)) => p,
            other => {
                if !logged_down {
                    let why = match other {
                        Ok(Err(e)) => e.to_string(),
                        _ => "timed out".into(),
                    };
                    tracing::warn!(error = %why, "redis subscription unavailable: streams catch up from the store");
                    logged_down = true;
                }
                tokio::time::sleep(RECONNECT_DELAY).await;
                continue;
            }
        };
        if let Err(e) = pubsub.subscribe(wire::CHANNEL).await {
            tracing::warn!(error = %e, "redis SUBSCRIBE failed");
            tokio::time::sleep(RECONNECT_DELAY).await;
            continue;
        }
        hub.redis_live.store(true, Ordering::Relaxed);
        if logged_down {
            tracing::info!("redis subscription restored: live delivery resumes");
        }
        if inbox.send(Input::Resync).await.is_err() {
            return;
        }
        let mut messages = pubsub.into_on_message();
        while let Some(msg) = messages.next().await {
            match wire::decode(msg.get_payload_bytes()) {
                // A full inbox drops the batch: the hub reads the gap from the store.
                Ok(batch) => {
                    if let Err(mpsc::error::TrySendError::Closed(_)) =
                        inbox.try_send(Input::Batch(Arc::new(batch)))
                    {
                        return;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "undecodable message on the event channel"),
            }
        }
        hub.redis_live.store(false, Ordering::Relaxed);
        tracing::warn!("redis subscription lost: streams catch up from the store");
        logged_down = true;
        let _ = inbox.try_send(Input::Resync);
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}
