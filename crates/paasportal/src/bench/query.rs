//! `paasportal bench query`: history queries over HTTP against a running `serve`, on the
//! data of `bench fill`. Medians of sequential keep-alive requests, like the baseline's
//! `query_bench.py`; with `--database-url`, also the database's plans for the log
//! queries, and a failure when they do not use the log index.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use paasportal_core::LogLevel;
use paasportal_store::ConnectOptions;
use paasportal_store::logs::LogQuery;
use serde::Deserialize;
use uuid::Uuid;

use super::stats;
use crate::startup;

/// Arguments of `bench query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Base URL of the `serve` replica.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The JSON line `bench fill` printed (its `--out` file).
    #[arg(long)]
    pub fill: PathBuf,
    /// Timed requests per query.
    #[arg(short = 'n', long, default_value_t = 50)]
    pub requests: usize,
    /// Untimed requests before them.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// The filled database: prints the log queries' plans and checks they use the index.
    #[arg(long)]
    pub database_url: Option<String>,
}

/// What `bench fill` printed, as far as this benchmark needs it.
#[derive(Debug, Deserialize)]
struct Fill {
    email: String,
    password: String,
    sample_deployments: Vec<Uuid>,
    sample_projects: Vec<Uuid>,
}

/// The index every per-deployment log query must use.
const LOG_INDEX: &str = "idx_log_deployment_time";

/// Runs the benchmark.
pub async fn run(args: QueryArgs) -> anyhow::Result<()> {
    let fill: Fill = serde_json::from_str(&std::fs::read_to_string(&args.fill)?)?;
    let (Some(&deployment), Some(&project)) = (
        fill.sample_deployments.first(),
        fill.sample_projects.first(),
    ) else {
        anyhow::bail!("{}: no sample deployment", args.fill.display());
    };
    let base = args.url.trim_end_matches('/');
    let client = reqwest::Client::builder().build()?;
    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "email": fill.email, "password": fill.password }))
        .send()
        .await?;
    anyhow::ensure!(
        login.status().is_success(),
        "login as {} failed: {} {}",
        fill.email,
        login.status(),
        login.text().await.unwrap_or_default()
    );
    let token = login.json::<serde_json::Value>().await?["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("login answered without access_token"))?
        .to_owned();

    let queries = [
        (
            "logs_limit500",
            format!("/api/v1/deployments/{deployment}/logs?limit=500"),
        ),
        (
            "logs_error_limit100",
            format!("/api/v1/deployments/{deployment}/logs?level=error&limit=100"),
        ),
        (
            "stats",
            format!("/api/v1/deployments/project/{project}/stats"),
        ),
        (
            "trends",
            format!("/api/v1/deployments/project/{project}/trends?days=30"),
        ),
    ];
    let mut report = serde_json::json!({
        "bench": "query",
        "url": base,
        "deployment": deployment,
        "project": project,
        "requests": args.requests,
    });
    for (name, path) in &queries {
        let mut ms = Vec::with_capacity(args.requests);
        let mut bytes = 0;
        let mut rows = None;
        for i in 0..args.warmup + args.requests {
            let t0 = Instant::now();
            let resp = client
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await?;
            let status = resp.status();
            let body = resp.bytes().await?;
            let took = t0.elapsed().as_secs_f64() * 1000.0;
            anyhow::ensure!(
                status.is_success(),
                "GET {path}: {status} {}",
                String::from_utf8_lossy(&body)
            );
            if i >= args.warmup {
                ms.push(took);
            }
            bytes = body.len();
            rows = serde_json::from_slice::<serde_json::Value>(&body)?["logs"]
                .as_array()
                .map(Vec::len);
        }
        ms.sort_by(f64::total_cmp);
        let summary = serde_json::json!({
            "path": path,
            "median_ms": round2(stats::percentile(&ms, 50.0)),
            "p90_ms": round2(stats::percentile(&ms, 90.0)),
            "min_ms": round2(ms.first().copied().unwrap_or(0.0)),
            "max_ms": round2(ms.last().copied().unwrap_or(0.0)),
            "rows": rows,
            "bytes": bytes,
        });
        eprintln!(
            "query: {name:<20} median {} ms  p90 {} ms  ({bytes} B)",
            summary["median_ms"], summary["p90_ms"]
        );
        report[*name] = summary;
    }
    if let Some(url) = &args.database_url {
        report["plans"] = plans(url, deployment).await?;
    }
    println!("{report}");
    Ok(())
}

/// The plans of the two log queries; an error when one does not use [`LOG_INDEX`].
async fn plans(database_url: &str, deployment: Uuid) -> anyhow::Result<serde_json::Value> {
    let store = startup::open_store(database_url, &ConnectOptions::default()).await?;
    let mut out = serde_json::Map::new();
    for (name, level, limit) in [
        ("logs_limit500", None, 500),
        ("logs_error_limit100", Some(LogLevel::Error), 100),
    ] {
        let q = LogQuery {
            level,
            text: None,
            skip: 0,
            limit,
            ..Default::default()
        };
        let plan = store.explain_list_logs(deployment, &q).await?;
        eprintln!("plan of {name}:\n  {}", plan.join("\n  "));
        anyhow::ensure!(
            plan.iter().any(|l| l.contains(LOG_INDEX)),
            "{name} does not use {LOG_INDEX}:\n{}",
            plan.join("\n")
        );
        out.insert(name.into(), serde_json::json!(plan));
    }
    store.close().await;
    Ok(out.into())
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
