//! `paasportal serve` as a user meets it: first start, probes, shutdown, and bad input.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Served};

/// Runs `serve` expecting it to refuse to start; returns its stderr.
fn refuse(args: &[&str], env: &[(&str, &str)]) -> String {
    let listen: &[&str] = if args.contains(&"--listen") {
        &[]
    } else {
        &["--listen", "127.0.0.1:0"]
    };
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(listen)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run paasportal serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve {args:?} should have refused to start but kept running");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit code 2, stderr:\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "no colour codes when stderr is not a terminal: {stderr:?}"
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(
        errors.len(),
        1,
        "exactly one error line expected:\n{stderr}"
    );
    errors[0].to_owned()
}

#[test]
fn first_start_creates_the_admin_once_and_serves_probes() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Served::start(dir.path(), &[]);
    let line = s.wait_for("Created portal admin admin@localhost with password: ");
    let password = line.rsplit(": ").next().unwrap().trim();
    assert!(password.len() >= 20, "a strong generated password");
    assert_eq!(s.get("/healthz"), (200, r#"{"status":"ok"}"#.to_owned()));
    let (code, body) = s.get("/readyz");
    assert_eq!(code, 200, "{body}");
    let (status, lines) = s.terminate();
    assert!(status.success(), "SIGTERM is a clean shutdown: {status:?}");
    assert!(lines.iter().any(|l| l.contains("flushing the log writer")));
    assert!(
        dir.path().join("paasportal.db").exists(),
        "SQLite lives in the data dir"
    );
    assert!(dir.path().join("master.key").exists());

    let mut again = Served::start(dir.path(), &[]);
    again.wait_for("paasportal serving");
    assert!(
        !again
            .seen
            .iter()
            .any(|l| l.contains("Created portal admin")),
        "only on first start"
    );
}

#[test]
fn configured_admin_password_is_not_printed() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Served::start(
        dir.path(),
        &[
            ("PAASPORTAL_ADMIN_EMAIL", "ops@example.com"),
            ("PAASPORTAL_ADMIN_PASSWORD", "s3cret-Passw0rd!"),
        ],
    );
    s.wait_for("created portal admin");
    let (_, lines) = s.terminate();
    assert!(
        !lines.iter().any(|l| l.contains("s3cret-Passw0rd!")),
        "the password never reaches the log"
    );
}

#[test]
fn invalid_database_url_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let err = refuse(
        &[],
        &[
            ("PAASPORTAL_DATA_DIR", d),
            ("PAASPORTAL_DATABASE_URL", "mysql://root@localhost/x"),
        ],
    );
    assert!(
        err.contains("invalid database URL") && err.contains("PAASPORTAL_DATABASE_URL"),
        "{err}"
    );
}

#[test]
fn unreachable_database_retries_then_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let port = paasportal_testkit::free_port();
    let url = format!("postgres://paasportal:hunter2@127.0.0.1:{port}/paasportal");
    let started = Instant::now();
    let err = refuse(
        &[],
        &[
            ("PAASPORTAL_DATA_DIR", d),
            ("PAASPORTAL_DATABASE_URL", &url),
        ],
    );
    assert!(
        err.contains("cannot reach the database") && err.contains("attempts"),
        "{err}"
    );
    assert!(
        err.contains(&format!("connection refused by 127.0.0.1:{port}")),
        "the cause, not the pool's timeout: {err}"
    );
    assert!(!err.contains("pool timed out"), "{err}");
    assert!(!err.contains("hunter2"), "the password is redacted: {err}");
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "it retried with backoff before giving up"
    );
}

#[test]
fn unwritable_data_dir_is_one_clear_line() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let inside_a_file = file.path().join("data");
    let err = refuse(
        &[],
        &[("PAASPORTAL_DATA_DIR", inside_a_file.to_str().unwrap())],
    );
    assert!(
        err.contains("not writable") && err.contains("PAASPORTAL_DATA_DIR"),
        "{err}"
    );
}

#[test]
fn port_in_use_is_one_clear_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let err = refuse(
        &["--listen", &addr],
        &[("PAASPORTAL_DATA_DIR", dir.path().to_str().unwrap())],
    );
    assert!(
        err.contains("address already in use") && err.contains("PAASPORTAL_LISTEN"),
        "{err}"
    );
}

#[test]
fn invalid_log_level_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let err = refuse(
        &["--log-level", "loud!!"],
        &[("PAASPORTAL_DATA_DIR", dir.path().to_str().unwrap())],
    );
    assert!(err.contains("PAASPORTAL_LOG_LEVEL"), "{err}");
}

#[test]
fn postgres_backend_serves_too() {
    let t = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(paasportal_testkit::TestStore::new(
            paasportal_testkit::TestBackend::Postgres,
        ));
    let dir = tempfile::tempdir().unwrap();
    let s = Served::start(dir.path(), &[("PAASPORTAL_DATABASE_URL", &t.url)]);
    let (code, body) = s.get("/readyz");
    assert_eq!(code, 200, "{body}");
    let (status, _) = s.terminate();
    assert!(status.success());
}

/// The data directory is 0700 and everything `serve` writes in it 0600 (the database,
/// its `-wal`/`-shm` files, the keys), also when an older version left them readable.
#[test]
fn control_plane_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("left-over.txt"), "x").unwrap();
    std::fs::set_permissions(
        dir.join("left-over.txt"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let mut s = Served::start(&dir, &[]);
    s.wait_for("paasportal serving");
    assert_eq!(s.get("/readyz").0, 200);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "data directory");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            files.push(entry.file_name().to_string_lossy().into_owned());
            assert_eq!(mode(&entry.path()), 0o600, "{}", entry.path().display());
        }
    }
    for name in [
        "paasportal.db",
        "paasportal.db-wal",
        "paasportal.db-shm",
        "master.key",
        "left-over.txt",
    ] {
        assert!(
            files.iter().any(|f| f == name),
            "{name} missing from {files:?}"
        );
    }
    let (status, _) = s.terminate();
    assert!(status.success());
}
