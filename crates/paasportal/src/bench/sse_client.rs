//! One subscriber of the load client: a plain HTTP/1.1 GET on a `TcpStream`, read as
//! SSE until told to stop. Cheap enough to run thousands in one process.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};

use super::sse_parse::{Dechunk, Seen, SseParser, find};

/// Where to connect: `http://HOST:PORT/PATH?QUERY`.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: String,
    pub host: String,
    pub path: String,
}

impl Target {
    /// Parses an `http://` URL.
    pub fn parse(url: &str) -> anyhow::Result<Target> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| anyhow::anyhow!("only http:// URLs are supported: {url}"))?;
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let addr = if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:80")
        };
        Ok(Target {
            addr,
            host: host.to_owned(),
            path: path.to_owned(),
        })
    }

    /// The request line's target with `token` added as `?token=`.
    fn path_with(&self, token: &str) -> String {
        if token.is_empty() {
            return self.path.clone();
        }
        let sep = if self.path.contains('?') { '&' } else { '?' };
        format!("{}{sep}token={token}", self.path)
    }
}

/// Counters all subscribers share, read by the coordinator while the run goes on.
#[derive(Debug, Default)]
pub struct Shared {
    /// Subscribers that got `event: connected`.
    pub connected: AtomicUsize,
    /// Subscribers done connecting, successfully or not.
    pub settled: AtomicUsize,
    /// Subscribers that received all they expected.
    pub complete: AtomicUsize,
    /// Subscribers whose stream ended (closed, failed or stopped).
    pub ended: AtomicUsize,
    /// Counted events received, all subscribers together.
    pub received: AtomicU64,
    /// Microseconds since `epoch` of the first and the last counted event (0 = none yet).
    pub first_event_us: AtomicU64,
    pub last_event_us: AtomicU64,
}

/// What one subscriber saw.
#[derive(Debug, Default)]
pub struct ConnResult {
    pub connected: bool,
    pub received: u64,
    /// Events whose id was not above the previous one (duplicates or out of order).
    pub out_of_order: u64,
    pub keepalives: u64,
    pub connect_ms: Option<f64>,
    pub error: Option<String>,
    pub latencies_ms: Vec<f32>,
    /// The highest event id received.
    pub last_id: Option<i64>,
}

/// One subscriber's parameters.
pub struct Subscriber {
    pub target: Arc<Target>,
    pub token: String,
    pub expected: u64,
    pub counted: Arc<str>,
    pub shared: Arc<Shared>,
    pub epoch: Instant,
    pub connect_permits: Arc<Semaphore>,
    pub connect_timeout: Duration,
}

impl Subscriber {
    /// Connects and reads until the stream ends or `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) -> ConnResult {
        let mut res = ConnResult::default();
        let permit = self.connect_permits.clone().acquire_owned().await.ok();
        let mut permit = Some(permit);
        let t0 = Instant::now();
        let outcome = tokio::select! {
            r = self.read(&mut res, &mut permit, t0) => r,
            _ = stop.wait_for(|s| *s) => Ok(()),
        };
        if let Err(e) = outcome {
            res.error = Some(e);
        }
        if permit.is_some() {
            self.shared.settled.fetch_add(1, Ordering::Relaxed);
        }
        self.shared.ended.fetch_add(1, Ordering::Relaxed);
        res
    }

    async fn read<P>(
        &self,
        res: &mut ConnResult,
        permit: &mut Option<P>,
        t0: Instant,
    ) -> Result<(), String> {
        let mut stream =
            tokio::time::timeout(self.connect_timeout, TcpStream::connect(&self.target.addr))
                .await
                .map_err(|_| "connect timed out".to_owned())?
                .map_err(|e| format!("connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        let req = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
            self.target.path_with(&self.token),
            self.target.host
        );
        stream
            .write_all(req.as_bytes())
            .await
            .map_err(|e| format!("send: {e}"))?;
        let mut buf = vec![0u8; 4096];
        let mut head = Vec::new();
        let body_start = loop {
            let n = stream
                .read(&mut buf)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("closed before the response headers".into());
            }
            head.extend_from_slice(&buf[..n]);
            if let Some(end) = find(&head, b"\r\n\r\n") {
                break end + 4;
            }
            if head.len() > 64 * 1024 {
                return Err("response headers too large".into());
            }
        };
        let status_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
        let status = String::from_utf8_lossy(status_line).trim().to_owned();
        if !status.contains(" 200") {
            return Err(format!("HTTP status: {status}"));
        }
        let chunked = String::from_utf8_lossy(&head[..body_start])
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let mut dechunk = chunked.then(Dechunk::default);
        let mut sse = SseParser::new(&self.counted);
        let mut pending = head[body_start..].to_vec();
        loop {
            let now = Utc::now();
            let mut on_seen = |s: Seen| self.seen(s, res, permit, t0);
            match dechunk.as_mut() {
                Some(d) => {
                    d.feed(&pending, |piece| sse.feed(piece, now, &mut on_seen))?;
                    if d.done {
                        return Err("stream ended".into());
                    }
                }
                None => sse.feed(&pending, now, &mut on_seen),
            }
            pending.clear();
            let n = stream
                .read(&mut buf)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("stream closed by the server".into());
            }
            pending.extend_from_slice(&buf[..n]);
        }
    }

    fn seen<P>(&self, s: Seen, res: &mut ConnResult, permit: &mut Option<P>, t0: Instant) {
        match s {
            Seen::Connected => {
                if !res.connected {
                    res.connected = true;
                    res.connect_ms = Some(t0.elapsed().as_secs_f64() * 1000.0);
                    self.shared.connected.fetch_add(1, Ordering::Relaxed);
                    self.shared.settled.fetch_add(1, Ordering::Relaxed);
                    *permit = None;
                }
            }
            Seen::Comment => res.keepalives += 1,
            Seen::Counted { id, latency_ms } => {
                res.received += 1;
                if let Some(l) = latency_ms {
                    res.latencies_ms.push(l);
                }
                if let Some(id) = id {
                    if res.last_id.is_some_and(|last| id <= last) {
                        res.out_of_order += 1;
                    }
                    res.last_id = Some(res.last_id.map_or(id, |last| last.max(id)));
                }
                let us = self.epoch.elapsed().as_micros() as u64;
                let _ = self.shared.first_event_us.compare_exchange(
                    0,
                    us,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                self.shared.last_event_us.fetch_max(us, Ordering::Relaxed);
                self.shared.received.fetch_add(1, Ordering::Relaxed);
                if self.expected > 0 && res.received == self.expected {
                    self.shared.complete.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}
