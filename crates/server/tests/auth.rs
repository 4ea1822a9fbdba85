//! Login, refresh rotation and reuse detection, logout, `me`, throttling, bad tokens.

mod common;

use common::TestApp;
use serde_json::json;

on_both_backends!(
    login_refresh_me_logout,
    reused_refresh_token_revokes_its_family,
    bad_credentials_and_tokens_are_401,
    failed_logins_are_slowed_down,
    deleted_user_loses_access,
);

async fn login_refresh_me_logout(app: TestApp) {
    let u = app.user("alice@example.com", "correct horse", false).await;
    let t = app.login("Alice@Example.com", "correct horse").await;
    assert_eq!(t["token_type"], "bearer");
    assert_eq!(t["expires_in"], 900);
    let access = t["access_token"].as_str().unwrap();
    let (s, me) = app.get("/api/v1/auth/me", Some(access)).await;
    assert_eq!(s, 200);
    assert_eq!(me["id"], json!(u.id));
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["is_portal_admin"], false);
    assert!(me.get("password_hash").is_none());
    assert_eq!(me["organizations"], json!([]));

    let (s, t2) = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": t["refresh_token"]}),
        )
        .await;
    assert_eq!(s, 200);
    assert_ne!(t2["refresh_token"], t["refresh_token"]);
    let a2 = t2["access_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/auth/me", Some(a2)).await.0, 200);

    let (s, _) = app
        .post(
            "/api/v1/auth/logout",
            Some(a2),
            json!({"refresh_token": t2["refresh_token"]}),
        )
        .await;
    assert_eq!(s, 204);
    let (s, body) = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": t2["refresh_token"]}),
        )
        .await;
    assert_eq!(s, 401);
    assert_eq!(body["detail"], "Not authenticated");
}

async fn reused_refresh_token_revokes_its_family(app: TestApp) {
    app.user("bob@example.com", "pw-bob-123", false).await;
    let t = app.login("bob@example.com", "pw-bob-123").await;
    let first = t["refresh_token"].clone();
    let (s, t2) = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": first}),
        )
        .await;
    assert_eq!(s, 200);
    // The thief replays the first token: refused, and the legitimate successor dies too.
    let (s, _) = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": first}),
        )
        .await;
    assert_eq!(s, 401);
    let (s, _) = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": t2["refresh_token"]}),
        )
        .await;
    assert_eq!(s, 401);
    // Another login starts a fresh family.
    let t3 = app.login("bob@example.com", "pw-bob-123").await;
    let (s, _) = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": t3["refresh_token"]}),
        )
        .await;
    assert_eq!(s, 200);
}

async fn bad_credentials_and_tokens_are_401(app: TestApp) {
    let u = app.user("carol@example.com", "pw-carol-1", false).await;
    let (s, b) = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "carol@example.com", "password": "nope"}),
        )
        .await;
    assert_eq!(s, 401);
    assert_eq!(b, json!({"detail": "Not authenticated"}));
    let (s, _) = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "nobody@example.com", "password": "nope"}),
        )
        .await;
    assert_eq!(s, 401);
    let (s, b) = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "carol@example.com", "password": "x", "extra": 1}),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    let (s, _) = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": 5, "password": "x"}),
        )
        .await;
    assert_eq!(s, 422);

    assert_eq!(app.get("/api/v1/auth/me", None).await.0, 401);
    assert_eq!(app.get("/api/v1/auth/me", Some("garbage")).await.0, 401);
    let expired = app
        .state
        .auth
        .issue_access_at(u.id, chrono::Utc::now().timestamp() - 3600);
    let (s, b) = app.get("/api/v1/auth/me", Some(&expired)).await;
    assert_eq!((s, b), (401, json!({"detail": "Not authenticated"})));
    let foreign = paasportal_server::auth::AuthKeys::new(
        &[9u8; 32],
        std::time::Duration::from_secs(900),
        std::time::Duration::from_secs(900),
    )
    .unwrap()
    .issue_access(u.id);
    assert_eq!(app.get("/api/v1/auth/me", Some(&foreign)).await.0, 401);
    // The query-string token is for the event stream only.
    let good = app.token(u.id);
    assert_eq!(
        app.get(&format!("/api/v1/auth/me?token={good}"), None)
            .await
            .0,
        401
    );
    let r = app
        .http
        .get(app.url("/api/v1/auth/me"))
        .header("authorization", format!("Basic {good}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
}

async fn failed_logins_are_slowed_down(app: TestApp) {
    app.user("dave@example.com", "pw-dave-1", false).await;
    let bad = json!({"email": "dave@example.com", "password": "wrong"});
    for _ in 0..5 {
        assert_eq!(
            app.post("/api/v1/auth/login", None, bad.clone()).await.0,
            401
        );
    }
    assert_eq!(
        app.post("/api/v1/auth/login", None, bad.clone()).await.0,
        401
    );
    let r = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "dave@example.com", "password": "pw-dave-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        429,
        "even the right password waits while locked"
    );
    assert!(r.headers().contains_key("retry-after"));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.login("dave@example.com", "pw-dave-1").await;
}

async fn deleted_user_loses_access(app: TestApp) {
    let u = app.user("erin@example.com", "pw-erin-1", false).await;
    let t = app.login("erin@example.com", "pw-erin-1").await;
    let sql = "DELETE FROM users WHERE id = $1";
    paasportal_store::with_db!(app.store().db(), p => sqlx::query(sql).bind(u.id).execute(p).await.map(|_| ())).unwrap();
    assert_eq!(
        app.get("/api/v1/auth/me", t["access_token"].as_str())
            .await
            .0,
        401
    );
    let (s, _) = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": t["refresh_token"]}),
        )
        .await;
    assert_eq!(s, 401);
}
