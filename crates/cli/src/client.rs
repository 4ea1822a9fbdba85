//! An authenticated HTTP client for the paasportal API that refreshes its access token
//! once when the server answers 401, and saves the rotated tokens.

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::credentials::Credentials;
use crate::error::CliError;

/// A logged-in client.
pub struct Client {
    http: reqwest::Client,
    creds: Credentials,
}

/// The token pair the auth endpoints return.
#[derive(Debug, serde::Deserialize)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
}

impl Client {
    /// A client for the saved session.
    pub fn from_saved() -> Result<Client, CliError> {
        let creds = Credentials::load()?.ok_or(CliError::NotLoggedIn)?;
        Ok(Client {
            http: http(),
            creds,
        })
    }

    /// `GET path` decoded as JSON.
    pub async fn get<T: DeserializeOwned>(&mut self, path: &str) -> Result<T, CliError> {
        let resp = self.send(Method::GET, path, None::<&()>, None).await?;
        json(resp).await
    }

    /// `POST path` with a JSON body, decoded as JSON.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &mut self,
        path: &str,
        body: &B,
    ) -> Result<T, CliError> {
        let resp = self.send(Method::POST, path, Some(body), None).await?;
        json(resp).await
    }

    /// `GET path` as a raw response (streams), with an optional `Last-Event-ID`.
    pub async fn stream(
        &mut self,
        path: &str,
        last_event_id: Option<i64>,
    ) -> Result<Response, CliError> {
        self.send(Method::GET, path, None::<&()>, last_event_id)
            .await
    }

    async fn send<B: Serialize>(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&B>,
        last_event_id: Option<i64>,
    ) -> Result<Response, CliError> {
        for attempt in 0..2 {
            let url = format!("{}{}", self.creds.server.trim_end_matches('/'), path);
            let mut req: RequestBuilder = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&self.creds.access_token);
            if let Some(b) = body {
                req = req.json(b);
            }
            if let Some(id) = last_event_id {
                req = req.header("Last-Event-ID", id.to_string());
            }
            let resp = req
                .send()
                .await
                .map_err(|e| CliError::unreachable(&self.creds.server, e))?;
            if resp.status() == StatusCode::UNAUTHORIZED && attempt == 0 {
                self.refresh().await?;
                continue;
            }
            return check(resp).await;
        }
        Err(CliError::SessionExpired)
    }

    async fn refresh(&mut self) -> Result<(), CliError> {
        let url = format!(
            "{}/api/v1/auth/refresh",
            self.creds.server.trim_end_matches('/')
        );
        let resp = self
            .http
            .post(&url)
            .json(&serde_json::json!({ "refresh_token": self.creds.refresh_token }))
            .send()
            .await
            .map_err(|e| CliError::unreachable(&self.creds.server, e))?;
        if !resp.status().is_success() {
            return Err(CliError::SessionExpired);
        }
        let pair: TokenPair = json(resp).await?;
        self.creds.access_token = pair.access_token;
        self.creds.refresh_token = pair.refresh_token;
        self.creds.save()
    }
}

/// A plain HTTP client with paasportal's user agent.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("paasportal-cli/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("HTTP client builds")
}

/// Logs in with e-mail and password; returns the token pair.
pub async fn login(server: &str, email: &str, password: &str) -> Result<TokenPair, CliError> {
    let url = format!("{}/api/v1/auth/login", server.trim_end_matches('/'));
    let resp = http()
        .post(&url)
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .map_err(|e| CliError::unreachable(server, e))?;
    json(check(resp).await?).await
}

/// Turns a non-2xx answer into [`CliError::Api`] with the server's `detail`.
pub async fn check(resp: Response) -> Result<Response, CliError> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let detail = match body.get("detail") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("error")
            .to_owned(),
    };
    Err(CliError::Api { status, detail })
}

async fn json<T: DeserializeOwned>(resp: Response) -> Result<T, CliError> {
    resp.json()
        .await
        .map_err(|e| CliError::Invalid(format!("unexpected answer from the server: {e}")))
}
