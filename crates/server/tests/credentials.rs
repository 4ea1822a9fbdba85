//! Changing credentials: one's own password needs the current one; a new password or
//! e-mail (by the user or a portal admin) ends every session: refresh tokens and stream
//! tickets stop working.

mod common;

use common::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    own_password_change_needs_the_current_password,
    admin_reset_revokes_sessions,
    email_change_revokes_sessions,
);

/// A refresh token and a stream ticket of a fresh login.
async fn session(app: &TestApp, email: &str, pw: &str) -> (String, String, String) {
    let tokens = app.login(email, pw).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, t) = app
        .post("/api/v1/events/ticket", Some(&access), json!({}))
        .await;
    assert_eq!(status, 200);
    (access, refresh, t["ticket"].as_str().unwrap().to_owned())
}

/// (refresh status, stream-with-ticket status).
async fn still_works(app: &TestApp, refresh: &str, ticket: &str) -> (u16, u16) {
    let (r, _) = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh}),
        )
        .await;
    let s = app
        .http
        .get(app.url(&format!("/api/v1/events/stream?ticket={ticket}")))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    (r, s)
}

async fn patch(app: &TestApp, token: &str, id: uuid::Uuid, body: Value) -> (u16, Value) {
    app.send(
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(token),
        Some(body),
    )
    .await
}

async fn own_password_change_needs_the_current_password(app: TestApp) {
    let me = app.user("me@example.com", "old password 123", false).await;
    let (access, refresh, ticket) = session(&app, "me@example.com", "old password 123").await;

    let (status, body) = patch(
        &app,
        &access,
        me.id,
        json!({"password": "new password 456"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["current_password"]));
    let (status, _) = patch(
        &app,
        &access,
        me.id,
        json!({"password": "new password 456", "current_password": "not it"}),
    )
    .await;
    assert_eq!(status, 403);
    app.login("me@example.com", "old password 123").await;

    let (status, body) = patch(
        &app,
        &access,
        me.id,
        json!({"password": "new password 456", "current_password": "old password 123"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(still_works(&app, &refresh, &ticket).await, (401, 401));
    app.login("me@example.com", "new password 456").await;
}

async fn admin_reset_revokes_sessions(app: TestApp) {
    let admin = app
        .user("admin@example.com", "admin password 1", true)
        .await;
    let user = app.user("u@example.com", "user password 1", false).await;
    let (_, refresh, ticket) = session(&app, "u@example.com", "user password 1").await;
    let (status, body) = patch(
        &app,
        &app.token(admin.id),
        user.id,
        json!({"password": "reset password 2"}),
    )
    .await;
    assert_eq!(
        status, 200,
        "an admin reset needs no current password: {body}"
    );
    assert_eq!(still_works(&app, &refresh, &ticket).await, (401, 401));
    app.login("u@example.com", "reset password 2").await;
}

async fn email_change_revokes_sessions(app: TestApp) {
    let me = app.user("me@example.com", "my password 123", false).await;
    let (access, refresh, ticket) = session(&app, "me@example.com", "my password 123").await;
    let (_, kept_refresh, kept_ticket) = {
        // A name change keeps sessions.
        let (status, _) = patch(&app, &access, me.id, json!({"name": "Me Myself"})).await;
        assert_eq!(status, 200);
        session(&app, "me@example.com", "my password 123").await
    };
    assert_eq!(still_works(&app, &refresh, &ticket).await.0, 200);
    let (status, body) = patch(&app, &access, me.id, json!({"email": "new@example.com"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        still_works(&app, &kept_refresh, &kept_ticket).await,
        (401, 401)
    );
}
