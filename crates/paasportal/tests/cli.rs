//! The command-line client against a real server, on both backends.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use common::{BIN, Served};
use paasportal_core::{DeploymentStatus, LogLevel, NewLog};
use paasportal_store::writer::NoSink;
use paasportal_store::{LogWriter, WriterConfig};
use paasportal_testkit::fixtures::seed;
use paasportal_testkit::{TestBackend, TestStore};

const ADMIN: &str = "admin@example.com";
const PASSWORD: &str = "correct horse battery staple";

struct Cli {
    config: tempfile::TempDir,
}

impl Cli {
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(BIN)
            .args(args)
            .env("PAASPORTAL_CONFIG_DIR", self.config.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the CLI");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args, None);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{args:?} failed: {}{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

async fn client_end_to_end(backend: TestBackend) {
    let t = TestStore::new(backend).await;
    let data = tempfile::tempdir().unwrap();
    let mut server = Served::start(
        data.path(),
        &[
            ("PAASPORTAL_DATABASE_URL", t.url.as_str()),
            ("PAASPORTAL_ADMIN_EMAIL", ADMIN),
            ("PAASPORTAL_ADMIN_PASSWORD", PASSWORD),
        ],
    );
    server.wait_for("created portal admin");
    let s = seed(&t.store, "cli").await;
    let dep = s.deployment.id.to_string();
    t.store.start_deployment(s.deployment.id).await.unwrap();
    let (w, task) = LogWriter::start(t.store.clone(), Arc::new(NoSink), WriterConfig::default());
    for (i, (level, msg)) in [
        (LogLevel::Info, "Deployment created and queued"),
        (LogLevel::Info, "Pulling Odoo 18.0 image..."),
        (
            LogLevel::Warning,
            "Health check failed (15.2s), but container is running",
        ),
        (LogLevel::Error, "Failed to connect to server via SSH"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut l = NewLog::now(s.deployment.id, level, msg);
        l.step = Some(
            [
                "initializing",
                "pulling_image",
                "health_check",
                "connecting",
            ][i]
                .into(),
        );
        if level == LogLevel::Error {
            l.data = serde_json::json!({ "error_code": "AUTH_FAILED", "troubleshooting": ["Verify server IP and SSH port"] });
        }
        w.write(l).await.unwrap();
    }
    task.shutdown().await;
    t.store
        .finish_deployment(
            s.deployment.id,
            DeploymentStatus::Failed,
            Some("Failed to connect to server via SSH"),
        )
        .await
        .unwrap();

    let cli = Cli {
        config: tempfile::tempdir().unwrap(),
    };
    assert!(cli.fails(&["deployments"]).contains("not logged in"));
    let url = format!("http://{}", server.addr);
    let out = cli.run(
        &[
            "login",
            "--server",
            &url,
            "--email",
            ADMIN,
            "--password-stdin",
        ],
        Some(PASSWORD),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved = cli.config.path().join("credentials.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let list = cli.ok(&["deployments"]);
    assert!(list.contains(&dep) && list.contains("failed"), "{list}");

    let logs = cli.ok(&["logs", &dep]);
    assert_eq!(
        logs.lines()
            .filter(|l| l.contains("INFO") || l.contains("WARNING") || l.contains("ERROR"))
            .count(),
        4,
        "{logs}"
    );
    assert!(
        logs.contains("error_code: AUTH_FAILED")
            && logs.contains("• Verify server IP and SSH port"),
        "{logs}"
    );
    let errors = cli.ok(&["logs", &dep, "--level", "error"]);
    assert!(
        errors.contains("Failed to connect") && !errors.contains("Pulling"),
        "{errors}"
    );
    let found = cli.ok(&["logs", &dep, "--search", "HEALTH CHECK"]);
    assert!(
        found.contains("Health check failed") && !found.contains("Pulling"),
        "{found}"
    );

    let show = cli.ok(&["show", &dep]);
    assert!(
        show.contains("failed") && show.contains("Pulling Image"),
        "{show}"
    );

    let file = cli.config.path().join("log.ndjson");
    cli.ok(&[
        "export",
        &dep,
        "--format",
        "ndjson",
        "-o",
        file.to_str().unwrap(),
    ]);
    let exported = std::fs::read_to_string(&file).unwrap();
    assert_eq!(exported.lines().count(), 4, "{exported}");

    assert!(
        cli.fails(&["cancel", &dep]).contains("400"),
        "a finished deployment cannot be cancelled"
    );

    let env = s.environment.id.to_string();
    assert!(cli.ok(&["deploy", &env]).contains("queued"));
    assert!(
        cli.fails(&["deploy", &env]).contains("in progress"),
        "one deployment at a time"
    );

    cli.ok(&["logout"]);
    assert!(!saved.exists());
    assert!(cli.fails(&["deployments"]).contains("not logged in"));
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_end_to_end_sqlite() {
    client_end_to_end(TestBackend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_end_to_end_postgres() {
    client_end_to_end(TestBackend::Postgres).await
}
