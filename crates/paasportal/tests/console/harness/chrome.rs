//! Headless Chromium driven over WebDriver: a private `chromedriver` per browser (on a
//! free port, in its own process group so nothing outlives the test), a session with
//! the console's window size, and helpers to wait for the page, run JavaScript and send
//! Chrome DevTools Protocol commands.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use paasportal_testkit::{free_port, require_env};
use serde_json::{Value, json};

/// A `chromedriver` process; its whole process group (Chromium included) is killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Driver {
        let bin = require_env("PAASPORTAL_TEST_CHROMEDRIVER");
        let port = free_port();
        let mut cmd = Command::new(&bin);
        cmd.arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot start chromedriver {bin}: {e} (scripts/test installs chromium-driver)")
        });
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let http = reqwest::Client::new();
        loop {
            if let Ok(r) = http.get(format!("{url}/status")).send().await
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == true
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver at {bin} did not become ready on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Driver { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

/// A DevTools command through chromedriver (`POST /session/{id}/goog/cdp/execute`).
#[derive(Debug)]
struct Cdp {
    cmd: String,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"cmd": self.cmd, "params": self.params}).to_string()),
        )
    }
}

/// One headless Chromium with its driver, pointed at a portal at `base`.
pub struct Browser {
    pub client: Client,
    pub base: String,
    _profile: tempfile::TempDir,
    _driver: Driver,
}

/// How long the helpers wait for the page by default.
pub const PATIENCE: Duration = Duration::from_secs(20);

impl Browser {
    /// A new browser (its own profile) for the portal at `base` (`http://127.0.0.1:port`).
    pub async fn start(base: &str) -> Browser {
        let driver = Driver::start().await;
        let profile = tempfile::tempdir().unwrap();
        let mut caps = Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--window-size=1280,900",
                    "--enable-precise-memory-info",
                    "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open a Chromium session through chromedriver: {e}"));
        Browser {
            client,
            base: base.trim_end_matches('/').to_owned(),
            _profile: profile,
            _driver: driver,
        }
    }

    /// Navigates to `path` on the portal (a full page load).
    pub async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("goto {path}: {e}"));
    }

    /// The current path (with query and fragment).
    pub async fn path(&self) -> String {
        let u = self.client.current_url().await.unwrap();
        let mut p = u.path().to_owned();
        if let Some(q) = u.query() {
            p.push('?');
            p.push_str(q);
        }
        if let Some(f) = u.fragment() {
            p.push('#');
            p.push_str(f);
        }
        p
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Runs an async `script`: it must call `arguments[arguments.length - 1](value)`.
    pub async fn js_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute_async(script, args)
            .await
            .unwrap_or_else(|e| panic!("async script failed: {e}\n{script}"))
    }

    /// Waits until `expr` (a JavaScript expression) is truthy; returns its value.
    pub async fn wait_js(&self, expr: &str, what: &str, limit: Duration) -> Value {
        let started = Instant::now();
        let script = format!("try {{ return ({expr}) || null; }} catch (e) {{ return null; }}");
        loop {
            let v = self.js(&script, vec![]).await;
            if !v.is_null() && v != json!(false) {
                return v;
            }
            if started.elapsed() > limit {
                let page = self.describe().await;
                panic!("waited {limit:?} for {what} ({expr}); the page: {page}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for an element matching `css`.
    pub async fn wait_css(&self, css: &str) -> fantoccini::elements::Element {
        let started = Instant::now();
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                return e;
            }
            if started.elapsed() > PATIENCE {
                let page = self.describe().await;
                panic!("no element {css} after {PATIENCE:?}; the page: {page}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `body[data-page]` is `page`.
    pub async fn wait_page(&self, page: &str) {
        self.wait_js(
            &format!("document.body && document.body.dataset.page === {page:?}"),
            &format!("page {page}"),
            PATIENCE,
        )
        .await;
    }

    /// Number of elements matching `css`.
    pub async fn count(&self, css: &str) -> u64 {
        self.js(
            "return document.querySelectorAll(arguments[0]).length;",
            vec![json!(css)],
        )
        .await
        .as_u64()
        .unwrap()
    }

    /// Whether an element matching `css` exists.
    pub async fn exists(&self, css: &str) -> bool {
        self.count(css).await > 0
    }

    /// The page's current path, `data-page` and the start of its text, for failure messages.
    pub async fn describe(&self) -> String {
        let v = self
            .client
            .execute(
                "return {url: location.href, page: document.body && document.body.dataset.page, \
                 text: document.body ? document.body.innerText.slice(0, 1500) : null};",
                vec![],
            )
            .await;
        match v {
            Ok(v) => v.to_string(),
            Err(e) => format!("(cannot read the page: {e})"),
        }
    }

    /// Sends a Chrome DevTools Protocol command to the current page; returns its result.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp {
                cmd: cmd.into(),
                params,
            })
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"))
    }

    /// The page's JS heap in use, in bytes (DevTools `Runtime.getHeapUsage`, after a GC).
    pub async fn js_heap_bytes(&self) -> f64 {
        self.cdp("HeapProfiler.collectGarbage", json!({})).await;
        let v = self.cdp("Runtime.getHeapUsage", json!({})).await;
        v["usedSize"]
            .as_f64()
            .unwrap_or_else(|| panic!("Runtime.getHeapUsage answered {v}"))
    }

    /// Emulates `prefers-color-scheme: scheme` (light or dark).
    pub async fn color_scheme(&self, scheme: &str) {
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        )
        .await;
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client.screenshot().await.unwrap()
    }

    /// Ends the session (Chromium quits).
    pub async fn close(&self) {
        let _ = self.client.clone().close().await;
    }
}
