//! What the web console needs from the server: its pages and assets, browser sessions with
//! the refresh token in an HttpOnly cookie (CSRF-checked), the security headers on every
//! response, a JSON 404 for unknown API routes, and keyset pages of a deployment's log.

mod common;

use common::TestApp;
use paasportal_core::{LogLevel, NewLog};
use paasportal_store::writer::NoSink;
use paasportal_store::{LogWriter, WriterConfig};
use paasportal_testkit::fixtures::seed;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use std::sync::Arc;

on_both_backends!(
    pages_and_assets_are_served_with_strict_headers,
    browser_session_lives_in_an_httponly_cookie,
    session_endpoints_refuse_cross_site_requests,
    log_pages_by_tail_and_around_a_line,
);

async fn pages_and_assets_are_served_with_strict_headers(app: TestApp) {
    let http = reqwest::Client::new();
    for path in [
        "/",
        "/login",
        "/deployments/0190a0a0-0000-7000-8000-000000000000",
    ] {
        let r = http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers().clone();
        assert!(
            h[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"),
            "{path}"
        );
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(h.get("strict-transport-security").is_none(), "plain http");
        let body = r.text().await.unwrap();
        assert!(body.contains(r#"<script type="module" src="/assets/app.js">"#));
        assert!(!body.contains("<script>"), "no inline script");
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "no external request"
        );
    }
    let r = http.get(app.url("/assets/app.js")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let again = http
        .get(app.url("/assets/app.js"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let css = http.get(app.url("/assets/app.css")).send().await.unwrap();
    assert_eq!(css.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
    assert_eq!(
        http.get(app.url("/assets/nope.js"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Unknown API routes stay JSON, never the console's page.
    let r = http.get(app.url("/api/v1/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(r.json::<Value>().await.unwrap()["detail"].is_string());
    // HSTS only when a TLS-terminating proxy says the request came over https.
    let r = http
        .get(app.url("/"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("strict-transport-security"));
    // The API carries the headers too; auth responses are never cached.
    let r = http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "x@example.com", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
}

fn set_cookie(r: &reqwest::Response) -> String {
    r.headers()[SET_COOKIE].to_str().unwrap().to_owned()
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned()
}

async fn browser_session_lives_in_an_httponly_cookie(app: TestApp) {
    app.user("carol@example.com", "correct horse", false).await;
    let http = reqwest::Client::new();
    let r = http
        .post(app.url("/api/v1/auth/session"))
        .header("x-paasportal-csrf", "1")
        .json(&json!({"email": "carol@example.com", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sc = set_cookie(&r);
    assert!(sc.starts_with("paasportal_refresh="), "{sc}");
    assert!(
        sc.contains("HttpOnly") && sc.contains("SameSite=Strict"),
        "{sc}"
    );
    assert!(sc.contains("Path=/api/v1/auth/session"), "{sc}");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert!(
        body.get("refresh_token").is_none(),
        "the page never sees it"
    );
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/auth/me", Some(&access)).await.0, 200);
    let first = cookie_value(&sc);

    // A reload: the cookie alone gets a new access token and a rotated cookie.
    let refresh = |cookie: String| {
        http.post(app.url("/api/v1/auth/session/refresh"))
            .header("x-paasportal-csrf", "1")
            .header(COOKIE, format!("paasportal_refresh={cookie}"))
            .send()
    };
    let r = refresh(first.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let second = cookie_value(&set_cookie(&r));
    assert_ne!(second, first);
    let body: Value = r.json().await.unwrap();
    let access2 = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/auth/me", Some(&access2)).await.0, 200);

    // The old cookie is spent: reusing it revokes the session and clears the cookie.
    let r = refresh(first).await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(set_cookie(&r).contains("Max-Age=0"));
    assert_eq!(refresh(second.clone()).await.unwrap().status(), 401);

    // Log in again, log out: the cookie stops working.
    let r = http
        .post(app.url("/api/v1/auth/session"))
        .header("x-paasportal-csrf", "1")
        .json(&json!({"email": "carol@example.com", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    let cookie = cookie_value(&set_cookie(&r));
    let access: Value = r.json().await.unwrap();
    let r = http
        .delete(app.url("/api/v1/auth/session"))
        .bearer_auth(access["access_token"].as_str().unwrap())
        .header("x-paasportal-csrf", "1")
        .header(COOKIE, format!("paasportal_refresh={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(set_cookie(&r).contains("Max-Age=0"));
    assert_eq!(refresh(cookie).await.unwrap().status(), 401);

    // Wrong password: 401, no cookie.
    let r = http
        .post(app.url("/api/v1/auth/session"))
        .header("x-paasportal-csrf", "1")
        .json(&json!({"email": "carol@example.com", "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get(SET_COOKIE).is_none());
}

async fn session_endpoints_refuse_cross_site_requests(app: TestApp) {
    app.user("dave@example.com", "correct horse", false).await;
    let http = reqwest::Client::new();
    let login = json!({"email": "dave@example.com", "password": "correct horse"});
    // Without the custom header (what a cross-site form post sends): refused.
    let r = http
        .post(app.url("/api/v1/auth/session"))
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get(SET_COOKIE).is_none());
    // With the header but from another origin: refused.
    let r = http
        .post(app.url("/api/v1/auth/session"))
        .header("x-paasportal-csrf", "1")
        .header("origin", "https://evil.example")
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A refresh riding on the cookie without the header: refused before the cookie is read.
    let r = http
        .post(app.url("/api/v1/auth/session/refresh"))
        .header(COOKIE, "paasportal_refresh=whatever")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Same origin (what the console sends): accepted.
    let host = app.url("").trim_start_matches("http://").to_owned();
    let r = http
        .post(app.url("/api/v1/auth/session"))
        .header("x-paasportal-csrf", "1")
        .header("origin", format!("http://{host}"))
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn log_pages_by_tail_and_around_a_line(app: TestApp) {
    let s = seed(app.store(), "console").await;
    let admin = app.user("root@example.com", "correct horse", true).await;
    let token = app.token(admin.id);
    let (w, task) = LogWriter::start(
        app.store().clone(),
        Arc::new(NoSink),
        WriterConfig::default(),
    );
    for i in 0..50 {
        let level = if i % 10 == 9 {
            LogLevel::Error
        } else {
            LogLevel::Info
        };
        let mut l = NewLog::now(s.deployment.id, level, format!("line {i}"));
        l.step = Some(
            if i < 25 {
                "connecting"
            } else {
                "pulling_image"
            }
            .into(),
        );
        w.write(l).await.unwrap();
    }
    task.shutdown().await;
    drop(w);
    let base = format!("/api/v1/deployments/{}/logs", s.deployment.id);
    let msgs = |v: &Value| -> Vec<String> {
        v["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["message"].as_str().unwrap().to_owned())
            .collect()
    };
    let (st, tail) = app
        .get(&format!("{base}?tail=true&limit=3"), Some(&token))
        .await;
    assert_eq!(st, 200);
    assert_eq!(msgs(&tail), ["line 47", "line 48", "line 49"]);
    let first_seq = tail["logs"][0]["seq"].as_i64().unwrap();
    let (_, before) = app
        .get(
            &format!("{base}?before_seq={first_seq}&limit=2"),
            Some(&token),
        )
        .await;
    assert_eq!(msgs(&before), ["line 45", "line 46"]);
    let (_, after) = app
        .get(
            &format!("{base}?after_seq={first_seq}&limit=10"),
            Some(&token),
        )
        .await;
    assert_eq!(msgs(&after), ["line 48", "line 49"]);
    let (_, errors) = app
        .get(
            &format!("{base}?level=error&tail=true&limit=2"),
            Some(&token),
        )
        .await;
    assert_eq!(msgs(&errors), ["line 39", "line 49"]);
    let (_, stage) = app
        .get(
            &format!("{base}?step=connecting&tail=true&limit=2"),
            Some(&token),
        )
        .await;
    assert_eq!(msgs(&stage), ["line 23", "line 24"]);
    // Bad combinations and unknown stages are 422s naming the parameter.
    let (st, body) = app
        .get(&format!("{base}?tail=true&before_seq=5"), Some(&token))
        .await;
    assert_eq!(st, 422);
    assert!(body.to_string().contains("before_seq"), "{body}");
    let (st, body) = app.get(&format!("{base}?step=nope"), Some(&token)).await;
    assert_eq!(st, 422);
    assert!(body.to_string().contains("step"), "{body}");
}
