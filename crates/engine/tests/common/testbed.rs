//! The testbed for the deployment tests: its images, a base directory the SSH user
//! owns, settings that make deployments quick, `docker` run locally to check what the
//! pipeline did, and a guard removing every container, network, volume and directory
//! of an environment when the test ends, however it ends.

use std::process::{Command, Stdio};
use std::time::Duration;

use paasportal_engine::EngineConfig;
use paasportal_engine::config::DeploySettings;
use paasportal_odoo::docker_args::database::DbImages;
use paasportal_odoo::naming::{BaseDir, ENVIRONMENT_LABEL, TRAEFIK_NETWORK};
use paasportal_store::versions::NewOdooVersion;
use paasportal_testkit::require_env;

use super::harness::{Harness, fast_config};

pub const POSTGRES_IMAGE: &str = "paasportal/postgres:15";
pub const PGBOUNCER_IMAGE: &str = "paasportal/pgbouncer:latest";
pub const ODOO_18: &str = "paasportal/odoo-standin:18.0";

/// What a command did.
pub struct Out {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a program with arguments (no shell).
pub fn sh(argv: &[&str]) -> Out {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    Out {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    }
}

/// Runs a program and returns its stdout; fails the test when it fails.
pub fn must(argv: &[&str]) -> String {
    let out = sh(argv);
    assert!(out.ok, "{argv:?} failed: {}\n{}", out.stdout, out.stderr);
    out.stdout
}

/// `docker inspect --format FORMAT NAME`.
pub fn inspect(name: &str, format: &str) -> String {
    must(&["docker", "inspect", "--format", format, name])
}

/// Fails the test, naming the fix, when Docker or a testbed image is missing; makes
/// sure `traefik-public` exists, as on a server running Traefik.
pub fn require_testbed() {
    for image in [POSTGRES_IMAGE, PGBOUNCER_IMAGE, ODOO_18] {
        assert!(
            sh(&["docker", "image", "inspect", image]).ok,
            "image {image} is missing: run testbed/build-images (scripts/test does)"
        );
    }
    if !sh(&["docker", "network", "inspect", TRAEFIK_NETWORK]).ok {
        let out = sh(&[
            "docker",
            "network",
            "create",
            "--label",
            "paasportal.testbed=true",
            TRAEFIK_NETWORK,
        ]);
        assert!(
            out.ok || out.stderr.contains("already exists"),
            "cannot create {TRAEFIK_NETWORK}: {}",
            out.stderr
        );
    }
}

/// A base directory owned by the SSH user, removed (as root, since `data/` belongs to
/// uid 100) with everything in it on drop.
pub struct BaseDirGuard {
    pub dir: tempfile::TempDir,
}

impl BaseDirGuard {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("pp-deploy-")
            .tempdir()
            .unwrap();
        let user = require_env("PAASPORTAL_TEST_SSH_USER");
        must(&["chown", &format!("{user}:"), dir.path().to_str().unwrap()]);
        must(&["chmod", "755", dir.path().to_str().unwrap()]);
        BaseDirGuard { dir }
    }

    pub fn path(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }
}

/// Removes an environment's containers, network and volumes (all carry its id) on drop.
pub struct EnvGuard {
    pub env_uuid: String,
}

impl Drop for EnvGuard {
    fn drop(&mut self) {
        let u = &self.env_uuid;
        let ids = sh(&[
            "docker",
            "ps",
            "-aq",
            "--filter",
            &format!("label={ENVIRONMENT_LABEL}={u}"),
        ]);
        for id in ids.stdout.lines().filter(|l| !l.is_empty()) {
            let _ = sh(&["docker", "rm", "-f", "-v", id]);
        }
        let _ = sh(&["docker", "network", "rm", &format!("paasportal_net_{u}")]);
        let images = sh(&[
            "docker",
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            &format!("paasportal/deps-{u}"),
        ]);
        for image in images.stdout.lines().filter(|l| !l.is_empty()) {
            let _ = sh(&["docker", "rmi", "-f", image]);
        }
        let _ = sh(&[
            "docker",
            "volume",
            "rm",
            "-f",
            &format!("paasportal_pgdata_{u}"),
            &format!("paasportal_pgdata_{u}_replica"),
        ]);
    }
}

/// Settings for deployments on the testbed: its images, `base`, a short health wait.
pub fn deploy_config(base: &BaseDirGuard) -> EngineConfig {
    EngineConfig {
        deploy: DeploySettings {
            base_dir: BaseDir::new(base.path()).unwrap(),
            db_images: DbImages {
                postgres: POSTGRES_IMAGE.into(),
                pgbouncer: PGBOUNCER_IMAGE.into(),
            },
            ready_interval: Duration::from_secs(2),
            health_wait: Duration::from_millis(500),
            health_attempts: 10,
            stop_grace_secs: 5,
        },
        ..fast_config()
    }
}

/// Registers Odoo 18.0 with `image` (before [`Harness::seed`], which then keeps it).
pub async fn odoo_version(h: &Harness, image: &str) {
    h.t.store
        .create_odoo_version(&NewOdooVersion {
            version: "18.0".into(),
            image: image.into(),
            registry_username: None,
            registry_password_enc: None,
        })
        .await
        .unwrap();
}
