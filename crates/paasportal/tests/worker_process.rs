//! The real `paasportal` binary as a deployment worker, on both backends:
//! - `kill -9` of a worker mid-deployment: the deployment is failed with "Worker lost"
//!   and its environment leaves `deploying`: at the next start of a worker on SQLite,
//!   by another (live) worker once the lease expires on PostgreSQL, which meanwhile
//!   leaves a live worker's deployment alone;
//! - a second worker on the same SQLite database refuses to start;
//! - `serve` runs a worker unless `--no-worker` / `PAASPORTAL_WORKER=false`.
//!
//! The deployment is held in `connecting` by a server that accepts TCP connections and
//! never answers (a hung SSH handshake), so it is mid-run when the worker is killed.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use paasportal_core::{
    AuthMethod, DeploymentStatus, EnvironmentStatus, LogLevel, SecretBox, StepStatus, Trigger,
};
use paasportal_store::Store;
use paasportal_store::environments::NewEnvironment;
use paasportal_store::logs::LogQuery;
use paasportal_store::servers::{NewServer, ServerSecrets};
use paasportal_store::versions::NewOdooVersion;
use paasportal_testkit::{TestBackend, TestStore};
use uuid::Uuid;

/// A child process killed (SIGKILL) when dropped.
struct Proc(Child);

impl Proc {
    fn kill_9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// Accepts connections and never answers: an SSH server that hangs the handshake.
fn tarpit() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    port
}

struct World {
    t: TestStore,
    key_b64: String,
    data_dir: tempfile::TempDir,
    environment: Uuid,
}

async fn world(backend: TestBackend) -> World {
    let t = TestStore::new(backend).await;
    let key = SecretBox::generate_key();
    let secrets = SecretBox::new(&key).unwrap();
    let store = &t.store;
    let org = store.create_organization("Org").await.unwrap();
    let project = store.create_project(org.id, "Project").await.unwrap();
    let server = store
        .create_server(&NewServer {
            organization_id: org.id,
            name: "hung".into(),
            ip: "127.0.0.1".into(),
            ssh_port: tarpit(),
            ssh_user: "deploy".into(),
            auth_method: AuthMethod::Password,
            secrets: ServerSecrets {
                ssh_password_enc: Some(secrets.seal("unused-password")),
                ..Default::default()
            },
        })
        .await
        .unwrap();
    store
        .create_odoo_version(&NewOdooVersion {
            version: "18.0".into(),
            image: "odoo:18.0".into(),
            registry_username: None,
            registry_password_enc: None,
        })
        .await
        .unwrap();
    let env = store
        .create_environment(&NewEnvironment {
            project_id: project.id,
            server_id: server.id,
            name: "production".into(),
            branch: "main".into(),
            subdomain: "prod".into(),
            apps_domain: "apps.example.com".into(),
            odoo_version: "18.0".into(),
            cpu_cores: 1.0,
            ram_mb: 1024,
            disk_gb: 10,
            config_overrides: serde_json::json!({}),
            read_replica: false,
            migration_id: None,
        })
        .await
        .unwrap();
    World {
        t,
        key_b64: base64::engine::general_purpose::STANDARD.encode(key),
        data_dir: tempfile::tempdir().unwrap(),
        environment: env.id,
    }
}

impl World {
    /// The binary with this world's settings; its stderr goes to `name`.log in the data dir.
    fn command(&self, args: &[&str], extra: &[(&str, &str)], stderr: Stdio) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_paasportal"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PAASPORTAL_DATABASE_URL", &self.t.url)
            .env("PAASPORTAL_DATA_DIR", self.data_dir.path())
            .env("PAASPORTAL_MASTER_KEY", &self.key_b64)
            .env("PAASPORTAL_LOG_LEVEL", "info")
            .env("PAASPORTAL_WORKER_LEASE_SECS", "2")
            .env("PAASPORTAL_WORKER_HEARTBEAT_MS", "200")
            .env("PAASPORTAL_WORKER_POLL_MS", "100")
            .env("PAASPORTAL_WORKER_REAP_SECS", "0.5")
            .env("PAASPORTAL_SSH_CONNECT_TIMEOUT_SECS", "600")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd
    }

    /// Starts the binary; its stderr is kept in the data dir for diagnosis.
    fn spawn(&self, args: &[&str], extra: &[(&str, &str)]) -> Proc {
        let log = self
            .data_dir
            .path()
            .join(format!("{}-{}.log", args[0], Uuid::new_v4().simple()));
        let file = std::fs::File::create(log).unwrap();
        Proc(
            self.command(args, extra, Stdio::from(file))
                .spawn()
                .expect("spawn the paasportal binary"),
        )
    }

    async fn deploy(&self) -> Uuid {
        self.t
            .store
            .create_deployment(self.environment, Trigger::Manual, None)
            .await
            .unwrap()
            .id
    }

    /// Waits until the deployment is in `connecting` on some worker.
    async fn wait_connecting(&self, id: Uuid) {
        let started = Instant::now();
        loop {
            let steps = self.t.store.list_steps(id).await.unwrap();
            if steps
                .iter()
                .any(|s| s.step == "connecting" && s.status == StepStatus::Running)
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the worker never started the deployment"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_status(&self, id: Uuid, limit: Duration) -> paasportal_core::Deployment {
        let started = Instant::now();
        loop {
            let d = self.t.store.get_deployment(id).await.unwrap();
            if d.status.is_finished() {
                return d;
            }
            assert!(
                started.elapsed() < limit,
                "still {} after {limit:?}",
                d.status
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The deployment was failed as lost, with everything that goes with it. The row is
    /// failed first (that decides which worker reaps it); the rest follows at once.
    async fn assert_lost(&self, id: Uuid, reason: &str) {
        let store: &Store = &self.t.store;
        let started = Instant::now();
        let logs = loop {
            let logs = store
                .list_logs(
                    id,
                    &LogQuery {
                        limit: 1000,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            if logs
                .iter()
                .any(|l| l.log.data["error_code"] == "WORKER_LOST")
            {
                break logs;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "no WORKER_LOST line: {:#?}",
                logs.iter().map(|l| &l.log.message).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let last = logs.last().unwrap();
        assert_eq!(last.log.level, LogLevel::Error);
        assert_eq!(last.log.data["error_code"], "WORKER_LOST");
        assert_eq!(last.log.step.as_deref(), Some("connecting"));
        assert_eq!(last.log.status, DeploymentStatus::Failed);
        let d = store.get_deployment(id).await.unwrap();
        assert_eq!(d.status, DeploymentStatus::Failed);
        let err = d.error_message.unwrap();
        assert!(err.starts_with("Worker lost: "), "{err}");
        assert!(err.contains(reason), "{err}");
        assert_eq!(
            store
                .get_environment(self.environment)
                .await
                .unwrap()
                .status,
            EnvironmentStatus::Failed,
            "the environment does not stay deploying"
        );
        let steps = store.list_steps(id).await.unwrap();
        let connecting = steps.iter().find(|s| s.step == "connecting").unwrap();
        assert_eq!(connecting.status, StepStatus::Failed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill_9_is_recovered_at_the_next_start() {
    let w = world(TestBackend::Sqlite).await;
    let id = w.deploy().await;
    let mut first = w.spawn(&["worker"], &[]);
    w.wait_connecting(id).await;

    // A second worker on the same SQLite database refuses to start.
    let second = w.command(&["worker"], &[], Stdio::piped()).spawn().unwrap();
    let out = second.wait_with_output_timeout();
    assert!(!out.0.success());
    assert!(
        out.1
            .contains("another paasportal worker already runs deployments"),
        "{}",
        out.1
    );

    first.kill_9();
    assert_eq!(
        w.t.store.get_deployment(id).await.unwrap().status,
        DeploymentStatus::Running,
        "nothing has noticed yet"
    );
    let _restarted = w.spawn(&["worker"], &[]);
    w.wait_status(id, Duration::from_secs(30)).await;
    w.assert_lost(id, "process running this deployment ended")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kill_9_is_noticed_by_another_worker_when_the_lease_expires() {
    let w = world(TestBackend::Postgres).await;
    let id = w.deploy().await;
    let mut first = w.spawn(&["worker"], &[]);
    w.wait_connecting(id).await;
    let _second = w.spawn(&["worker"], &[]);
    // Three lease lengths pass: the live first worker keeps its deployment.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        w.t.store.get_deployment(id).await.unwrap().status,
        DeploymentStatus::Running,
        "a live worker's deployment is not reaped"
    );
    first.kill_9();
    let killed = Instant::now();
    w.wait_status(id, Duration::from_secs(30)).await;
    let noticed = killed.elapsed();
    assert!(
        noticed < Duration::from_secs(10),
        "noticed after {noticed:?}"
    );
    w.assert_lost(id, "lease expired").await;
}

async fn serve_worker_toggle(backend: TestBackend) {
    let w = world(backend).await;
    let id = w.deploy().await;
    let port = paasportal_testkit::free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let mut off = w.spawn(
        &["serve", "--listen", &listen],
        &[("PAASPORTAL_WORKER", "false")],
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        w.t.store.get_deployment(id).await.unwrap().status,
        DeploymentStatus::Pending,
        "serve without a worker leaves the queue alone"
    );
    off.kill_9();
    let _on = w.spawn(&["serve", "--listen", &listen], &[]);
    w.wait_connecting(id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_serve_runs_a_worker_unless_disabled() {
    serve_worker_toggle(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_serve_runs_a_worker_unless_disabled() {
    serve_worker_toggle(TestBackend::Postgres).await;
}

trait WaitTimeout {
    /// Waits (up to 30 s) for the process to exit; returns its status and stderr.
    fn wait_with_output_timeout(self) -> (std::process::ExitStatus, String);
}

impl WaitTimeout for Child {
    fn wait_with_output_timeout(mut self) -> (std::process::ExitStatus, String) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.try_wait().unwrap() {
                let mut err = String::new();
                use std::io::Read;
                self.stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                return (status, err);
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = self.kill();
                panic!("the process did not exit");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
