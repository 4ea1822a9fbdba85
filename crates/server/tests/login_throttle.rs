//! Login throttling keys on the client's address (from `X-Forwarded-For` only behind a
//! trusted proxy) and on the account from that address: an attacker is slowed down, the
//! account's owner still logs in from elsewhere.

mod common;

use std::time::Duration;

use common::TestApp;
use paasportal_server::ServerConfig;
use paasportal_testkit::TestBackend;
use serde_json::json;

on_both_backends!(forwarded_for_is_ignored_without_trusted_proxies);

async fn login_from(app: &TestApp, forwarded_for: &str, email: &str, pw: &str) -> u16 {
    app.http
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": pw}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn behind_proxy(backend: TestBackend) -> TestApp {
    let config = ServerConfig {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
        ..ServerConfig::default()
    };
    TestApp::start_with(backend, Duration::from_secs(900), config).await
}

/// Behind a trusted proxy: an address guessing the admin's password (and other accounts)
/// is throttled with growing delays; the admin still logs in from their own address.
async fn an_attacker_cannot_lock_the_owner_out(backend: TestBackend) {
    let app = behind_proxy(backend).await;
    app.user("admin@example.com", "correct horse battery", true)
        .await;
    let attacker = "203.0.113.66";
    let mut throttled = 0;
    for i in 0..30 {
        let email = if i % 2 == 0 {
            "admin@example.com".to_owned()
        } else {
            format!("u{i}@example.com")
        };
        match login_from(&app, attacker, &email, "wrong password").await {
            401 => {}
            429 => throttled += 1,
            other => panic!("failed login answered {other}"),
        }
    }
    assert!(throttled > 0, "the attacker was never slowed down");
    assert_eq!(
        login_from(&app, attacker, "admin@example.com", "correct horse battery").await,
        429,
        "the attacker's address stays throttled"
    );
    assert_eq!(
        login_from(
            &app,
            "198.51.100.7",
            "admin@example.com",
            "correct horse battery"
        )
        .await,
        200,
        "the owner is locked out by someone else's failures"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attacker_cannot_lock_the_owner_out_sqlite() {
    an_attacker_cannot_lock_the_owner_out(TestBackend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attacker_cannot_lock_the_owner_out_postgres() {
    an_attacker_cannot_lock_the_owner_out(TestBackend::Postgres).await
}

/// Without trusted proxies a client cannot pick the address it is throttled under: a new
/// `X-Forwarded-For` on every attempt does not escape the throttle.
async fn forwarded_for_is_ignored_without_trusted_proxies(app: TestApp) {
    let mut throttled = false;
    for i in 0..30 {
        let status = login_from(
            &app,
            &format!("192.0.2.{i}"),
            &format!("u{i}@example.com"),
            "wrong",
        )
        .await;
        if status == 429 {
            throttled = true;
            break;
        }
        assert_eq!(status, 401);
    }
    assert!(throttled, "a spoofed X-Forwarded-For escaped the throttle");
}
