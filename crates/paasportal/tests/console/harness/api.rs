//! The portal's REST API as the tests use it: a bearer token and JSON in, status and JSON out.

use serde_json::{Value, json};

/// A logged-in API client.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    /// Logs in with `email` / `password` (`POST /api/v1/auth/login`).
    pub async fn login(base: &str, email: &str, password: &str) -> Api {
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "login as {email}: {status} {body}");
        Api {
            http,
            base: base.to_owned(),
            token: body["access_token"].as_str().unwrap().to_owned(),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// `GET` that must succeed.
    pub async fn get_ok(&self, path: &str) -> Value {
        let (st, b) = self.get(path).await;
        assert!((200..300).contains(&st), "GET {path}: {st} {b}");
        b
    }

    /// `POST` that must succeed.
    pub async fn post_ok(&self, path: &str, body: Value) -> Value {
        let (st, b) = self.post(path, body.clone()).await;
        assert!((200..300).contains(&st), "POST {path} {body}: {st} {b}");
        b
    }

    /// Every log line of a deployment, in order (pages of 5,000).
    pub async fn all_logs(&self, deployment: &str) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let page = self
                .get_ok(&format!(
                    "/deployments/{deployment}/logs?skip={}&limit=5000",
                    out.len()
                ))
                .await;
            let lines = page["logs"].as_array().unwrap().clone();
            let n = lines.len();
            out.extend(lines);
            if n < 5000 {
                return out;
            }
        }
    }
}
