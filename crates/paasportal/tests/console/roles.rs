//! A project viewer sees no Deploy or Cancel, and the API refuses them anyway; the
//! admin, on the same deployment, sees both.

use serde_json::json;

use crate::harness::Console;
use crate::harness::chrome::PATIENCE;
use crate::harness::lines::Lines;
use crate::harness::page;
use crate::harness::portal::PortalOptions;
use crate::harness::world::{Target, deploy, member, world};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_no_deploy_or_cancel_and_the_api_refuses_them() {
    let c = Console::start(PortalOptions {
        worker_in_serve: false,
        ..Default::default()
    })
    .await;
    let w = world(&c.admin, "Roles", Target::Closed, "odoo:18.0").await;
    let id = deploy(&c.admin, &w.environment).await;
    let lines = Lines::open(&c.portal.database_url()).await;
    lines.start(id.parse().unwrap()).await;
    let email = "viewer@console.test";
    let viewer = member(&c.admin, &c.portal.base, email, &w.project, "viewer").await;
    let b = &c.browser;
    let env = format!(".environment[data-env-id=\"{}\"]", w.environment);

    // The admin: Deploy on the environment, Cancel on the running deployment.
    c.login_to("/", "home").await;
    b.wait_css(&env).await;
    assert!(
        b.exists(&format!("{env} .deploy-btn")).await,
        "{}",
        b.describe().await
    );
    b.open(&format!("/deployments/{id}")).await;
    page::wait_deployment_status(b, "running", PATIENCE).await;
    b.wait_css("#cancel-btn").await;

    // The viewer.
    b.wait_css("#logout").await.click().await.unwrap();
    b.wait_page("login").await;
    page::login(b, email, "member-password-1").await;
    b.wait_page("home").await;
    b.wait_css(&env).await;
    assert!(
        !b.exists(&format!("{env} .deploy-btn")).await,
        "a viewer sees Deploy"
    );
    assert!(!b.exists(".deploy-btn").await);
    b.open(&format!("/deployments/{id}")).await;
    b.wait_page("deployment").await;
    page::wait_deployment_status(b, "running", PATIENCE).await;
    assert!(!b.exists("#cancel-btn").await, "a viewer sees Cancel");
    assert!(!b.exists("#redeploy-btn").await, "a viewer sees Redeploy");

    let (st, body) = viewer
        .post("/deployments", json!({"environment_id": w.environment}))
        .await;
    assert_eq!(st, 403, "{body}");
    let (st, body) = viewer
        .post(&format!("/deployments/{id}/cancel"), json!({}))
        .await;
    assert_eq!(st, 403, "{body}");
    lines.close().await;
    c.browser.close().await;
}
