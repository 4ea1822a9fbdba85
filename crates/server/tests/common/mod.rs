//! The real application on a random port, on a fresh store of either backend.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use paasportal_core::{SecretBox, User, password};
use paasportal_server::auth::AuthKeys;
use paasportal_server::{AppState, ServerConfig};
use paasportal_store::users::NewUser;
use paasportal_store::writer::{NoSink, WriterTask};
use paasportal_store::{LogWriter, Store, WriterConfig};
use paasportal_testkit::{TestBackend, TestStore};
use serde_json::Value;

/// Runs each named async test `fn(TestApp)` once per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::common::TestApp::start(paasportal_testkit::TestBackend::Sqlite).await).await
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::common::TestApp::start(paasportal_testkit::TestBackend::Postgres).await).await
            })*
        }
    };
}

/// A running server and a client for it.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub state: AppState,
    pub t: TestStore,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    writer_task: Option<WriterTask>,
}

/// The JWT secret every test app signs with.
pub const SECRET: [u8; 32] = [42u8; 32];

impl TestApp {
    /// Starts the app with a 15-minute access token lifetime.
    pub async fn start(backend: TestBackend) -> TestApp {
        TestApp::start_with(backend, Duration::from_secs(900), ServerConfig::default()).await
    }

    /// Starts the app with the given access token lifetime and server settings.
    pub async fn start_with(
        backend: TestBackend,
        access_ttl: Duration,
        config: ServerConfig,
    ) -> TestApp {
        let t = TestStore::new(backend).await;
        TestApp::start_on(t, access_ttl, config).await
    }

    /// Starts the app on a store the test prepared.
    pub async fn start_on(t: TestStore, access_ttl: Duration, config: ServerConfig) -> TestApp {
        let (writer, task) =
            LogWriter::start(t.store.clone(), Arc::new(NoSink), WriterConfig::default());
        let auth = AuthKeys::new(&SECRET, access_ttl, Duration::from_secs(3600)).unwrap();
        let secrets = SecretBox::new(&[1u8; 32]).unwrap();
        let state = AppState::new(t.store.clone(), writer, config, auth, secrets);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        tokio::spawn(async move {
            paasportal_server::serve(listener, serving, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestApp {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            state,
            t,
            shutdown: Some(tx),
            writer_task: Some(task),
        }
    }

    /// The store behind the app.
    pub fn store(&self) -> &Store {
        &self.t.store
    }

    /// `{base}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Creates a user with `password` directly in the store.
    pub async fn user(&self, email: &str, pw: &str, admin: bool) -> User {
        let pw = pw.to_owned();
        let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
            .await
            .unwrap();
        self.store()
            .create_user(&NewUser {
                email: email.into(),
                name: email.split('@').next().unwrap().into(),
                password_hash: hash,
                is_portal_admin: admin,
            })
            .await
            .unwrap()
    }

    /// Logs in and returns the token response.
    pub async fn login(&self, email: &str, pw: &str) -> Value {
        let r = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": pw}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login of {email} failed");
        r.json().await.unwrap()
    }

    /// A valid access token for `user_id`, minted directly.
    pub fn token(&self, user_id: uuid::Uuid) -> String {
        self.state.auth.issue_access(user_id)
    }

    /// `GET path` with an optional bearer token: (status, JSON body or Null).
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `method path` with a JSON body and an optional bearer token.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, token, Some(body))
            .await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        drop(self.writer_task.take());
    }
}
