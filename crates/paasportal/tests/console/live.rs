//! Watching real deployments live: the standard pipeline on the test sshd and the
//! testbed, from the first stage to 100 %; and across a restart of `serve` (the
//! deployment runs in a separate worker process), every line exactly once.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;

use crate::harness::chrome::{Browser, PATIENCE};
use crate::harness::lines::Lines;
use crate::harness::portal::PortalOptions;
use crate::harness::testbed::{ODOO_IMAGE, Testbed};
use crate::harness::world::{Target, deploy, status, world};
use crate::harness::{Console, page};

const DEPLOY_LIMIT: Duration = Duration::from_secs(240);

/// Records every `data-status` of `#deployment-status` and `aria-valuenow` of `#progress`
/// the page shows (`window.__ppSeen`).
async fn watch_progress(b: &Browser) {
    b.js(
        "window.__ppSeen = {status: [], progress: []}; \
         const look = () => { const s = document.querySelector('#deployment-status'); \
           const p = document.querySelector('#progress'); \
           if (s) { const v = s.dataset.status; const a = window.__ppSeen.status; if (a[a.length - 1] !== v) a.push(v); } \
           if (p) { const v = Number(p.getAttribute('aria-valuenow')); const a = window.__ppSeen.progress; if (a[a.length - 1] !== v) a.push(v); } }; \
         look(); new MutationObserver(look).observe(document.body, {subtree: true, childList: true, attributes: true}); \
         return true;",
        vec![],
    )
    .await;
}

/// Every stage on the page: `(id, status, duration text)`.
async fn stages(b: &Browser) -> Vec<(String, String, String)> {
    let v = b
        .js(
            "return [...document.querySelectorAll('li.stage')].map(s => [s.dataset.stage, s.dataset.status, \
             (s.querySelector('.stage-duration') || {textContent: ''}).textContent.trim()]);",
            vec![],
        )
        .await;
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s[0].as_str().unwrap_or_default().to_owned(),
                s[1].as_str().unwrap_or_default().to_owned(),
                s[2].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_on_the_testbed_reaches_100_percent_with_every_stage_completed() {
    let mut bed = Testbed::require();
    let c = Console::start(PortalOptions {
        worker_in_serve: true,
        env: bed.portal_env(),
    })
    .await;
    let w = world(&c.admin, "Live", Target::Sshd, ODOO_IMAGE).await;
    let lines = Lines::open(&c.portal.database_url()).await;
    bed.equip(&c.admin, &lines.store, &c.portal.secrets, &w)
        .await;
    c.login_to("/", "home").await;
    let b = &c.browser;
    page::wait_live(b).await;

    let id = deploy(&c.admin, &w.environment).await;
    b.open(&format!("/deployments/{id}")).await;
    b.wait_page("deployment").await;
    watch_progress(b).await;
    page::wait_deployment_status(b, "success", DEPLOY_LIMIT).await;
    assert_eq!(
        status(&c.admin, &id).await,
        "success",
        "{}",
        c.portal.logs()
    );

    let seen = b.js("return window.__ppSeen;", vec![]).await;
    let statuses = seen["status"].as_array().unwrap();
    assert!(
        statuses.contains(&json!("running")),
        "the page watched the deployment run: {seen}"
    );
    let progress: Vec<i64> = seen["progress"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_i64())
        .collect();
    assert!(
        progress.iter().any(|p| *p > 0 && *p < 100),
        "the bar moved through intermediate values: {progress:?}"
    );
    b.wait_js(
        "document.querySelector('#progress').getAttribute('aria-valuenow') === '100'",
        "the bar at 100 %",
        PATIENCE,
    )
    .await;
    // Stage rows are recorded off the run's critical path: the last ones may land just
    // after the deployment's status; the page shows them as they arrive.
    let settled = "(() => { const s = [...document.querySelectorAll('li.stage')]; \
                   return s.length === 17 && s.every(x => x.dataset.status === 'completed'); })()";
    let deadline = std::time::Instant::now() + PATIENCE;
    while std::time::Instant::now() < deadline
        && b.js(&format!("return {settled};"), vec![]).await != json!(true)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let st = stages(b).await;
    let rest = c.admin.get_ok(&format!("/deployments/{id}/progress")).await;
    assert_eq!(
        st.len(),
        17,
        "every stage of the catalogue is listed: {st:?}\n{rest}"
    );
    for (stage, s, duration) in &st {
        assert_eq!(s, "completed", "stage {stage} is not ✓: {st:?}\n{rest}");
        assert!(
            !duration.is_empty(),
            "stage {stage} shows its duration: {st:?}"
        );
    }
    assert!(
        progress.windows(2).all(|w| w[0] <= w[1]),
        "the bar never goes back: {progress:?}"
    );
    // The log viewer holds the deployment's last line.
    let all = c.admin.all_logs(&id).await;
    let last = all.last().unwrap()["seq"].as_i64().unwrap();
    b.wait_js(
        &format!("document.querySelector('#log-viewer .log-row[data-seq=\"{last}\"]')"),
        "the last line in the viewer",
        PATIENCE,
    )
    .await;
    lines.close().await;
    c.browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_resumes_after_serve_restarts_with_every_line_exactly_once() {
    let mut bed = Testbed::require();
    let mut c = Console::start(PortalOptions {
        worker_in_serve: false,
        env: bed.portal_env(),
    })
    .await;
    c.portal.start_worker().await;
    let w = world(&c.admin, "Restart", Target::Sshd, ODOO_IMAGE).await;
    let lines = Lines::open(&c.portal.database_url()).await;
    bed.equip(&c.admin, &lines.store, &c.portal.secrets, &w)
        .await;
    c.login_to("/", "home").await;
    page::wait_live(&c.browser).await;

    let id = deploy(&c.admin, &w.environment).await;
    c.browser.open(&format!("/deployments/{id}")).await;
    c.browser.wait_page("deployment").await;
    // Some lines arrived live, then serve goes away mid-deployment.
    c.browser
        .wait_js(
            "document.querySelectorAll('#log-viewer .log-row').length >= 3 && \
             document.querySelector('#deployment-status').dataset.status === 'running'",
            "the first lines of the running deployment",
            Duration::from_secs(60),
        )
        .await;
    c.portal.stop_serve();
    c.browser
        .wait_js(
            "['reconnecting', 'connecting', 'gave-up'].includes(document.querySelector('#conn').dataset.state)",
            "the indicator to notice the lost connection",
            PATIENCE,
        )
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let d = lines
        .store
        .get_deployment(id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        d.status.as_str(),
        "running",
        "the deployment goes on while serve is down"
    );
    c.portal.start_serve().await;
    page::wait_live(&c.browser).await;
    page::wait_deployment_status(&c.browser, "success", DEPLOY_LIMIT).await;

    let all = c.admin.all_logs(&id).await;
    let rest: Vec<i64> = all.iter().map(|l| l["seq"].as_i64().unwrap()).collect();
    // Lines keep arriving until the page has the last one.
    let last = *rest.last().unwrap();
    c.browser
        .wait_js(
            &format!("window.__pp && window.__pp.receivedSeqs().includes({last})"),
            "the last line received",
            PATIENCE,
        )
        .await;
    let got: Vec<i64> = serde_json::from_value(
        c.browser
            .js("return window.__pp.receivedSeqs();", vec![])
            .await,
    )
    .unwrap();
    let unique: BTreeSet<i64> = got.iter().copied().collect();
    assert_eq!(unique.len(), got.len(), "a line arrived twice: {got:?}");
    let want: BTreeSet<i64> = rest.iter().copied().collect();
    let missing: Vec<_> = want.difference(&unique).collect();
    let extra: Vec<_> = unique.difference(&want).collect();
    let diag = if missing.is_empty() && extra.is_empty() {
        serde_json::Value::Null
    } else {
        c.browser
            .js(
                "return {held: window.__pp.view.lines.slice(0, 6).map(l => l.seq), \
                 received: window.__pp.receivedSeqs().slice(0, 12), \
                 fetches: performance.getEntriesByType('resource').map(e => e.name) \
                   .filter(n => n.includes('/api/v1/')).map(n => n.replace(location.origin, ''))};",
                vec![],
            )
            .await
    };
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the page has {} lines, the API {}; missing {missing:?}, extra {extra:?}; the page: {diag}",
        got.len(),
        rest.len()
    );
    lines.close().await;
    c.browser.close().await;
}
