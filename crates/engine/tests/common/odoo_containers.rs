//! The Odoo stages' containers for tests that run before the infrastructure stages
//! exist in the same pipeline: the database, PgBouncer and the Odoo container started
//! with the `odoo` crate's argument vectors (as those stages will), and removed, with
//! the environment's dependency images, when the test ends.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use paasportal_core::ResourceSplit;
use paasportal_odoo::config_file::{ConfigInput, generate};
use paasportal_odoo::docker_args::database::{
    DbImages, DbRun, pg_isready, pgbouncer_primary, postgres_primary,
};
use paasportal_odoo::docker_args::odoo::{OdooRun, prepare_dirs, run};
use paasportal_odoo::docker_args::{container_remove, network_create};
use paasportal_odoo::naming::{BaseDir, EnvNames};
use paasportal_odoo::overrides::Overrides;

use super::odoo_world::World;

/// The testbed's stand-in for `odoo:18.0`.
pub const ODOO_18: &str = "paasportal/odoo-standin:18.0";
const POSTGRES: &str = "paasportal/postgres:15";
const PGBOUNCER: &str = "paasportal/pgbouncer:latest";

/// Runs `argv` here (the server is this machine); true when it exits 0.
pub fn run_argv(argv: &[String]) -> (bool, String) {
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .expect("spawn");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Runs `argv`; fails the test when it fails.
pub fn must(argv: &[String]) -> String {
    let (ok, out) = run_argv(argv);
    assert!(ok, "{argv:?} failed: {out}");
    out
}

/// Fails the test, naming the fix, when a testbed image is missing.
pub fn require_images() {
    for image in [POSTGRES, PGBOUNCER, ODOO_18] {
        let (ok, _) = run_argv(&[
            "docker".into(),
            "image".into(),
            "inspect".into(),
            image.into(),
        ]);
        assert!(
            ok,
            "image {image} is missing: run testbed/build-images (scripts/test does)"
        );
    }
}

/// The environment's containers; removed on drop.
pub struct OdooContainers {
    pub names: EnvNames,
}

impl OdooContainers {
    /// Starts the database, PgBouncer and Odoo (from `image`) for the world's environment.
    pub fn start(w: &World, image: &str) -> Self {
        require_images();
        let names = EnvNames::new(
            w.environment.id,
            BaseDir::new(w.base.path().to_str().unwrap()).unwrap(),
            false,
        );
        // addons/ stays the SSH user's, who clones into it.
        let addons = std::path::PathBuf::from(names.addons_dir());
        std::fs::create_dir_all(&addons).unwrap();
        for d in [addons.parent().unwrap(), addons.as_path()] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        let c = OdooContainers { names };
        let n = &c.names;
        let split = ResourceSplit::of(2.0, 2048);
        let images = DbImages {
            postgres: POSTGRES.into(),
            pgbouncer: PGBOUNCER.into(),
        };
        let password = "engine-test-db-password";
        let db = DbRun {
            names: n,
            images: &images,
            resources: split,
            env_ram_mb: 2048,
            db_password: password,
            replication_password: None,
        };
        must(&network_create(n));
        must(&postgres_primary(&db));
        wait_until("PostgreSQL", 60, || {
            run_argv(&pg_isready(&n.db_container())).0
        });
        must(&pgbouncer_primary(&db));
        for cmd in prepare_dirs(n, image) {
            must(&cmd);
        }
        let conf = generate(&ConfigInput {
            names: n,
            odoo_major: 18,
            env_ram_mb: 2048,
            resources: split,
            db_password: password,
            repos: &[],
            overrides: &Overrides::parse(&serde_json::Value::Null).unwrap(),
        })
        .unwrap();
        std::fs::write(n.conf_path(), conf.text).unwrap();
        c.run_odoo(w, image);
        c
    }

    /// (Re)creates the Odoo container from `image`, as `starting_container` does.
    pub fn run_odoo(&self, w: &World, image: &str) {
        let _ = run_argv(&container_remove(&self.names.odoo_container()));
        let host = w.environment.hostname();
        must(&run(&OdooRun {
            names: &self.names,
            image,
            hostname: &host,
            resources: ResourceSplit::of(2.0, 2048),
        }));
    }
}

impl Drop for OdooContainers {
    fn drop(&mut self) {
        let n = &self.names;
        for c in [n.odoo_container(), n.pgbouncer(), n.db_container()] {
            let _ = run_argv(&container_remove(&c));
        }
        let _ = run_argv(&["docker".into(), "network".into(), "rm".into(), n.network()]);
        let _ = run_argv(&["docker".into(), "volume".into(), "rm".into(), n.pg_volume()]);
        let _ = Command::new("sh")
            .arg("-c")
            .arg("docker images --format '{{.Repository}}:{{.Tag}}' | grep -F \"$1\" | xargs -r docker rmi -f")
            .arg("sh")
            .arg(format!("paasportal/deps-{}:", n.env_uuid()))
            .output();
        // data/ and logs/ belong to uid 100: remove the environment's directory as root.
        let _ = Command::new("docker")
            .args(["run", "--rm", "--user", "root", "--entrypoint", "rm", "-v"])
            .arg(format!("{}:/env", n.env_dir()))
            .args([ODOO_18, "-rf", "--", "/env/data", "/env/logs"])
            .output();
    }
}

/// Polls `f` every 300 ms for up to `secs`.
pub fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}
