//! Big logs: a 1,000,000-line deployment (written through the store) paints the tail of
//! its log within 2 s of navigation, measured in the page with the Performance API; a
//! deployment streaming 5,000 lines/s keeps the DOM to a few hundred rows and the JS
//! heap under 150 MB. The default run streams for 10 s
//! (`PAASPORTAL_TEST_CONSOLE_STREAM_SECS` changes it; the benchmark runs 60 s).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::harness::chrome::{Browser, PATIENCE};
use crate::harness::lines::{Lines, synthetic};
use crate::harness::portal::PortalOptions;
use crate::harness::world::{Target, deploy, world};
use crate::harness::{Console, page};

/// Most rows the viewer may keep in the DOM ("a few hundred").
pub const MAX_ROWS: u64 = 500;
/// Most JS heap while streaming.
pub const MAX_HEAP_BYTES: f64 = 150.0 * 1024.0 * 1024.0;

/// Opens `/deployments/{id}` with a full page load and returns the `pp:logs-first-paint`
/// mark's time since navigation start, in ms.
pub async fn time_to_first_lines(b: &Browser, id: &str) -> f64 {
    b.open(&format!("/deployments/{id}")).await;
    b.wait_page("deployment").await;
    let v = b
        .wait_js(
            "(() => { const m = performance.getEntriesByName('pp:logs-first-paint'); \
             return m.length ? m[0].startTime : null; })()",
            "the pp:logs-first-paint mark",
            Duration::from_secs(60),
        )
        .await;
    v.as_f64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_line_deployment_paints_its_tail_within_2_s() {
    const N: usize = 1_000_000;
    let c = Console::start(PortalOptions {
        worker_in_serve: false,
        ..Default::default()
    })
    .await;
    let w = world(&c.admin, "Million", Target::Closed, "odoo:18.0").await;
    let id = deploy(&c.admin, &w.environment).await;
    let lines = Lines::open(&c.portal.database_url()).await;
    let uuid = id.parse().unwrap();
    lines.start(uuid).await;
    let started = Instant::now();
    let seqs = lines.write(N, |i| synthetic(uuid, i, N)).await;
    eprintln!("wrote {N} lines in {:.1?}", started.elapsed());
    let last = *seqs.last().unwrap();
    lines.close().await;

    c.login_to("/", "home").await;
    let b = &c.browser;
    let ms = time_to_first_lines(b, &id).await;
    eprintln!("CONSOLE first lines of {N}: {ms:.0} ms");
    assert!(ms < 2000.0, "first lines painted after {ms:.0} ms");
    // What was painted is the tail, and only a window of it is in the DOM.
    b.wait_js(
        &format!("document.querySelector('#log-viewer .log-row[data-seq=\"{last}\"]')"),
        "the last line",
        PATIENCE,
    )
    .await;
    let rows = b.count("#log-viewer .log-row").await;
    assert!(rows > 0 && rows <= MAX_ROWS, "{rows} rows in the DOM");
    // Scrolling up fetches older lines and still keeps the DOM small.
    b.js(
        "const v = document.querySelector('#log-viewer'); v.scrollTop = 0; v.dispatchEvent(new Event('scroll')); return true;",
        vec![],
    )
    .await;
    let first_shown = page::rows(b).await[0].0;
    b.wait_js(
        &format!(
            "(() => {{ const v = document.querySelector('#log-viewer'); v.scrollTop = 0; v.dispatchEvent(new Event('scroll')); \
             const r = document.querySelector('#log-viewer .log-row'); return r && Number(r.dataset.seq) < {first_shown}; }})()"
        ),
        "older lines after scrolling up",
        PATIENCE,
    )
    .await;
    let rows = b.count("#log-viewer .log-row").await;
    assert!(
        rows <= MAX_ROWS,
        "{rows} rows in the DOM after scrolling up"
    );
    c.browser.close().await;
}

/// Streams `rate` lines/s for `secs` into a deployment open in the page; returns the
/// most DOM rows and JS heap seen (sampled every second), and the lines' paint latency.
pub struct StreamRun {
    pub max_rows: u64,
    pub max_heap: f64,
    /// `(written epoch ms, painted epoch ms)` of each line the page painted.
    pub latencies_ms: Vec<f64>,
    pub written: usize,
}

pub async fn stream_into_page(c: &Console, id: &str, rate: usize, secs: f64) -> StreamRun {
    let b = &c.browser;
    let lines = Lines::open(&c.portal.database_url()).await;
    let uuid = id.parse().unwrap();
    lines.start(uuid).await;
    b.open(&format!("/deployments/{id}")).await;
    b.wait_page("deployment").await;
    page::wait_live(b).await;
    page::wait_deployment_status(b, "running", PATIENCE).await;
    page::record_paints(b).await;
    let done = Arc::new(AtomicBool::new(false));
    let sampler = async {
        let (mut max_rows, mut max_heap) = (0u64, 0f64);
        while !done.load(Ordering::Relaxed) {
            max_rows = max_rows.max(b.count("#log-viewer .log-row").await);
            max_heap = max_heap.max(b.js_heap_bytes().await);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        (max_rows, max_heap)
    };
    let writer = async {
        let w = lines
            .stream(rate, secs, 0, |i| synthetic(uuid, i, 1_000_000))
            .await;
        done.store(true, Ordering::Relaxed);
        w
    };
    let ((max_rows, max_heap), written) = tokio::join!(sampler, writer);
    let last = written.last().unwrap().0;
    b.wait_js(
        &format!("window.__ppPainted && window.__ppPainted.has({last})"),
        "the last streamed line painted",
        Duration::from_secs(30),
    )
    .await;
    let painted: std::collections::HashMap<i64, f64> = page::painted(b).await.into_iter().collect();
    let latencies_ms = written
        .iter()
        .filter_map(|(seq, at)| painted.get(seq).map(|p| p - at))
        .collect();
    lines.close().await;
    StreamRun {
        max_rows,
        max_heap,
        latencies_ms,
        written: written.len(),
    }
}

/// The p-th percentile (0..=100) of `v`.
pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_5000_lines_a_second_keeps_the_dom_and_the_heap_bounded() {
    let secs: f64 = std::env::var("PAASPORTAL_TEST_CONSOLE_STREAM_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let c = Console::start(PortalOptions {
        worker_in_serve: false,
        ..Default::default()
    })
    .await;
    let w = world(&c.admin, "Stream", Target::Closed, "odoo:18.0").await;
    let id = deploy(&c.admin, &w.environment).await;
    c.login_to("/", "home").await;
    let run = stream_into_page(&c, &id, 5_000, secs).await;
    let mut lat = run.latencies_ms.clone();
    eprintln!(
        "CONSOLE stream 5000/s x {secs} s: {} written, max rows {}, max heap {:.1} MB, p50 {:.0} ms, p99 {:.0} ms",
        run.written,
        run.max_rows,
        run.max_heap / 1048576.0,
        percentile(&mut lat, 50.0),
        percentile(&mut lat, 99.0)
    );
    assert!(
        run.max_rows > 0 && run.max_rows <= MAX_ROWS,
        "{} rows in the DOM",
        run.max_rows
    );
    assert!(
        run.max_heap < MAX_HEAP_BYTES,
        "JS heap reached {:.1} MB",
        run.max_heap / 1048576.0
    );
    c.browser.close().await;
}
