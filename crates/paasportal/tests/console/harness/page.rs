//! Actions on the console's pages, by the selectors of /work/UI-CONTRACT.md.

use std::time::Duration;

use serde_json::json;

use super::chrome::{Browser, PATIENCE};

/// Fills and submits the login form (the page must be, or become, the login page).
pub async fn login(b: &Browser, email: &str, password: &str) {
    b.wait_page("login").await;
    let e = b.wait_css("#login-email").await;
    e.clear().await.unwrap();
    e.send_keys(email).await.unwrap();
    let p = b.wait_css("#login-password").await;
    p.clear().await.unwrap();
    p.send_keys(password).await.unwrap();
    b.wait_css("#login-submit").await.click().await.unwrap();
}

/// Waits until `#deployment-status` says `status`.
pub async fn wait_deployment_status(b: &Browser, status: &str, limit: Duration) {
    b.wait_js(
        &format!(
            "document.querySelector('#deployment-status') && \
             document.querySelector('#deployment-status').dataset.status === {status:?}"
        ),
        &format!("deployment status {status}"),
        limit,
    )
    .await;
}

/// Waits until the connection indicator says `live`.
pub async fn wait_live(b: &Browser) {
    b.wait_js(
        "document.querySelector('#conn') && document.querySelector('#conn').dataset.state === 'live'",
        "the connection indicator to say live",
        PATIENCE,
    )
    .await;
}

/// Every `.log-row` in the DOM: `[seq, level, text]`.
pub async fn rows(b: &Browser) -> Vec<(i64, String, String)> {
    let v = b
        .js(
            "return [...document.querySelectorAll('#log-viewer .log-row')].map(r => \
             [Number(r.dataset.seq), r.dataset.level, (r.querySelector('.log-msg') || r).textContent]);",
            vec![],
        )
        .await;
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[0].as_i64().unwrap(),
                r[1].as_str().unwrap_or_default().to_owned(),
                r[2].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Selects `value` in the `<select>` `css` and fires `change`.
pub async fn select(b: &Browser, css: &str, value: &str) {
    let ok = b
        .js(
            "const s = document.querySelector(arguments[0]); if (!s) return false; \
             s.value = arguments[1]; s.dispatchEvent(new Event('input', {bubbles: true})); \
             s.dispatchEvent(new Event('change', {bubbles: true})); return s.value === arguments[1];",
            vec![json!(css), json!(value)],
        )
        .await;
    assert_eq!(
        ok,
        json!(true),
        "cannot select {value} in {css}: {}",
        b.describe().await
    );
}

/// Installs a MutationObserver recording `Date.now()` when each `.log-row` seq first
/// appears in the DOM (`window.__ppPainted`: seq -> epoch ms).
pub async fn record_paints(b: &Browser) {
    b.js(
        "window.__ppPainted = new Map(); \
         const note = (n) => { if (n.nodeType !== 1) return; \
           const rows = n.matches('.log-row') ? [n] : n.querySelectorAll('.log-row'); \
           const t = Date.now(); \
           for (const r of rows) { const s = Number(r.dataset.seq); \
             if (!window.__ppPainted.has(s)) window.__ppPainted.set(s, t); } }; \
         new MutationObserver((ms) => { for (const m of ms) { \
           if (m.type === 'attributes') note(m.target); \
           for (const n of m.addedNodes) note(n); } }) \
           .observe(document.body, {childList: true, subtree: true, attributes: true, attributeFilter: ['data-seq']}); \
         return true;",
        vec![],
    )
    .await;
}

/// What [`record_paints`] recorded: `(seq, epoch ms)`.
pub async fn painted(b: &Browser) -> Vec<(i64, f64)> {
    let v = b
        .js(
            "return [...(window.__ppPainted || new Map()).entries()];",
            vec![],
        )
        .await;
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| (e[0].as_i64().unwrap(), e[1].as_f64().unwrap()))
        .collect()
}
