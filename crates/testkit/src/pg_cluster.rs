//! A throwaway PostgreSQL cluster that a test may stop and start at will.

use std::path::PathBuf;
use std::process::Command;

use crate::{free_port, require_env};

/// A private PostgreSQL cluster in a temporary directory, run as the `postgres` OS user
/// when the test runs as root (PostgreSQL refuses to run as root). Stopped on drop.
pub struct PgCluster {
    dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
}

impl PgCluster {
    /// initdb and start a cluster on a free port.
    pub fn start() -> PgCluster {
        let bin = PathBuf::from(require_env("PAASPORTAL_TEST_PG_BIN"));
        let dir = tempfile::Builder::new()
            .prefix("pp-pg-")
            .tempdir()
            .expect("temp dir");
        let port = free_port();
        let c = PgCluster { dir, port, bin };
        c.chown();
        c.run(
            "initdb",
            &[
                "-D",
                &c.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        std::fs::write(
            c.dir.path().join("data/postgresql.auto.conf"),
            format!("listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\nfsync = on\n", c.dir.path().display()),
        )
        .expect("write postgresql.auto.conf");
        c.chown();
        c.start_again();
        c
    }

    /// The superuser URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server, waiting for it to exit (`fast` mode).
    pub fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    /// Crashes the server: immediate shutdown, no checkpoint, as after `kill -9`.
    pub fn stop_immediate(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    /// Starts the server again, waiting until it accepts connections.
    pub fn start_again(&self) {
        let log = self.dir.path().join("pg.log").display().to_string();
        self.run("pg_ctl", &["-D", &self.data(), "-l", &log, "-w", "start"]);
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn chown(&self) {
        if is_root() {
            let _ = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(self.dir.path())
                .status();
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let status = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(args)
                .output()
        } else {
            Command::new(&exe).args(args).output()
        };
        match status {
            Ok(o) if o.status.success() => {}
            Ok(o) => panic!(
                "{tool} {args:?} failed: {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => panic!("{tool} {args:?} could not run: {e}"),
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let exe = self.bin.join("pg_ctl");
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "stop"];
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(args)
                .output()
        } else {
            Command::new(&exe).args(args).output()
        };
    }
}

fn is_root() -> bool {
    std::env::var("USER").map(|u| u == "root").unwrap_or(false)
        || Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout == b"0\n")
            .unwrap_or(false)
}
