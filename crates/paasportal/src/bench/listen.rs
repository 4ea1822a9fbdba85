//! `paasportal bench listen`: N SSE subscribers measuring like the baseline's
//! `sse_bench.py`: latency = receive time − the event's `timestamp`, lost = expected −
//! received, and the server's CPU and memory sampled from `/proc/PID`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};
use tokio::sync::{Semaphore, watch};

use super::procstat::{self, Sample};
use super::sse_client::{ConnResult, Shared, Subscriber, Target};
use super::stats;

/// Whose tokens the subscribers use when they come from `bench emit`'s JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Audience {
    /// The organization admin: every subscriber sees every deployment.
    Org,
    /// The project members, round robin: each subscriber sees only its project.
    Projects,
}

/// Flags of `bench listen`.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// The stream's URL; the token is added as `?token=`.
    #[arg(long, default_value = "http://127.0.0.1:8080/api/v1/events/stream")]
    pub url: String,
    /// A file holding `bench emit`'s JSON line: tokens and expected counts come from it.
    #[arg(long)]
    pub emit_json: Option<PathBuf>,
    /// With `--emit-json`: subscribe as the organization admin or as the project members.
    #[arg(long = "as", value_enum, default_value = "org")]
    pub audience: Audience,
    /// Tokens to use round robin instead of `--emit-json` (e.g. against the baseline).
    #[arg(long)]
    pub token: Vec<String>,
    /// Events each subscriber should receive with `--token` (0 = unknown).
    #[arg(long, default_value_t = 0)]
    pub expected: u64,
    /// Subscribers.
    #[arg(short = 'n', long, default_value_t = 100)]
    pub connections: usize,
    /// SSE event name counted.
    #[arg(long, default_value = "deployment_progress")]
    pub event_type: String,
    /// Created once every subscriber is connected (the emitter's `--start-file`).
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
    /// Hold the connections this many seconds instead (idle cost), ignoring events.
    #[arg(long, default_value_t = 0.0)]
    pub duration: f64,
    /// Server process to sample (CPU, RSS, open files).
    #[arg(long)]
    pub pid: Option<u32>,
    /// Longest run after everyone connected, in seconds.
    #[arg(long, default_value_t = 120.0)]
    pub max_wait: f64,
    /// Stop once no event arrived for this long after the first, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub idle_timeout: f64,
    /// Connections being set up at once.
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,
    /// Longest wait for all subscribers to connect, in seconds.
    #[arg(long, default_value_t = 120.0)]
    pub connect_timeout: f64,
    /// A label copied into the report.
    #[arg(long, default_value = "")]
    pub label: String,
}

/// The token and expected count of each subscriber.
fn plan(args: &ListenArgs) -> anyhow::Result<Vec<(String, u64)>> {
    if let Some(path) = &args.emit_json {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with('{'))
            .context("no JSON line in the emit output")?;
        let v: serde_json::Value = serde_json::from_str(line)?;
        let pick = |o: &serde_json::Value| -> anyhow::Result<(String, u64)> {
            Ok((
                o["token"].as_str().context("token missing")?.to_owned(),
                o["expected"].as_u64().context("expected missing")?,
            ))
        };
        let pool = match args.audience {
            Audience::Org => vec![pick(&v["org_admin"])?],
            Audience::Projects => v["projects"]
                .as_array()
                .context("projects missing")?
                .iter()
                .map(pick)
                .collect::<anyhow::Result<_>>()?,
        };
        return Ok((0..args.connections)
            .map(|i| pool[i % pool.len()].clone())
            .collect());
    }
    let tokens = if args.token.is_empty() {
        vec![String::new()]
    } else {
        args.token.clone()
    };
    Ok((0..args.connections)
        .map(|i| (tokens[i % tokens.len()].clone(), args.expected))
        .collect())
}

/// Runs the subscribers and prints one JSON report.
pub async fn run(args: ListenArgs) -> anyhow::Result<()> {
    let plan = plan(&args)?;
    let target = Arc::new(Target::parse(&args.url)?);
    let pid = args.pid.map(|p| p.to_string());
    let server = |pid: &Option<String>| pid.as_deref().and_then(procstat::sample);
    let client_start = procstat::sample("self");
    let before = server(&pid);
    let epoch = Instant::now();
    let shared = Arc::new(Shared::default());
    let permits = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let counted: Arc<str> = args.event_type.clone().into();
    let (stop_tx, stop_rx) = watch::channel(false);
    let n = plan.len();
    let mut tasks = Vec::with_capacity(n);
    for (token, expected) in plan.iter().cloned() {
        let sub = Subscriber {
            target: target.clone(),
            token,
            expected,
            counted: counted.clone(),
            shared: shared.clone(),
            epoch,
            connect_permits: permits.clone(),
            connect_timeout: Duration::from_secs_f64(args.connect_timeout),
        };
        tasks.push(tokio::spawn(sub.run(stop_rx.clone())));
    }
    let connect_deadline = epoch + Duration::from_secs_f64(args.connect_timeout);
    let mut peak_rss = before.map_or(0, |s| s.rss_kb);
    while shared.settled.load(Ordering::Relaxed) < n && Instant::now() < connect_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connect_s = epoch.elapsed().as_secs_f64();
    let connected_sample = server(&pid);
    let connected = shared.connected.load(Ordering::Relaxed);
    if let Some(path) = &args.ready_file {
        std::fs::write(path, format!("{connected}\n"))
            .with_context(|| format!("cannot create {}", path.display()))?;
    }
    eprintln!("listen: {connected}/{n} connected in {connect_s:.2}s");

    let ready = Instant::now();
    let mut last_sample = ready;
    let mut run_samples: Vec<Sample> = connected_sample.into_iter().collect();
    let reason = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = Instant::now();
        if now.duration_since(last_sample) >= Duration::from_millis(500) {
            last_sample = now;
            if let Some(s) = server(&pid) {
                peak_rss = peak_rss.max(s.rss_kb);
                run_samples.push(s);
            }
        }
        let elapsed = now.duration_since(ready).as_secs_f64();
        let expects = plan.iter().any(|(_, e)| *e > 0);
        if args.duration > 0.0 {
            if elapsed >= args.duration {
                break "duration";
            }
            continue;
        }
        if expects && connected > 0 && shared.complete.load(Ordering::Relaxed) >= connected {
            break "all_expected_received";
        }
        if elapsed >= args.max_wait {
            break "max_wait";
        }
        let last = shared.last_event_us.load(Ordering::Relaxed);
        if last > 0
            && epoch.elapsed().as_micros() as u64 - last >= (args.idle_timeout * 1_000_000.0) as u64
        {
            break "idle_timeout";
        }
        if shared.ended.load(Ordering::Relaxed) >= n {
            break "all_connections_ended";
        }
    };
    let end_sample = server(&pid);
    let _ = stop_tx.send(true);
    let mut results: Vec<ConnResult> = Vec::with_capacity(n);
    for t in tasks {
        results.push(t.await?);
    }
    let client_end = procstat::sample("self");
    let report = Report {
        args: &args,
        plan: &plan,
        results,
        reason,
        connect_s,
        shared: &shared,
        server: ServerSamples {
            before,
            connected: connected_sample,
            end: end_sample,
            peak_rss,
        },
        client: (client_start, client_end),
    }
    .json();
    println!("{report}");
    Ok(())
}

/// The server's samples at the phases of the run.
struct ServerSamples {
    before: Option<Sample>,
    connected: Option<Sample>,
    end: Option<Sample>,
    peak_rss: u64,
}

struct Report<'a> {
    args: &'a ListenArgs,
    plan: &'a [(String, u64)],
    results: Vec<ConnResult>,
    reason: &'static str,
    connect_s: f64,
    shared: &'a Shared,
    server: ServerSamples,
    client: (Option<Sample>, Option<Sample>),
}

impl Report<'_> {
    fn json(self) -> serde_json::Value {
        let mut lat: Vec<f64> = Vec::new();
        let (mut lost, mut extra, mut conns_with_loss, mut out_of_order, mut keepalives) =
            (0u64, 0u64, 0usize, 0u64, 0u64);
        let mut expected_total = 0u64;
        let mut errors: Vec<String> = Vec::new();
        let mut connect_ms: Vec<f64> = Vec::new();
        let mut connected = 0usize;
        for (r, (_, expected)) in self.results.iter().zip(self.plan) {
            keepalives += r.keepalives;
            if let Some(e) = &r.error
                && errors.len() < 5
            {
                errors.push(e.clone());
            }
            if !r.connected {
                continue;
            }
            connected += 1;
            connect_ms.extend(r.connect_ms);
            lat.extend(r.latencies_ms.iter().map(|l| f64::from(*l)));
            out_of_order += r.out_of_order;
            if *expected > 0 {
                expected_total += expected;
                lost += expected.saturating_sub(r.received);
                extra += r.received.saturating_sub(*expected);
                conns_with_loss += usize::from(r.received < *expected);
            }
        }
        let errors_total = self.results.iter().filter(|r| r.error.is_some()).count();
        lat.sort_unstable_by(|a, b| a.total_cmp(b));
        connect_ms.sort_unstable_by(|a, b| a.total_cmp(b));
        let received = self.shared.received.load(Ordering::Relaxed);
        let first = self.shared.first_event_us.load(Ordering::Relaxed);
        let last = self.shared.last_event_us.load(Ordering::Relaxed);
        let window_s = last.saturating_sub(first) as f64 / 1e6;
        let pct = |p: f64| round2(stats::percentile(&lat, p));
        let s = &self.server;
        let server = match (s.before, s.connected, s.end) {
            (Some(b), Some(c), Some(e)) => serde_json::json!({
                "rss_before_mb": round2(b.rss_kb as f64 / 1024.0),
                "rss_connected_mb": round2(c.rss_kb as f64 / 1024.0),
                "rss_peak_mb": round2(s.peak_rss as f64 / 1024.0),
                "rss_per_conn_kb": round2((c.rss_kb as f64 - b.rss_kb as f64) / connected.max(1) as f64),
                "rss_peak_per_conn_kb": round2((s.peak_rss as f64 - b.rss_kb as f64) / connected.max(1) as f64),
                "fds_connected": c.fds,
                "cpu_pct_connect_phase": round2(procstat::cpu_pct(&b, &c)),
                "cpu_pct_run_phase": round2(procstat::cpu_pct(&c, &e)),
                "run_phase_s": round2(e.at.duration_since(c.at).as_secs_f64()),
            }),
            _ => serde_json::Value::Null,
        };
        let client_cpu = match self.client {
            (Some(a), Some(b)) => serde_json::json!({
                "cpu_s": round2(b.cpu_s - a.cpu_s),
                "cpu_pct": round2(procstat::cpu_pct(&a, &b)),
                "rss_mb": round2(b.rss_kb as f64 / 1024.0),
            }),
            _ => serde_json::Value::Null,
        };
        serde_json::json!({
            "bench": "listen",
            "label": self.args.label,
            "url": self.args.url,
            "connections_requested": self.results.len(),
            "connections_ok": connected,
            "expected_total": expected_total,
            "received_total": received,
            "lost_total": lost,
            "extra_total": extra,
            "out_of_order_total": out_of_order,
            "conns_with_loss": conns_with_loss,
            "errors_total": errors_total,
            "errors_sample": errors,
            "keepalives_total": keepalives,
            "end_reason": self.reason,
            "connect_s": round2(self.connect_s),
            "connect_ms": {
                "p50": round2(stats::percentile(&connect_ms, 50.0)),
                "p99": round2(stats::percentile(&connect_ms, 99.0)),
                "max": round2(connect_ms.last().copied().unwrap_or(0.0)),
            },
            "latency_ms": {
                "n": lat.len(),
                "p50": pct(50.0),
                "p90": pct(90.0),
                "p99": pct(99.0),
                "max": round2(lat.last().copied().unwrap_or(0.0)),
                "min": round2(lat.first().copied().unwrap_or(0.0)),
            },
            "delivery_window_s": round2(window_s),
            "deliveries_per_s": if window_s > 0.0 { (received as f64 / window_s).round() } else { 0.0 },
            "server": server,
            "client": client_cpu,
        })
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
