//! `paasportal bench ingest`: K concurrent deployments append L lines each through the
//! real durable writer; reports lines/s, append→durable latency and peak memory.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::Args;
use paasportal_core::stage::{CATALOGUE, WORKING_STAGES, progress_at};
use paasportal_core::{LogLevel, NewLog};
use paasportal_store::writer::NoSink;
use paasportal_store::{ConnectOptions, LogWriter, Receipt, WriterConfig};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{fixtures, stats};
use crate::startup;

/// Flags of `bench ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Database to write to: `sqlite:PATH` or `postgres://…`.
    #[arg(long, env = "PAASPORTAL_DATABASE_URL")]
    pub database_url: String,
    /// Concurrent deployments (producers).
    #[arg(long, default_value_t = 20)]
    pub deployments: usize,
    /// Lines per deployment.
    #[arg(long, default_value_t = 10_000)]
    pub lines: usize,
    /// Total lines per second across all deployments; 0 = flat out.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Most lines per transaction.
    #[arg(long, default_value_t = WriterConfig::default().max_batch)]
    pub max_batch: usize,
    /// Lines that may wait in the writer's queue.
    #[arg(long, default_value_t = WriterConfig::default().queue_capacity)]
    pub queue: usize,
}

/// Runs the benchmark and prints its report.
pub async fn run(args: IngestArgs) -> anyhow::Result<()> {
    let store = startup::open_store(&args.database_url, &ConnectOptions::default()).await?;
    let deployments = fixtures::deployments(&store, 1, args.deployments).await?;
    let cfg = WriterConfig {
        queue_capacity: args.queue,
        max_batch: args.max_batch,
    };
    let (writer, task) = LogWriter::start(store.clone(), Arc::new(NoSink), cfg);
    eprintln!(
        "ingest: {} deployments x {} lines on {:?}, rate {}",
        args.deployments,
        args.lines,
        store.backend(),
        if args.rate > 0.0 {
            format!("{} lines/s", args.rate)
        } else {
            "flat out".into()
        }
    );

    let per_producer_interval =
        (args.rate > 0.0).then(|| Duration::from_secs_f64(args.deployments as f64 / args.rate));
    let start = Instant::now();
    let mut producers = Vec::new();
    for (k, dep) in deployments.iter().enumerate() {
        let (writer, dep, lines) = (writer.clone(), dep.id, args.lines);
        // Stagger paced producers so their lines interleave instead of arriving together.
        let offset = per_producer_interval.map(|i| i.mul_f64(k as f64 / args.deployments as f64));
        producers.push(tokio::spawn(produce(
            writer,
            dep,
            lines,
            start,
            per_producer_interval,
            offset,
        )));
    }
    let mut latencies_ms: Vec<f64> = Vec::with_capacity(args.deployments * args.lines);
    for p in producers {
        latencies_ms.extend(p.await??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let batches = writer.stats().batches.load(Ordering::Relaxed);
    task.shutdown().await;

    latencies_ms.sort_by(|a, b| a.total_cmp(b));
    let total = latencies_ms.len();
    let report = serde_json::json!({
        "bench": "ingest",
        "backend": format!("{:?}", store.backend()).to_lowercase(),
        "deployments": args.deployments,
        "lines_per_deployment": args.lines,
        "total_lines": total,
        "target_rate": args.rate,
        "seconds": round3(elapsed),
        "lines_per_s": (total as f64 / elapsed).round(),
        "p50_ms": round3(stats::percentile(&latencies_ms, 50.0)),
        "p99_ms": round3(stats::percentile(&latencies_ms, 99.0)),
        "max_ms": round3(latencies_ms.last().copied().unwrap_or(0.0)),
        "batches": batches,
        "avg_batch": if batches > 0 { (total as f64 / batches as f64).round() } else { 0.0 },
        "max_rss_mb": round3(stats::max_rss_mb()),
    });
    eprintln!(
        "ingest: {total} lines in {elapsed:.2}s = {:.0} lines/s; append->durable p50 {} ms, p99 {} ms; {batches} transactions",
        total as f64 / elapsed,
        report["p50_ms"],
        report["p99_ms"],
    );
    println!("{report}");
    store.close().await;
    Ok(())
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// One deployment's producer: appends its lines (paced when `interval` is set) and
/// returns each line's append→durable latency in milliseconds.
pub(super) async fn produce(
    writer: LogWriter,
    deployment: Uuid,
    lines: usize,
    start: Instant,
    interval: Option<Duration>,
    offset: Option<Duration>,
) -> anyhow::Result<Vec<f64>> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Receipt)>();
    let collector = tokio::spawn(async move {
        let mut out = Vec::with_capacity(lines);
        while let Some((t0, receipt)) = rx.recv().await {
            receipt.await?;
            out.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        anyhow::Ok(out)
    });
    for i in 0..lines {
        if let (Some(every), Some(offset)) = (interval, offset) {
            let due = start + offset + every.mul_f64(i as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        let t0 = Instant::now();
        let receipt = writer.append(synthetic_line(deployment, i, lines)).await?;
        tx.send((t0, receipt))
            .map_err(|_| anyhow::anyhow!("collector stopped"))?;
    }
    drop(tx);
    collector.await?
}

/// A realistic line: the stage advances with `i`, levels are mostly info, some lines carry data.
pub(super) fn synthetic_line(deployment: Uuid, i: usize, lines: usize) -> NewLog {
    let stage = &CATALOGUE[(i * WORKING_STAGES / lines.max(1)).min(WORKING_STAGES - 1)];
    let level = match i % 50 {
        0 => LogLevel::Debug,
        1..=2 => LogLevel::Error,
        3..=6 => LogLevel::Warning,
        _ => LogLevel::Info,
    };
    let mut log = NewLog::now(
        deployment,
        level,
        format!(
            "[{}/{}] {}: docker output line {i} for {} ({:.1}s)",
            i + 1,
            lines,
            stage.name,
            stage.id,
            i as f64 * 0.01
        ),
    );
    log.step = Some(stage.id.to_owned());
    log.progress_percent = progress_at(stage.stage);
    if i.is_multiple_of(10) {
        log.data = serde_json::json!({ "vm_ip": "165.22.65.97", "ssh_port": 22, "elapsed_seconds": i as f64 * 0.01 });
    }
    log
}
