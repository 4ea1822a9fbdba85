//! NUL characters in input are a 422 naming the field on both backends, never a 500
//! (PostgreSQL cannot store U+0000 in text).

mod common;

use common::TestApp;
use paasportal_testkit::fixtures::seed;
use serde_json::{Value, json};

on_both_backends!(
    login_with_nul_is_422_naming_the_field,
    log_search_with_nul_is_422,
    json_strings_with_nul_are_422,
);

fn names(body: &Value, field: &str) -> bool {
    body["detail"][0]["loc"]
        .as_array()
        .is_some_and(|loc| loc.last().and_then(Value::as_str) == Some(field))
        && body["detail"][0]["msg"]
            .as_str()
            .is_some_and(|m| m.contains("NUL"))
}

async fn login_with_nul_is_422_naming_the_field(app: TestApp) {
    app.user("a@example.com", "correct horse battery", false)
        .await;
    let (status, body) = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "a\u{0}@example.com", "password": "x"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(names(&body, "email"), "{body}");
    let (status, body) = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "a@example.com", "password": "correct\u{0}horse"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(names(&body, "password"), "{body}");
    app.login("a@example.com", "correct horse battery").await;
}

async fn log_search_with_nul_is_422(app: TestApp) {
    let s = seed(app.store(), "nul").await;
    let admin = app
        .user("admin@example.com", "correct horse battery", true)
        .await;
    let token = app.token(admin.id);
    let path = format!("/api/v1/deployments/{}/logs", s.deployment.id);
    let (status, body) = app.get(&format!("{path}?q=%00"), Some(&token)).await;
    assert_eq!(status, 422, "{body}");
    assert!(names(&body, "q"), "{body}");
    let (status, _) = app.get(&format!("{path}?q=%2500"), Some(&token)).await;
    assert_eq!(status, 200, "a literal %00 is ordinary text");
}

async fn json_strings_with_nul_are_422(app: TestApp) {
    let admin = app
        .user("admin@example.com", "correct horse battery", true)
        .await;
    let token = app.token(admin.id);
    let (status, body) = app
        .post(
            "/api/v1/organizations",
            Some(&token),
            json!({"name": "Acme\u{0}"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(names(&body, "name"), "{body}");
    let (status, body) = app
        .post(
            "/api/v1/users",
            Some(&token),
            json!({"email": "b@example.com", "password": "long enough pw", "name": "B\u{0}"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(names(&body, "name"), "{body}");
    let (status, body) = app
        .post(
            "/api/v1/organizations",
            Some(&token),
            json!({"name": "Acme \\u0000"}),
        )
        .await;
    assert_eq!(status, 201, "an escaped backslash is ordinary text: {body}");
}
