//! Helpers for the tests that run this crate's argument vectors against the real
//! Docker engine: running a vector (as the engine does, no shell in between), waiting,
//! and an environment whose containers, network, volumes and directory are removed
//! when the test ends, however it ends.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use paasportal_odoo::docker_args::container_remove;
use paasportal_odoo::naming::{BaseDir, EnvNames};

pub const POSTGRES_IMAGE: &str = "paasportal/postgres:15";
pub const PGBOUNCER_IMAGE: &str = "paasportal/pgbouncer:latest";
pub const ODOO_17: &str = "paasportal/odoo-standin:17.0";
pub const ODOO_18: &str = "paasportal/odoo-standin:18.0";

/// What a command did.
pub struct Out {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `argv`, with `stdin` from a file if given.
pub fn run_argv(argv: &[String], stdin: Option<&Path>) -> Out {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    cmd.stdin(match stdin {
        Some(p) => Stdio::from(std::fs::File::open(p).unwrap()),
        None => Stdio::null(),
    });
    let out = cmd.output().expect("spawn");
    Out {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `argv` and returns its stdout; fails the test when it fails.
pub fn must(argv: &[String]) -> String {
    let out = run_argv(argv, None);
    assert!(out.ok, "{argv:?} failed: {}{}", out.stdout, out.stderr);
    out.stdout
}

/// Polls `f` every 300 ms for up to `secs`.
pub fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Fails the test, naming the fix, when a testbed image is missing.
pub fn require_images() {
    for image in [POSTGRES_IMAGE, PGBOUNCER_IMAGE, ODOO_17, ODOO_18] {
        let ok = Command::new("docker")
            .args(["image", "inspect", image])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "image {image} is missing: run testbed/build-images (scripts/test does)"
        );
    }
}

/// An environment under a temporary base directory, torn down on drop.
pub struct TestEnv {
    pub names: EnvNames,
    base: tempfile::TempDir,
}

impl TestEnv {
    /// A fresh environment id under a fresh base directory.
    pub fn new(read_replica: bool) -> Self {
        let base = tempfile::Builder::new().prefix("ppenv").tempdir().unwrap();
        let names = EnvNames::new(
            uuid::Uuid::new_v4(),
            BaseDir::new(base.path().to_str().unwrap()).unwrap(),
            read_replica,
        );
        TestEnv { names, base }
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let n = &self.names;
        for c in [
            n.odoo_container(),
            n.pgbouncer(),
            n.pgbouncer_replica(),
            n.db_container(),
            n.replica_container(),
        ] {
            let _ = run_argv(&container_remove(&c), None);
        }
        let _ = Command::new("docker")
            .args(["network", "rm", &n.network()])
            .output();
        let _ = Command::new("docker")
            .args(["volume", "rm", &n.pg_volume(), &n.replica_volume()])
            .output();
        let _ = Command::new("sh")
            .arg("-c")
            .arg("docker images --format '{{.Repository}}:{{.Tag}}' | grep -F \"$1\" | xargs -r docker rmi -f")
            .arg("sh")
            .arg(format!("paasportal/deps-{}:", n.env_uuid()))
            .output();
        // data/ and logs/ belong to uid 100: remove the environment's directory as root.
        let _ = Command::new("docker")
            .args(["run", "--rm", "--user", "root", "--entrypoint", "rm", "-v"])
            .arg(format!("{}:/env", self.base.path().display()))
            .args([ODOO_17, "-rf", "--"])
            .arg(format!("/env/{}", n.env_uuid()))
            .output();
    }
}
