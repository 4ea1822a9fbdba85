//! A real `paasportal serve` (and, when wanted, a separate `paasportal worker`) on a
//! temporary SQLite data directory, on a fixed free port so a restarted `serve` is the
//! same origin for the page, with a known admin and master key.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use paasportal_core::SecretBox;
use paasportal_testkit::free_port;
use uuid::Uuid;

pub const ADMIN_EMAIL: &str = "admin@console.test";
pub const ADMIN_PASSWORD: &str = "console-admin-password";

/// A child process of the binary, killed (SIGKILL) when dropped.
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// SIGTERM, then waits (15 s at most) for the exit.
    fn terminate(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "{} did not stop within 15 s of SIGTERM",
                self.log.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Settings of a portal.
#[derive(Clone)]
pub struct PortalOptions {
    /// `serve` runs the deployment worker itself (otherwise `--no-worker`).
    pub worker_in_serve: bool,
    /// More `PAASPORTAL_*` variables for every process.
    pub env: Vec<(String, String)>,
}

impl Default for PortalOptions {
    fn default() -> Self {
        PortalOptions {
            worker_in_serve: true,
            env: Vec::new(),
        }
    }
}

/// The processes of one portal and its data directory.
pub struct Portal {
    pub data_dir: tempfile::TempDir,
    pub port: u16,
    pub base: String,
    pub secrets: SecretBox,
    key_b64: String,
    opts: PortalOptions,
    serve: Option<Proc>,
    worker: Option<Proc>,
}

impl Portal {
    /// Starts `serve` on a fresh data directory and waits until it is ready.
    pub async fn start(opts: PortalOptions) -> Portal {
        let key = SecretBox::generate_key();
        let port = free_port();
        let mut p = Portal {
            data_dir: tempfile::tempdir().unwrap(),
            port,
            base: format!("http://127.0.0.1:{port}"),
            secrets: SecretBox::new(&key).unwrap(),
            key_b64: base64::engine::general_purpose::STANDARD.encode(key),
            opts,
            serve: None,
            worker: None,
        };
        p.start_serve().await;
        p
    }

    /// `sqlite:` URL of the portal's database.
    pub fn database_url(&self) -> String {
        format!(
            "sqlite:{}",
            self.data_dir.path().join("paasportal.db").display()
        )
    }

    fn command(&self, args: &[&str], log: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_paasportal"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PAASPORTAL_DATA_DIR", self.data_dir.path())
            .env("PAASPORTAL_MASTER_KEY", &self.key_b64)
            .env("PAASPORTAL_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("PAASPORTAL_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("PAASPORTAL_LOG_LEVEL", "info")
            .env("PAASPORTAL_WORKER_LEASE_SECS", "5")
            .env("PAASPORTAL_WORKER_HEARTBEAT_MS", "200")
            .env("PAASPORTAL_WORKER_POLL_MS", "100")
            .env("PAASPORTAL_WORKER_REAP_SECS", "0.5")
            .env("PAASPORTAL_WORKER_SHUTDOWN_GRACE_SECS", "5")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(log).unwrap()));
        for (k, v) in &self.opts.env {
            cmd.env(k, v);
        }
        cmd
    }

    fn spawn(&self, args: &[&str]) -> Proc {
        let log = self
            .data_dir
            .path()
            .join(format!("{}-{}.log", args[0], Uuid::new_v4().simple()));
        let child = self
            .command(args, &log)
            .spawn()
            .expect("spawn the paasportal binary");
        Proc { child, log }
    }

    /// Starts `serve` (again) on the portal's port and waits for `/readyz`.
    pub async fn start_serve(&mut self) {
        assert!(self.serve.is_none(), "serve already runs");
        let listen = format!("127.0.0.1:{}", self.port);
        let mut args = vec!["serve", "--listen", &listen];
        if !self.opts.worker_in_serve {
            args.push("--no-worker");
        }
        let mut proc = self.spawn(&args);
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{}/readyz", self.base)).send().await
                && r.status().is_success()
            {
                break;
            }
            if let Some(st) = proc.child.try_wait().unwrap() {
                panic!(
                    "serve exited ({st}): {}",
                    std::fs::read_to_string(&proc.log).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "serve not ready after 30 s: {}",
                std::fs::read_to_string(&proc.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.serve = Some(proc);
    }

    /// Stops `serve` with SIGTERM (open streams end; the worker process, if any, goes on).
    pub fn stop_serve(&mut self) {
        self.serve.take().expect("serve runs").terminate();
    }

    /// Starts a separate `paasportal worker` on the same database.
    pub async fn start_worker(&mut self) {
        assert!(self.worker.is_none(), "a worker already runs");
        let proc = self.spawn(&["worker"]);
        // It prints its id once it runs (it locks the SQLite database first).
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(&proc.log).unwrap_or_default();
            if text.contains("paasportal worker ") && text.contains(" running") {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "worker not running after 30 s: {text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.worker = Some(proc);
    }

    /// What the processes printed so far (for failure messages).
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for p in self.serve.iter().chain(self.worker.iter()) {
            out.push_str(&format!(
                "--- {}\n{}\n",
                p.log.display(),
                std::fs::read_to_string(&p.log).unwrap_or_default()
            ));
        }
        out
    }
}
