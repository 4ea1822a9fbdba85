//! The command-line client against a real server, on both backends.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// `logs -f` through the binary against a running deployment: it prints the lines
/// written so far, then each new line as it is written, in order, and exits (0 on
/// success) once the deployment ends. The lines come from a writer that does not feed
/// the server's bus, as from a separate worker process.
async fn logs_follow(backend: TestBackend) {
    let t = TestStore::new(backend).await;
    let data = tempfile::tempdir().unwrap();
    let mut server = Served::start(
        data.path(),
        &[
            ("PAASPORTAL_DATABASE_URL", t.url.as_str()),
            ("PAASPORTAL_ADMIN_EMAIL", ADMIN),
            ("PAASPORTAL_ADMIN_PASSWORD", PASSWORD),
            ("PAASPORTAL_WORKER", "false"),
        ],
    );
    server.wait_for("created portal admin");
    let s = seed(&t.store, "follow").await;
    let id = s.deployment.id;
    t.store.start_deployment(id).await.unwrap();
    let (w, task) = LogWriter::start(t.store.clone(), Arc::new(NoSink), WriterConfig::default());
    let line = |i: usize| NewLog::now(id, LogLevel::Info, format!("follow line {i}"));
    for i in 0..2 {
        w.write(line(i)).await.unwrap();
    }

    let cli = Cli {
        config: tempfile::tempdir().unwrap(),
    };
    let url = format!("http://{}", server.addr);
    let login = cli.run(
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
    assert!(login.status.success());
    let mut child = Command::new(BIN)
        .args(["logs", "-f", &id.to_string()])
        .env("PAASPORTAL_CONFIG_DIR", cli.config.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, out) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut printed: Vec<String> = Vec::new();
    let mut expect = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(l) = printed.iter().find(|l| l.contains(needle)) {
                return l.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match out.recv_timeout(left) {
                Ok(l) => printed.push(l),
                Err(_) => panic!("'{needle}' never printed; so far:\n{}", printed.join("\n")),
            }
        }
    };
    expect("follow line 1");
    for i in 2..5 {
        w.write(line(i)).await.unwrap();
        expect(&format!("follow line {i}"));
    }
    t.store
        .finish_deployment(id, DeploymentStatus::Success, None)
        .await
        .unwrap();
    let mut last = NewLog::now(id, LogLevel::Info, "Deployment completed");
    last.status = DeploymentStatus::Success;
    w.write(last).await.unwrap();
    task.shutdown().await;
    expect("Deployment completed");
    expect("Deployment success");

    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "logs -f still running 20 s after the deployment ended"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "a successful deployment exits 0");
    let order: Vec<usize> = printed
        .iter()
        .filter_map(|l| l.split("follow line ").nth(1))
        .map(|n| n.trim().parse().unwrap())
        .collect();
    assert_eq!(order, vec![0, 1, 2, 3, 4], "{printed:?}");
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_follow_sqlite() {
    logs_follow(TestBackend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_follow_postgres() {
    logs_follow(TestBackend::Postgres).await
}
