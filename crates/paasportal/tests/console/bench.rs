//! The console's benchmark and its screenshots, run on demand (ignored by default; see
//! docs/BENCHMARKS.md "Web console" and docs/screenshots/):
//!
//! ```sh
//! cargo nextest run -p paasportal --test console --run-ignored only -E 'test(bench_console)' --no-capture
//! cargo nextest run -p paasportal --test console --run-ignored only -E 'test(screenshots)'
//! ```
//!
//! `bench_console`: time to first lines (the page's `pp:logs-first-paint` mark after a full
//! navigation) of 10k / 100k / 1M-line deployments, DOM rows and JS heap then; paint
//! latency (LogWriter append -> MutationObserver sees the row) p50/p99 at 100 and 5,000
//! lines/s with the most DOM rows and JS heap while streaming. `PAASPORTAL_BENCH_RUNS`
//! (default 5) page loads per size; `PAASPORTAL_BENCH_STREAM_SECS` (default 60) per rate;
//! `PAASPORTAL_BENCH_SIZES` / `PAASPORTAL_BENCH_RATES` (comma-separated; empty for none)
//! choose the sizes and rates.
//! Prints one `CONSOLE_BENCH {json}` line per measurement.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::big_logs::{percentile, stream_into_page, time_to_first_lines};
use crate::harness::chrome::PATIENCE;
use crate::harness::lines::{Lines, synthetic};
use crate::harness::portal::PortalOptions;
use crate::harness::testbed::{ODOO_IMAGE, Testbed};
use crate::harness::world::{Target, deploy, world};
use crate::harness::{Console, history, page};

fn env_num(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}: {s:?} is not a number"))
            })
            .collect(),
        Err(_) => default.to_vec(),
    }
}

fn median(v: &mut [f64]) -> f64 {
    percentile(v, 50.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --run-ignored only -E 'test(bench_console)'"]
async fn bench_console() {
    let runs = env_num("PAASPORTAL_BENCH_RUNS", 5.0) as usize;
    let secs = env_num("PAASPORTAL_BENCH_STREAM_SECS", 60.0);
    let c = Console::start(PortalOptions {
        worker_in_serve: false,
        ..Default::default()
    })
    .await;
    c.login_to("/", "home").await;
    let b = &c.browser;
    for n in env_list("PAASPORTAL_BENCH_SIZES", &[10_000, 100_000, 1_000_000]) {
        let w = world(&c.admin, &format!("Size {n}"), Target::Closed, "odoo:18.0").await;
        let id = deploy(&c.admin, &w.environment).await;
        let lines = Lines::open(&c.portal.database_url()).await;
        let uuid = id.parse().unwrap();
        lines.start(uuid).await;
        lines.write(n, |i| synthetic(uuid, i, n)).await;
        lines.close().await;
        let (mut ttfl, mut rows, mut heap) = (vec![], vec![], vec![]);
        for _ in 0..runs {
            ttfl.push(time_to_first_lines(b, &id).await);
            rows.push(b.count("#log-viewer .log-row").await as f64);
            heap.push(b.js_heap_bytes().await / 1048576.0);
        }
        println!(
            "CONSOLE_BENCH {}",
            json!({"bench": "first_lines", "lines": n, "runs_ms": ttfl.clone(),
                   "median_ms": median(&mut ttfl), "dom_rows": median(&mut rows),
                   "heap_mb": median(&mut heap)})
        );
    }
    for (i, rate) in env_list("PAASPORTAL_BENCH_RATES", &[100, 5_000])
        .into_iter()
        .enumerate()
    {
        let w = world(
            &c.admin,
            &format!("Rate {rate} {i}"),
            Target::Closed,
            "odoo:18.0",
        )
        .await;
        let id = deploy(&c.admin, &w.environment).await;
        let run = stream_into_page(&c, &id, rate, secs).await;
        let mut lat = run.latencies_ms.clone();
        println!(
            "CONSOLE_BENCH {}",
            json!({"bench": "stream", "rate": rate, "secs": secs, "written": run.written,
                   "painted": run.latencies_ms.len(),
                   "p50_ms": percentile(&mut lat, 50.0), "p99_ms": percentile(&mut lat, 99.0),
                   "max_ms": percentile(&mut lat, 100.0),
                   "max_dom_rows": run.max_rows, "max_heap_mb": run.max_heap / 1048576.0})
        );
    }
    c.browser.close().await;
}

/// docs/screenshots/ of the repository.
fn screenshots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes docs/screenshots/: run with --run-ignored only -E 'test(screenshots)'"]
async fn screenshots() {
    let mut bed = Testbed::require();
    let c = Console::start(PortalOptions {
        worker_in_serve: true,
        env: bed.portal_env(),
    })
    .await;
    let w = world(&c.admin, "Acme", Target::Sshd, ODOO_IMAGE).await;
    let lines = Lines::open(&c.portal.database_url()).await;
    bed.equip(&c.admin, &lines.store, &c.portal.secrets, &w)
        .await;
    history::month(
        &lines.store,
        w.project.parse().unwrap(),
        w.environment.parse().unwrap(),
        w.server.parse().unwrap(),
        30,
    )
    .await;
    lines.close().await;
    let id = deploy(&c.admin, &w.environment).await;
    c.login_to(&format!("/deployments/{id}"), "deployment")
        .await;
    let b = &c.browser;
    page::wait_deployment_status(b, "success", Duration::from_secs(240)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let dir = screenshots_dir();
    for scheme in ["light", "dark"] {
        b.color_scheme(scheme).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        std::fs::write(
            dir.join(format!("deployment-{scheme}.png")),
            b.screenshot().await,
        )
        .unwrap();
    }
    b.color_scheme("light").await;
    b.open(&format!("/projects/{}/stats", w.project)).await;
    b.wait_page("stats").await;
    b.wait_css("svg#trend-chart").await;
    b.wait_js(
        "document.querySelectorAll('table#stage-times tr').length > 3",
        "the stage times",
        PATIENCE,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    std::fs::write(dir.join("stats.png"), b.screenshot().await).unwrap();
    c.browser.close().await;
}
