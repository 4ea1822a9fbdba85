//! Logging in through the page, from a deep link.

use serde_json::json;

use crate::harness::portal::{ADMIN_EMAIL, ADMIN_PASSWORD, PortalOptions};
use crate::harness::world::{Target, deploy, world};
use crate::harness::{Console, page};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_link_survives_login() {
    let c = Console::start(PortalOptions {
        worker_in_serve: false,
        ..Default::default()
    })
    .await;
    let w = world(&c.admin, "Deep", Target::Closed, "odoo:18.0").await;
    let id = deploy(&c.admin, &w.environment).await;
    let b = &c.browser;
    let target = format!("/deployments/{id}");

    b.open(&target).await;
    b.wait_page("login").await;
    let at_login = b.path().await;
    assert!(
        at_login.starts_with("/login?next="),
        "a logged-out deep link goes to the login page: {at_login}"
    );
    assert!(
        at_login.contains(&id),
        "the login page keeps where to go next: {at_login}"
    );

    // A wrong password is refused on the page and nothing else happens.
    page::login(b, ADMIN_EMAIL, "not-the-password").await;
    b.wait_js(
        "document.querySelector('#login-error') && document.querySelector('#login-error').textContent.trim().length > 0",
        "the login error",
        crate::harness::chrome::PATIENCE,
    )
    .await;
    assert_eq!(
        b.js("return document.body.dataset.page;", vec![]).await,
        json!("login")
    );

    page::login(b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.wait_page("deployment").await;
    assert_eq!(
        b.path().await,
        target,
        "after login the app lands on the deep link"
    );
    b.wait_js(
        &format!("document.querySelector('#user-menu') && document.querySelector('#user-menu').textContent.includes({ADMIN_EMAIL:?})"),
        "the user menu with the e-mail",
        crate::harness::chrome::PATIENCE,
    )
    .await;
    b.wait_css("#deployment-status[data-status]").await;

    // The access token lives in memory only; the refresh cookie is HttpOnly.
    let stored = b
        .js(
            "return JSON.stringify(Object.assign({}, localStorage)) + JSON.stringify(Object.assign({}, sessionStorage)) + document.cookie;",
            vec![],
        )
        .await;
    let stored = stored.as_str().unwrap();
    assert!(
        !stored.contains("eyJ"),
        "a token is readable from script: {stored}"
    );
    assert!(!stored.contains("paasportal_refresh"), "{stored}");

    // A full reload keeps the session (refresh cookie) and the page.
    b.open(&target).await;
    b.wait_page("deployment").await;
    assert_eq!(b.path().await, target);
    b.close().await;
}
