//! `POST /api/v1/environments/{id}/admin-password/reveal`: once, to project admins only,
//! 404 for those who cannot see the environment; on both backends.

mod common;

use common::TestApp;
use paasportal_core::ProjectRole;
use paasportal_testkit::fixtures::seed;
use serde_json::json;

on_both_backends!(admin_password_is_revealed_once_to_project_admins);

async fn admin_password_is_revealed_once_to_project_admins(app: TestApp) {
    let s = seed(app.store(), "pw").await;
    let other = seed(app.store(), "other").await;
    let path = format!(
        "/api/v1/environments/{}/admin-password/reveal",
        s.environment.id
    );
    let member = app.user("member@example.com", "pw-member-123", false).await;
    app.store()
        .upsert_project_member(s.project.id, member.id, ProjectRole::Member)
        .await
        .unwrap();
    app.store()
        .upsert_project_member(s.project.id, s.user.id, ProjectRole::Admin)
        .await
        .unwrap();
    let admin = app.token(s.user.id);

    let (status, body) = app.post(&path, Some(&admin), json!({})).await;
    assert_eq!(status, 409, "{body}");
    let sealed = app.state.secrets.seal("Generated-Admin-Pw-42");
    app.store()
        .set_admin_password_enc(s.environment.id, &sealed)
        .await
        .unwrap();

    let (status, _) = app.post(&path, None, json!({})).await;
    assert_eq!(status, 401);
    let (status, _) = app
        .post(&path, Some(&app.token(other.user.id)), json!({}))
        .await;
    assert_eq!(
        status, 404,
        "an outsider does not learn the environment exists"
    );
    let (status, body) = app
        .post(&path, Some(&app.token(member.id)), json!({}))
        .await;
    assert_eq!(status, 403, "{body}");

    let (status, body) = app.post(&path, Some(&admin), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["password"], "Generated-Admin-Pw-42");
    assert_eq!(body["login"], "admin");
    let (status, body) = app.post(&path, Some(&admin), json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert!(!body.to_string().contains("Generated-Admin-Pw-42"));
}
