//! Acting on deployments from the page: Cancel stops a running deployment (held in
//! `connecting` by a server that never answers); a failed deployment (a closed SSH port)
//! raises a toast with its error, and its page shows the error panel.

use std::time::Duration;

use fantoccini::Locator;

use crate::harness::chrome::PATIENCE;
use crate::harness::portal::PortalOptions;
use crate::harness::world::{Target, deploy, status, world};
use crate::harness::{Console, page};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_from_the_page_stops_the_running_deployment() {
    let c = Console::start(PortalOptions {
        worker_in_serve: true,
        env: vec![("PAASPORTAL_SSH_CONNECT_TIMEOUT_SECS".into(), "600".into())],
    })
    .await;
    let w = world(&c.admin, "Cancel", Target::Tarpit, "odoo:18.0").await;
    let id = deploy(&c.admin, &w.environment).await;
    c.login_to(&format!("/deployments/{id}"), "deployment")
        .await;
    let b = &c.browser;
    page::wait_deployment_status(b, "running", PATIENCE).await;
    b.wait_css("li.stage[data-stage=\"connecting\"][data-status=\"running\"]")
        .await;

    b.wait_css("#cancel-btn").await.click().await.unwrap();
    // A native confirm() or the page's own confirmation, whichever the page uses.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = c.browser.client.accept_alert().await;
    if let Ok(confirm) = c.browser.client.find(Locator::Css("#cancel-confirm")).await {
        confirm.click().await.unwrap();
    }
    page::wait_deployment_status(b, "cancelled", Duration::from_secs(30)).await;
    assert_eq!(
        status(&c.admin, &id).await,
        "cancelled",
        "{}",
        c.portal.logs()
    );
    assert!(
        !b.exists("#cancel-btn").await,
        "no Cancel on a finished deployment"
    );
    c.browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_deployment_raises_a_toast_with_its_error() {
    let c = Console::start(PortalOptions::default()).await;
    let w = world(&c.admin, "Failing", Target::Closed, "odoo:18.0").await;
    c.login_to("/", "home").await;
    let b = &c.browser;
    page::wait_live(b).await;

    let id = deploy(&c.admin, &w.environment).await;
    let toast = format!(".toast[data-status=\"failed\"][data-deployment-id=\"{id}\"]");
    b.wait_js(
        &format!("document.querySelector('#toasts {toast}')"),
        "the failure toast",
        Duration::from_secs(30),
    )
    .await;
    let d = c.admin.get_ok(&format!("/deployments/{id}")).await;
    assert_eq!(d["status"], "failed");
    let error = d["error_message"].as_str().unwrap().to_owned();
    let text = b
        .wait_css(&format!("#toasts {toast}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(&error),
        "the toast {text:?} shows the error {error:?}"
    );
    assert!(
        text.contains("production"),
        "the toast names the environment: {text:?}"
    );

    // The deployment page explains it: code, summary, hints from the line's data.
    let lines = c.admin.all_logs(&id).await;
    let failure = lines
        .iter()
        .rev()
        .find(|l| l["data"]["error_code"].is_string())
        .unwrap_or_else(|| panic!("no line with an error_code: {lines:#?}"));
    let code = failure["data"]["error_code"].as_str().unwrap();
    b.open(&format!("/deployments/{id}")).await;
    b.wait_page("deployment").await;
    page::wait_deployment_status(b, "failed", PATIENCE).await;
    let panel = b
        .wait_css("#error-panel .error-code")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        panel.contains(code),
        "error panel code {panel:?}, line's {code:?}"
    );
    let summary = b
        .wait_css("#error-panel .error-summary")
        .await
        .text()
        .await
        .unwrap();
    assert!(!summary.trim().is_empty());
    if let Some(hints) = failure["data"]["troubleshooting"].as_array() {
        assert_eq!(
            b.count("#error-panel ul.hints > li").await as usize,
            hints.len(),
            "every hint of {failure}"
        );
    }
    c.browser.close().await;
}
