//! The log viewer of a running deployment with lines written through the store: the
//! level filter and the server-side search.

use std::time::Duration;

use fantoccini::key::Key;

use crate::harness::chrome::PATIENCE;
use crate::harness::lines::{Lines, synthetic};
use crate::harness::portal::PortalOptions;
use crate::harness::world::{Target, deploy, world};
use crate::harness::{Console, page};

const LINES: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_level_filter_shows_only_errors_and_search_asks_the_server() {
    let c = Console::start(PortalOptions {
        worker_in_serve: false,
        ..Default::default()
    })
    .await;
    let w = world(&c.admin, "Viewer", Target::Closed, "odoo:18.0").await;
    let id = deploy(&c.admin, &w.environment).await;
    let lines = Lines::open(&c.portal.database_url()).await;
    let uuid = id.parse().unwrap();
    lines.start(uuid).await;
    lines.write(LINES, |i| synthetic(uuid, i, LINES)).await;
    let errors: Vec<i64> = c
        .admin
        .all_logs(&id)
        .await
        .iter()
        .filter(|l| l["level"] == "error")
        .map(|l| l["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(errors.len(), LINES / 100);

    c.login_to(&format!("/deployments/{id}"), "deployment")
        .await;
    let b = &c.browser;
    b.wait_js(
        "document.querySelectorAll('#log-viewer .log-row').length > 0",
        "the first rows",
        PATIENCE,
    )
    .await;

    page::select(b, "#log-level", "error").await;
    b.wait_js(
        &format!(
            "(() => {{ const r = [...document.querySelectorAll('#log-viewer .log-row')]; \
             return r.length === {} && r.every(x => x.dataset.level === 'error'); }})()",
            errors.len()
        ),
        "only the error rows",
        PATIENCE,
    )
    .await;
    let shown = page::rows(b).await;
    let seqs: Vec<i64> = shown.iter().map(|r| r.0).collect();
    assert_eq!(
        seqs, errors,
        "exactly the deployment's error lines, in order"
    );
    assert!(
        shown.iter().all(|r| r.2.contains("ERROR-MARK")),
        "{shown:?}"
    );

    page::select(b, "#log-level", "all").await;
    b.wait_js(
        "[...document.querySelectorAll('#log-viewer .log-row')].some(x => x.dataset.level === 'info')",
        "every level again",
        PATIENCE,
    )
    .await;

    let search = b.wait_css("#log-search").await;
    search.send_keys("needle-777").await.unwrap();
    search
        .send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    b.wait_js(
        "(() => { const r = [...document.querySelectorAll('#log-viewer .log-row')]; \
         return r.length === 1 && r[0].textContent.includes('needle-777'); })()",
        "the one matching line",
        PATIENCE,
    )
    .await;
    let asked = b
        .js(
            "return performance.getEntriesByType('resource').map(e => e.name) \
             .filter(n => n.includes('/api/v1/deployments/') && n.includes('needle-777'));",
            vec![],
        )
        .await;
    assert!(
        !asked.as_array().unwrap().is_empty(),
        "the search went to the server"
    );
    // The match is line 777's.
    let all = c.admin.all_logs(&id).await;
    let needle = all
        .iter()
        .find(|l| l["message"].as_str().unwrap().contains("needle-777"))
        .unwrap()["seq"]
        .as_i64()
        .unwrap();
    assert_eq!(page::rows(b).await[0].0, needle);
    tokio::time::sleep(Duration::from_millis(10)).await;
    lines.close().await;
    c.browser.close().await;
}
