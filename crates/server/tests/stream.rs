//! The live streams against the real server, bus, PostgreSQL/SQLite and Redis.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use paasportal_bus::{Bus, HubConfig};
use paasportal_core::{EventKind, LogLevel, NewEvent, NewLog, ProjectRole, SecretBox};
use paasportal_server::auth::AuthKeys;
use paasportal_server::{AppState, ServerConfig};
use paasportal_store::writer::{NoSink, WriterTask};
use paasportal_store::{LogWriter, Store, WriterConfig};
use paasportal_testkit::fixtures::{Seeded, seed};
use paasportal_testkit::{RedisServer, TestBackend, TestStore};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

const SECRET: [u8; 32] = [42u8; 32];

/// One `serve` replica: the app on a random port, its bus and its writer.
struct Replica {
    base: String,
    state: AppState,
    writer: LogWriter,
    _writer_task: WriterTask,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Replica {
    async fn start(store: &Store, redis: Option<&str>, hub: HubConfig) -> Replica {
        if std::env::var("STREAM_TEST_LOG").is_ok() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter("paasportal_bus=trace,paasportal_server=trace")
                .try_init();
        }
        let bus = Arc::new(Bus::start(store.clone(), redis, hub).unwrap());
        let (writer, task) = LogWriter::start(store.clone(), bus.sink(), WriterConfig::default());
        let auth =
            AuthKeys::new(&SECRET, Duration::from_secs(900), Duration::from_secs(60)).unwrap();
        let config = ServerConfig {
            sse_keepalive: Duration::from_millis(300),
            ..ServerConfig::default()
        };
        let state = AppState::new(
            store.clone(),
            writer.clone(),
            config,
            auth,
            SecretBox::new(&[1u8; 32]).unwrap(),
        )
        .with_bus(bus);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        tokio::spawn(async move {
            paasportal_server::serve(listener, serving, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Replica {
            base: format!("http://{addr}"),
            state,
            writer,
            _writer_task: task,
            _shutdown: tx,
        }
    }

    fn token(&self, user: Uuid) -> String {
        self.state.auth.issue_access(user)
    }
}

/// One parsed SSE event.
#[derive(Debug, Clone)]
struct Ev {
    id: Option<i64>,
    event: String,
    data: serde_json::Value,
}

/// A connected SSE client.
struct Client {
    resp_headers: reqwest::header::HeaderMap,
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: String,
    comments: usize,
    retry: Option<u64>,
}

impl Client {
    async fn open(url: &str, last_event_id: Option<i64>) -> Client {
        let mut req = reqwest::Client::new().get(url);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id.to_string());
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200, "stream refused: {url}");
        Client {
            resp_headers: resp.headers().clone(),
            body: resp.bytes_stream().boxed(),
            buf: String::new(),
            comments: 0,
            retry: None,
        }
    }

    /// The next event, or `None` when the stream ends or nothing comes within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Ev> {
        loop {
            if let Some(pos) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..pos + 2).collect();
                let mut ev = Ev {
                    id: None,
                    event: String::new(),
                    data: serde_json::Value::Null,
                };
                let mut fields = false;
                for line in block.lines() {
                    if line.starts_with(':') {
                        self.comments += 1;
                    } else if let Some(v) = line.strip_prefix("retry: ") {
                        self.retry = v.parse().ok();
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        ev.id = v.parse().ok();
                        fields = true;
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        ev.event = v.to_owned();
                        fields = true;
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        ev.data = serde_json::from_str(v).unwrap();
                        fields = true;
                    }
                }
                if fields {
                    return Some(ev);
                }
                continue;
            }
            match tokio::time::timeout(wait, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buf.push_str(std::str::from_utf8(&chunk).unwrap()),
                _ => return None,
            }
        }
    }

    /// The next `n` events that are not `connected`.
    async fn take(&mut self, n: usize) -> Vec<Ev> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match self.next(Duration::from_secs(10)).await {
                Some(e) if e.event == "connected" => {}
                Some(e) => out.push(e),
                None => panic!("stream ended after {} of {n} events", out.len()),
            }
        }
        out
    }
}

/// Nothing but keepalives for half a second: no duplicate follows.
async fn assert_no_more(c: &mut Client) {
    let extra =
        tokio::time::timeout(Duration::from_millis(500), c.next(Duration::from_secs(1))).await;
    assert!(
        !matches!(extra, Ok(Some(_))),
        "a duplicate arrived: {extra:?}"
    );
}

fn line(dep: Uuid, msg: String) -> NewLog {
    NewLog::now(dep, LogLevel::Info, msg)
}

async fn write_lines(w: &LogWriter, dep: Uuid, range: std::ops::Range<usize>) -> Vec<i64> {
    let mut receipts = Vec::new();
    for i in range {
        receipts.push(w.append(line(dep, format!("line {i}"))).await.unwrap());
    }
    let mut seqs = Vec::new();
    for r in receipts {
        seqs.push(r.await.unwrap());
    }
    seqs
}

fn assert_lines(evs: &[Ev], seqs: &[i64], from: usize) {
    assert_eq!(evs.len(), seqs.len());
    for (i, (e, s)) in evs.iter().zip(seqs).enumerate() {
        assert_eq!(e.event, "deployment_progress");
        assert_eq!(e.id, Some(*s), "event {i} out of order");
        assert_eq!(e.data["data"]["message"], format!("line {}", from + i));
    }
}

async fn member(store: &Store, s: &Seeded) {
    store
        .upsert_project_member(s.project.id, s.user.id, ProjectRole::Viewer)
        .await
        .unwrap();
}

/// Wire format, headers, keepalive, `?token=`, tickets, resume after 1,000 missed events,
/// and lines written by a writer that does not feed this bus (a worker process without Redis).
async fn wire_format_and_resume(backend: TestBackend) {
    let t = TestStore::new(backend).await;
    let r = Replica::start(&t.store, None, HubConfig::default()).await;
    let s = seed(&t.store, "wire").await;
    member(&t.store, &s).await;
    let dep = s.deployment.id;
    let token = r.token(s.user.id);
    let url = format!("{}/api/v1/events/stream?token={token}", r.base);

    let mut c = Client::open(&url, None).await;
    let h = &c.resp_headers;
    assert_eq!(h["content-type"], "text/event-stream");
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(h["x-accel-buffering"], "no");
    let connected = c.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(connected.event, "connected");
    assert_eq!(connected.data, serde_json::json!({"status": "connected"}));
    assert_eq!(connected.id, None);
    assert_eq!(c.retry, Some(3000));
    let silent =
        tokio::time::timeout(Duration::from_millis(700), c.next(Duration::from_secs(5))).await;
    assert!(silent.is_err(), "an event arrived on an idle stream");
    assert!(c.comments >= 1, "no keepalive after silence");

    let seqs = write_lines(&r.writer, dep, 0..5).await;
    let evs = c.take(5).await;
    assert_lines(&evs, &seqs, 0);
    let d = &evs[0].data;
    assert_eq!(d["type"], "deployment_progress");
    for key in [
        "deployment_id",
        "environment_id",
        "project_id",
        "project_name",
        "environment_name",
        "status",
        "step",
        "message",
        "level",
        "timestamp",
        "progress_percent",
        "triggered_by",
        "branch",
    ] {
        assert!(d["data"].get(key).is_some(), "missing {key}");
    }
    let last = evs[4].id.unwrap();
    drop(c);

    // 1,000 events while away, then resume with Last-Event-ID: all of them, in order, once.
    let missed = write_lines(&r.writer, dep, 5..1005).await;
    let mut c = Client::open(&url, Some(last)).await;
    assert_lines(&c.take(1000).await, &missed, 5);
    let live = write_lines(&r.writer, dep, 1005..1010).await;
    assert_lines(&c.take(5).await, &live, 1005);
    assert_no_more(&mut c).await;

    // The same with ?last_event_id= and a ticket instead of a token.
    let tk: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v1/events/ticket", r.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tk["expires_in"], 60);
    let ticket = tk["ticket"].as_str().unwrap().to_owned();
    let ticket_url = format!(
        "{}/api/v1/events/stream?ticket={ticket}&last_event_id={}",
        r.base, missed[994]
    );
    let mut c = Client::open(&ticket_url, None).await;
    let tail: Vec<i64> = missed[995..].iter().chain(&live).copied().collect();
    assert_lines(&c.take(10).await, &tail, 1000);
    let again = reqwest::get(&ticket_url).await.unwrap();
    assert_eq!(again.status(), 401, "a ticket works once");
    let bad = reqwest::get(format!("{}/api/v1/events/stream?token=nope", r.base))
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);

    // A writer that does not feed this bus (a separate worker process without Redis):
    // the hub finds its lines in the store.
    let (other, task) =
        LogWriter::start(t.store.clone(), Arc::new(NoSink), WriterConfig::default());
    let seqs = write_lines(&other, dep, 2000..2020).await;
    assert_lines(&c.take(20).await, &seqs, 2000);
    task.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wire_format_and_resume_sqlite() {
    wire_format_and_resume(TestBackend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wire_format_and_resume_postgres() {
    wire_format_and_resume(TestBackend::Postgres).await
}

/// Only events of projects the subscriber may see; a revoked membership stops them at once.
async fn revoked_membership(backend: TestBackend) {
    let t = TestStore::new(backend).await;
    let r = Replica::start(&t.store, None, HubConfig::default()).await;
    let s = seed(&t.store, "mine").await;
    let other = seed(&t.store, "other").await;
    member(&t.store, &s).await;
    let url = format!(
        "{}/api/v1/events/stream?token={}",
        r.base,
        r.token(s.user.id)
    );
    let mut c = Client::open(&url, None).await;
    write_lines(&r.writer, other.deployment.id, 0..3).await;
    let mine = write_lines(&r.writer, s.deployment.id, 0..3).await;
    assert_lines(&c.take(3).await, &mine, 0);

    t.store
        .remove_project_member(s.project.id, s.user.id)
        .await
        .unwrap();
    let changed = r
        .writer
        .write_event(NewEvent {
            kind: EventKind::PermissionsChanged,
            organization_id: Some(s.org.id),
            project_id: None,
            deployment_id: None,
            user_id: Some(s.user.id),
            data: serde_json::json!({"user_id": s.user.id, "organization_id": s.org.id}),
            created_at: Utc::now(),
        })
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let ev = c.take(1).await.remove(0);
    assert_eq!(ev.event, "permissions_changed");
    assert_eq!(ev.id, Some(changed));
    assert!(started.elapsed() < Duration::from_secs(1));
    write_lines(&r.writer, s.deployment.id, 3..6).await;
    let quiet = tokio::time::timeout(Duration::from_millis(1500), async {
        while let Some(e) = c.next(Duration::from_millis(1500)).await {
            assert_ne!(
                e.event, "deployment_progress",
                "an event of a revoked project"
            );
        }
    })
    .await;
    assert!(quiet.is_err(), "the stream closed");
    let logs = reqwest::get(format!(
        "{}/api/v1/deployments/{}/logs/stream?token={}",
        r.base,
        s.deployment.id,
        r.token(s.user.id)
    ))
    .await
    .unwrap();
    assert_eq!(logs.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_membership_sqlite() {
    revoked_membership(TestBackend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_membership_postgres() {
    revoked_membership(TestBackend::Postgres).await
}

/// The per-deployment stream replays from the start, follows live and closes after the end.
async fn deployment_log_stream(backend: TestBackend) {
    let t = TestStore::new(backend).await;
    let r = Replica::start(&t.store, None, HubConfig::default()).await;
    let s = seed(&t.store, "logs").await;
    let other = seed(&t.store, "noise").await;
    member(&t.store, &s).await;
    t.store.start_deployment(s.deployment.id).await.unwrap();
    let before = write_lines(&r.writer, s.deployment.id, 0..3).await;
    let url = format!(
        "{}/api/v1/deployments/{}/logs/stream",
        r.base, s.deployment.id
    );
    let resp = reqwest::Client::new()
        .get(&url)
        .bearer_auth(r.token(s.user.id))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut c = Client {
        resp_headers: resp.headers().clone(),
        body: resp.bytes_stream().boxed(),
        buf: String::new(),
        comments: 0,
        retry: None,
    };
    assert_lines(&c.take(3).await, &before, 0);
    write_lines(&r.writer, other.deployment.id, 0..3).await;
    let live = write_lines(&r.writer, s.deployment.id, 3..5).await;
    assert_lines(&c.take(2).await, &live, 3);
    t.store
        .finish_deployment(
            s.deployment.id,
            paasportal_core::DeploymentStatus::Success,
            None,
        )
        .await
        .unwrap();
    let mut last = line(s.deployment.id, "line 5".into());
    last.status = paasportal_core::DeploymentStatus::Success;
    let end = r.writer.write(last).await.unwrap();
    assert_lines(&c.take(1).await, &[end], 5);
    let closed = tokio::time::timeout(Duration::from_secs(4), async {
        while c.next(Duration::from_secs(4)).await.is_some() {}
    })
    .await;
    assert!(
        closed.is_ok(),
        "the stream did not close after the deployment ended"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_log_stream_sqlite() {
    deployment_log_stream(TestBackend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_log_stream_postgres() {
    deployment_log_stream(TestBackend::Postgres).await
}

/// Two replicas on one PostgreSQL and one Redis: a subscriber on A sees, in order, what
/// is written on B, also while Redis is killed and after it comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_survive_a_redis_restart() {
    let t = TestStore::new(TestBackend::Postgres).await;
    let mut redis = RedisServer::start();
    let url = redis.url();
    let a = Replica::start(&t.store, Some(&url), HubConfig::default()).await;
    let b = Replica::start(&t.store, Some(&url), HubConfig::default()).await;
    let s = seed(&t.store, "replicas").await;
    member(&t.store, &s).await;
    let stream = format!(
        "{}/api/v1/events/stream?token={}",
        a.base,
        a.token(s.user.id)
    );
    let mut c = Client::open(&stream, None).await;
    let wait_live = |r: &Replica| r.state.bus.hub().redis_live();
    for _ in 0..100 {
        if wait_live(&a) && wait_live(&b) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(wait_live(&a), "replica A never subscribed to Redis");

    let first = write_lines(&b.writer, s.deployment.id, 0..200).await;
    let started = std::time::Instant::now();
    assert_lines(&c.take(200).await, &first, 0);
    assert!(started.elapsed() < Duration::from_secs(2));

    redis.kill();
    let during = write_lines(&b.writer, s.deployment.id, 200..400).await;
    assert_lines(&c.take(200).await, &during, 200);
    assert!(!a.state.bus.hub().redis_live());

    redis.restart();
    for _ in 0..100 {
        if wait_live(&a) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(wait_live(&a), "replica A did not resubscribe");
    let after = write_lines(&b.writer, s.deployment.id, 400..600).await;
    assert_lines(&c.take(200).await, &after, 400);
    assert_no_more(&mut c).await;
}

/// A subscriber that stops reading is disconnected; the others get everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_is_disconnected_alone() {
    let t = TestStore::new(TestBackend::Postgres).await;
    let hub = HubConfig {
        mailbox_frames: 512,
        ..HubConfig::default()
    };
    let r = Replica::start(&t.store, None, hub).await;
    let s = seed(&t.store, "slow").await;
    member(&t.store, &s).await;
    let path = format!("/api/v1/events/stream?token={}", r.token(s.user.id));
    let addr = r.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut fast = Client::open(&format!("{}{path}", r.base), None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r.state.bus.hub().subscribers(), 2);
    // The reader keeps pace with the writer (it takes each chunk before the next is
    // written), so only the one that never reads can overflow its mailbox, however loaded
    // the machine running the test is.
    let n = 20_000;
    let (mut got, mut seqs) = (Vec::new(), Vec::new());
    for k in (0..n).step_by(100) {
        seqs.extend(write_lines(&r.writer, s.deployment.id, k..k + 100).await);
        got.extend(fast.take(100).await);
    }
    assert_lines(&got, &seqs, 0);
    assert_eq!(
        r.state.bus.hub().subscribers(),
        1,
        "the slow one is still subscribed"
    );
    assert!(r.state.bus.hub().delivered().dropped_slow >= 1);
}

/// One burst far larger than the mailbox (the writer commits up to 8,192 lines at once):
/// a reader that keeps reading gets every line, in order, without being disconnected;
/// the one that never reads is still disconnected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_larger_than_the_mailbox_reaches_a_reader_that_keeps_reading() {
    let t = TestStore::new(TestBackend::Postgres).await;
    let hub = HubConfig {
        mailbox_frames: 512,
        ..HubConfig::default()
    };
    let r = Replica::start(&t.store, None, hub).await;
    let s = seed(&t.store, "burst").await;
    member(&t.store, &s).await;
    let path = format!("/api/v1/events/stream?token={}", r.token(s.user.id));
    let addr = r.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut fast = Client::open(&format!("{}{path}", r.base), None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r.state.bus.hub().subscribers(), 2);
    let n = 20_000;
    let reader = tokio::spawn(async move {
        let got = fast.take(n).await;
        (fast, got)
    });
    let seqs = write_lines(&r.writer, s.deployment.id, 0..n).await;
    let (_fast, got) = reader.await.unwrap();
    assert_lines(&got, &seqs, 0);
    assert!(
        r.state.bus.hub().delivered().dropped_slow >= 1,
        "the reader that never reads was not disconnected"
    );
    assert_eq!(r.state.bus.hub().subscribers(), 1);
}

/// Tokens and tickets never reach the server's logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_stay_out_of_the_logs() {
    let logs = Arc::new(Mutex::new(Vec::<u8>::new()));
    let sink = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace,reqwest=off,hyper_util=off")
        .with_writer(move || CaptureWriter(sink.clone()))
        .init();
    let t = TestStore::new(TestBackend::Sqlite).await;
    let r = Replica::start(&t.store, None, HubConfig::default()).await;
    let s = seed(&t.store, "logs").await;
    member(&t.store, &s).await;
    let token = r.token(s.user.id);
    let mut c = Client::open(
        &format!("{}/api/v1/events/stream?token={token}", r.base),
        None,
    )
    .await;
    c.next(Duration::from_secs(2)).await.unwrap();
    let tk: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v1/events/ticket", r.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ticket = tk["ticket"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let _ = reqwest::get(format!("{}/api/v1/events/stream?ticket={ticket}", r.base)).await;
    }
    let _ = reqwest::get(format!("{}/api/v1/events/stream?token={token}x", r.base)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        text.contains("/api/v1/events/stream"),
        "the request span was not logged: {text}"
    );
    assert!(!text.contains(&token), "the token reached the logs");
    assert!(!text.contains(&ticket), "the ticket reached the logs");
}

#[derive(Clone)]
struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads from `tcp` until `needle` has arrived (or 5 s pass); returns everything read.
async fn read_until(tcp: &mut tokio::net::TcpStream, got: &mut String, needle: &str) {
    use tokio::io::AsyncReadExt;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 4096];
    while !got.contains(needle) {
        let n = tokio::time::timeout_at(deadline, tcp.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("{needle:?} did not arrive; got {got:?}"))
            .unwrap();
        assert!(n > 0, "closed before {needle:?}; got {got:?}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

/// A fresh connection's stream takes the lean path (raw HTTP/1.1 on the wire: chunked,
/// `connection: close`; an error with its length), a stream asked for on a kept-alive
/// connection goes through hyper as before, and shutdown ends open streams cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lean_stream_connections_and_shutdown() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let r = Replica::start(&t.store, None, HubConfig::default()).await;
    let s = seed(&t.store, "lean").await;
    member(&t.store, &s).await;
    let token = r.token(s.user.id);
    let addr = r.base.trim_start_matches("http://").to_owned();

    let mut raw = tokio::net::TcpStream::connect(&addr).await.unwrap();
    raw.write_all(
        format!("GET /api/v1/events/stream?token={token} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut got = String::new();
    read_until(&mut raw, &mut got, "event: connected").await;
    let head = got.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
    for line in [
        "content-type: text/event-stream",
        "transfer-encoding: chunked",
        "connection: close",
    ] {
        assert!(head.contains(line), "{line} missing: {head}");
    }
    write_lines(&r.writer, s.deployment.id, 0..3).await;
    read_until(&mut raw, &mut got, "line 2").await;

    let mut refused = tokio::net::TcpStream::connect(&addr).await.unwrap();
    refused
        .write_all(b"GET /api/v1/events/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(5),
        tokio::io::AsyncReadExt::read_to_end(&mut refused, &mut answer),
    )
    .await
    .expect("an error answer must close the connection")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 401"), "{answer}");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(
        head.contains(&format!("content-length: {}", body.len())),
        "{answer}"
    );

    let kept_alive = reqwest::Client::new();
    let health = kept_alive
        .get(format!("{}/healthz", r.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let mut hyper_stream = kept_alive
        .get(format!("{}/api/v1/events/stream?token={token}", r.base))
        .send()
        .await
        .unwrap();
    assert_eq!(hyper_stream.status(), 200);
    let first = tokio::time::timeout(Duration::from_secs(5), hyper_stream.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: connected"));

    drop(r._shutdown);
    read_until(&mut raw, &mut got, "\r\n0\r\n\r\n").await;
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::io::AsyncReadExt::read_to_end(&mut raw, &mut rest),
    )
    .await;
    assert!(closed.is_ok(), "the stream stayed open after shutdown");
}

/// A portal admin (no memberships) with a user to act on and an HTTP client.
async fn admin(t: &TestStore, tag: &str) -> paasportal_core::User {
    t.store
        .create_user(&paasportal_store::users::NewUser {
            email: format!("admin-{tag}@example.com"),
            name: format!("Admin {tag}"),
            password_hash: "not-a-real-hash".into(),
            is_portal_admin: true,
        })
        .await
        .unwrap()
}

async fn api(
    r: &Replica,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> u16 {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", r.base))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap().status().as_u16()
}

/// Reads until `permissions_changed` arrives, within 1 s of `since`.
async fn permissions_changed_within_a_second(c: &mut Client, since: std::time::Instant) {
    loop {
        let left = Duration::from_secs(1).saturating_sub(since.elapsed());
        match c.next(left).await {
            Some(e) if e.event == "permissions_changed" => return,
            Some(_) => {}
            None => panic!("no permissions_changed within 1 s"),
        }
    }
}

/// The stream ends (the server closes it) within 1 s of `since`.
async fn ends_within_a_second(c: &mut Client, since: std::time::Instant) {
    loop {
        let left = Duration::from_secs(1).saturating_sub(since.elapsed());
        match tokio::time::timeout(left, c.body.next()).await {
            Ok(None) | Ok(Some(Err(_))) => return,
            Ok(Some(Ok(chunk))) => {
                let text = String::from_utf8_lossy(&chunk);
                assert!(
                    !text.contains("deployment_progress"),
                    "a frame after access was lost: {text}"
                );
            }
            Err(_) => panic!("the stream is still open 1 s after access was lost"),
        }
    }
}

/// Nothing of `dep` reaches `c` any more.
async fn sees_nothing_of(c: &mut Client, r: &Replica, dep: Uuid) {
    write_lines(&r.writer, dep, 100..103).await;
    let quiet = tokio::time::timeout(Duration::from_millis(800), async {
        while let Some(e) = c.next(Duration::from_millis(800)).await {
            assert_ne!(
                e.event, "deployment_progress",
                "a frame after access was lost"
            );
        }
    })
    .await;
    let _ = quiet;
}

/// Demoting a portal admin narrows their open stream at once.
async fn demoted_admin_loses_the_stream(backend: TestBackend) {
    let t = TestStore::new(backend).await;
    let r = Replica::start(&t.store, None, HubConfig::default()).await;
    let s = seed(&t.store, "demote").await;
    let boss = admin(&t, "boss").await;
    let demoted = admin(&t, "demoted").await;
    let url = format!(
        "{}/api/v1/events/stream?token={}",
        r.base,
        r.token(demoted.id)
    );
    let mut c = Client::open(&url, None).await;
    let seen = write_lines(&r.writer, s.deployment.id, 0..2).await;
    assert_lines(&c.take(2).await, &seen, 0);

    let status = api(
        &r,
        reqwest::Method::PATCH,
        &format!("/api/v1/users/{}", demoted.id),
        &r.token(boss.id),
        Some(serde_json::json!({"is_portal_admin": false})),
    )
    .await;
    assert_eq!(status, 200);
    permissions_changed_within_a_second(&mut c, std::time::Instant::now()).await;
    sees_nothing_of(&mut c, &r, s.deployment.id).await;
}

/// Deleting a user ends their open streams within a second.
async fn deleted_user_loses_the_stream(backend: TestBackend) {
    let t = TestStore::new(backend).await;
    let r = Replica::start(&t.store, None, HubConfig::default()).await;
    let s = seed(&t.store, "deleted").await;
    member(&t.store, &s).await;
    let boss = admin(&t, "boss").await;
    let url = format!(
        "{}/api/v1/events/stream?token={}",
        r.base,
        r.token(s.user.id)
    );
    let mut c = Client::open(&url, None).await;
    let logs_url = format!(
        "{}/api/v1/deployments/{}/logs/stream?token={}",
        r.base,
        s.deployment.id,
        r.token(s.user.id)
    );
    let mut logs = Client::open(&logs_url, None).await;
    let seen = write_lines(&r.writer, s.deployment.id, 0..2).await;
    assert_lines(&c.take(2).await, &seen, 0);
    assert_lines(&logs.take(2).await, &seen, 0);

    let status = api(
        &r,
        reqwest::Method::DELETE,
        &format!("/api/v1/users/{}", s.user.id),
        &r.token(boss.id),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let since = std::time::Instant::now();
    write_lines(&r.writer, s.deployment.id, 2..4).await;
    ends_within_a_second(&mut c, since).await;
    ends_within_a_second(&mut logs, since).await;
}

/// Deleting an organization or a project: their members' streams are told at once, log
/// streams of their deployments end, and nothing of them is delivered any more.
async fn deleted_org_or_project_loses_the_stream(backend: TestBackend) {
    let t = TestStore::new(backend).await;
    let r = Replica::start(&t.store, None, HubConfig::default()).await;
    let boss = admin(&t, "boss").await;
    for what in ["project", "organization"] {
        let s = seed(&t.store, what).await;
        member(&t.store, &s).await;
        let url = format!(
            "{}/api/v1/events/stream?token={}",
            r.base,
            r.token(s.user.id)
        );
        let mut c = Client::open(&url, None).await;
        let logs_url = format!(
            "{}/api/v1/deployments/{}/logs/stream?token={}",
            r.base,
            s.deployment.id,
            r.token(s.user.id)
        );
        let mut logs = Client::open(&logs_url, None).await;
        let seen = write_lines(&r.writer, s.deployment.id, 0..2).await;
        assert_lines(&c.take(2).await, &seen, 0);
        assert_lines(&logs.take(2).await, &seen, 0);

        let path = match what {
            "project" => format!("/api/v1/projects/{}", s.project.id),
            _ => format!("/api/v1/organizations/{}", s.org.id),
        };
        assert_eq!(
            api(&r, reqwest::Method::DELETE, &path, &r.token(boss.id), None).await,
            204
        );
        let since = std::time::Instant::now();
        permissions_changed_within_a_second(&mut c, since).await;
        ends_within_a_second(&mut logs, since).await;
        // An event still naming the deleted project is not delivered.
        r.writer
            .write_event(NewEvent {
                kind: EventKind::EnvironmentStatus,
                organization_id: Some(s.org.id),
                project_id: Some(s.project.id),
                deployment_id: None,
                user_id: None,
                data: serde_json::json!({"status": "running"}),
                created_at: Utc::now(),
            })
            .await
            .unwrap();
        let quiet = tokio::time::timeout(Duration::from_millis(800), async {
            while let Some(e) = c.next(Duration::from_millis(800)).await {
                assert_ne!(
                    e.event, "environment_status",
                    "a frame after {what} deletion"
                );
            }
        })
        .await;
        let _ = quiet;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demoted_admin_loses_the_stream_sqlite() {
    demoted_admin_loses_the_stream(TestBackend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demoted_admin_loses_the_stream_postgres() {
    demoted_admin_loses_the_stream(TestBackend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_user_loses_the_stream_sqlite() {
    deleted_user_loses_the_stream(TestBackend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_user_loses_the_stream_postgres() {
    deleted_user_loses_the_stream(TestBackend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_org_or_project_loses_the_stream_sqlite() {
    deleted_org_or_project_loses_the_stream(TestBackend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_org_or_project_loses_the_stream_postgres() {
    deleted_org_or_project_loses_the_stream(TestBackend::Postgres).await
}

/// CPU time this process has used (user + system), from /proc/self/stat.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime), counted from the state field (3).
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// A negative or huge `Last-Event-ID` costs next to no CPU: a negative one replays from
/// the start, a huge one from now, and the stream carries on live either way.
async fn absurd_last_event_ids_cost_no_cpu(backend: TestBackend) {
    let t = TestStore::new(backend).await;
    let r = Replica::start(&t.store, None, HubConfig::default()).await;
    let s = seed(&t.store, "absurd").await;
    member(&t.store, &s).await;
    let url = format!(
        "{}/api/v1/events/stream?token={}",
        r.base,
        r.token(s.user.id)
    );
    let first = write_lines(&r.writer, s.deployment.id, 0..3).await;
    for (i, id) in [i64::MIN, -1, i64::MAX].into_iter().enumerate() {
        let before = process_cpu();
        let mut c = Client::open(&url, Some(id)).await;
        if id < 0 {
            let replayed = c.take(3).await;
            assert_lines(&replayed, &first, 0);
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let used = process_cpu() - before;
        assert!(
            used < Duration::from_millis(50),
            "Last-Event-ID {id} cost {used:?} of CPU"
        );
        let live = write_lines(&r.writer, s.deployment.id, 10 + i..11 + i).await;
        // A replay from the start also brings the lines earlier rounds wrote.
        let mut got = c.take(1).await;
        while got[0].id < Some(live[0]) && id < 0 {
            got = c.take(1).await;
        }
        assert_lines(&got, &live, 10 + i);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_last_event_ids_cost_no_cpu_sqlite() {
    absurd_last_event_ids_cost_no_cpu(TestBackend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_last_event_ids_cost_no_cpu_postgres() {
    absurd_last_event_ids_cost_no_cpu(TestBackend::Postgres).await
}
