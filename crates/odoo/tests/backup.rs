//! Migration backups from the testbed's S3 server (moto): download with progress,
//! check against the manifest, refuse the corrupt one; then the whole restore run
//! with real containers built from this crate's argument vectors: the database
//! replaced by the dump, the filestore unpacked as the Odoo user, the parameters
//! sanitised, Odoo healthy on the restored database.
//!
//! Needs `PAASPORTAL_TEST_S3_*` and `PAASPORTAL_TEST_BACKUP_*` (`pp_start_s3`), Docker
//! and the testbed images (`testbed/build-images`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use paasportal_core::ResourceSplit;
use paasportal_odoo::backup::archive::ArchiveError;
use paasportal_odoo::backup::{
    BackupStorage, RestoreInput, StdinSource, StorageConfig, StorageError, check_and_extract,
    restore_steps,
};
use paasportal_odoo::config_file::{ConfigInput, generate};
use paasportal_odoo::docker_args::database::{
    DbImages, DbRun, pg_isready, pgbouncer_primary, postgres_primary, psql,
};
use paasportal_odoo::docker_args::odoo::{
    OdooRun, health_check, parse_health_status, prepare_dirs, run,
};
use paasportal_odoo::docker_args::{container_remove, network_create};
use paasportal_odoo::naming::{BaseDir, EnvNames};
use paasportal_odoo::overrides::Overrides;
use paasportal_testkit::require_env;

const POSTGRES_IMAGE: &str = "paasportal/postgres:15";
const PGBOUNCER_IMAGE: &str = "paasportal/pgbouncer:latest";
const ODOO_IMAGE: &str = "paasportal/odoo-standin:17.0";

fn storage() -> BackupStorage {
    BackupStorage::new(&StorageConfig {
        endpoint: require_env("PAASPORTAL_TEST_S3_ENDPOINT"),
        bucket: require_env("PAASPORTAL_TEST_S3_BUCKET"),
        region: require_env("PAASPORTAL_TEST_S3_REGION"),
        access_key_id: require_env("PAASPORTAL_TEST_S3_ACCESS_KEY"),
        secret_access_key: require_env("PAASPORTAL_TEST_S3_SECRET_KEY"),
    })
    .unwrap()
}

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run_argv(argv: &[String], stdin: Option<&Path>) -> Out {
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

fn must(argv: &[String]) -> String {
    let out = run_argv(argv, None);
    assert!(out.ok, "{argv:?} failed: {}{}", out.stdout, out.stderr);
    out.stdout
}

fn require_images() {
    for image in [POSTGRES_IMAGE, PGBOUNCER_IMAGE, ODOO_IMAGE] {
        let ok = Command::new("docker")
            .args(["image", "inspect", image])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "image {image} is missing: run testbed/build-images (scripts/testbed up does)"
        );
    }
}

#[tokio::test]
async fn downloads_with_progress_and_checks_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("good.zip");
    let mut reports = Vec::new();
    let n = storage()
        .download(
            &require_env("PAASPORTAL_TEST_BACKUP_KEY"),
            &zip,
            |done, total| reports.push((done, total)),
        )
        .await
        .unwrap();
    assert_eq!(n, std::fs::metadata(&zip).unwrap().len());
    assert_eq!(reports.first(), Some(&(0, n)));
    assert_eq!(reports.last(), Some(&(n, n)));
    assert!(reports.windows(2).all(|w| w[0].0 <= w[1].0));

    let b = check_and_extract(&zip, &dir.path().join("x")).unwrap();
    assert_eq!(b.manifest.database.as_deref(), Some("production"));
    assert_eq!(b.filestore.files, 2);
    assert_eq!(b.filestore.strip_components, 1);
    let dump = std::fs::read_to_string(&b.dump_path).unwrap();
    assert!(dump.contains("restored-from-backup"));
}

#[tokio::test]
async fn a_corrupt_backup_is_refused_and_a_missing_one_named() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("corrupt.zip");
    storage()
        .download(
            &require_env("PAASPORTAL_TEST_BACKUP_CORRUPT_KEY"),
            &zip,
            |_, _| {},
        )
        .await
        .unwrap();
    let e = check_and_extract(&zip, &dir.path().join("x")).unwrap_err();
    assert_eq!(
        e,
        ArchiveError::DigestMismatch {
            name: "dump.sql".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "dump.sql does not match its sha256 in manifest.json (corrupt or altered backup)"
    );

    let e = storage()
        .download(
            "migrations/no-such-backup.zip",
            &dir.path().join("y.zip"),
            |_, _| {},
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::NotFound { .. }), "{e}");
}

/// Removes the environment's containers, network, volume and directory.
struct Cleanup {
    names: EnvNames,
    base: tempfile::TempDir,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let n = &self.names;
        for c in [n.odoo_container(), n.pgbouncer(), n.db_container()] {
            let _ = run_argv(&container_remove(&c), None);
        }
        let _ = Command::new("docker")
            .args(["network", "rm", &n.network()])
            .output();
        let _ = Command::new("docker")
            .args(["volume", "rm", &n.pg_volume()])
            .output();
        // data/ and logs/ belong to uid 100: remove them as root in a container.
        let _ = Command::new("docker")
            .args(["run", "--rm", "--user", "root", "--entrypoint", "rm", "-v"])
            .arg(format!("{}:/env", self.base.path().display()))
            .args([ODOO_IMAGE, "-rf", "--"])
            .arg(format!("/env/{}", n.env_uuid()))
            .output();
    }
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[tokio::test]
async fn restore_replaces_the_database_and_filestore_and_sanitises() {
    require_images();
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("good.zip");
    storage()
        .download(&require_env("PAASPORTAL_TEST_BACKUP_KEY"), &zip, |_, _| {})
        .await
        .unwrap();
    let backup = check_and_extract(&zip, &dir.path().join("x")).unwrap();

    let base = tempfile::Builder::new().prefix("ppenv").tempdir().unwrap();
    let names = EnvNames::new(
        uuid::Uuid::new_v4(),
        BaseDir::new(base.path().to_str().unwrap()).unwrap(),
        false,
    );
    let n = &names;
    let _cleanup = Cleanup {
        names: names.clone(),
        base,
    };
    let host = "restored.apps.paasportal.test";
    let password = "db-pass-for-restore-test";
    let split = ResourceSplit::of(1.0, 1024);
    let images = DbImages {
        postgres: POSTGRES_IMAGE.into(),
        pgbouncer: PGBOUNCER_IMAGE.into(),
    };
    let db = DbRun {
        names: n,
        images: &images,
        resources: split,
        env_ram_mb: 1024,
        db_password: password,
        replication_password: None,
    };

    must(&network_create(n));
    must(&postgres_primary(&db));
    wait_until("PostgreSQL", 60, || {
        run_argv(&pg_isready(&n.db_container()), None).ok
    });
    must(&pgbouncer_primary(&db));
    for cmd in prepare_dirs(n, ODOO_IMAGE) {
        must(&cmd);
    }
    let conf = generate(&ConfigInput {
        names: n,
        odoo_major: 17,
        env_ram_mb: 1024,
        resources: split,
        db_password: password,
        repos: &[],
        overrides: &Overrides::default(),
    })
    .unwrap();
    std::fs::write(n.conf_path(), conf.text).unwrap();
    must(&run(&OdooRun {
        names: n,
        image: ODOO_IMAGE,
        hostname: host,
        resources: split,
    }));
    // Odoo creates and initialises its database at start-up; the restore replaces it.
    let health = health_check(n, 5);
    wait_until("the fresh database", 90, || {
        parse_health_status(&run_argv(&health, None).stdout) == Some(200)
    });

    let new_uuid = uuid::Uuid::new_v4();
    let steps = restore_steps(&RestoreInput {
        names: n,
        odoo_image: ODOO_IMAGE,
        hostname: host,
        filestore_strip: backup.filestore.strip_components,
        new_database_uuid: new_uuid,
    });
    for s in &steps {
        let stdin = s.stdin.map(|src| match src {
            StdinSource::Dump => backup.dump_path.as_path(),
            StdinSource::Filestore => backup.filestore_path.as_path(),
        });
        let out = run_argv(&s.argv, stdin);
        assert!(
            out.ok,
            "{} ({:?}) failed: {}{}",
            s.what, s.argv, out.stdout, out.stderr
        );
    }

    let q = |sql: &str| {
        must(&psql(&n.db_container(), &n.db_name(), sql))
            .trim()
            .to_owned()
    };
    assert_eq!(
        q("SELECT value FROM ir_config_parameter WHERE key = 'migration.marker'"),
        "restored-from-backup"
    );
    assert_eq!(
        q("SELECT value FROM ir_config_parameter WHERE key = 'database.uuid'"),
        new_uuid.to_string()
    );
    assert_eq!(
        q("SELECT value FROM ir_config_parameter WHERE key = 'web.base.url'"),
        format!("https://{host}")
    );
    assert_eq!(q("SELECT count(*) FROM ir_mail_server WHERE active"), "0");
    assert_eq!(q("SELECT count(*) FROM ir_mail_server"), "1");

    let filestore = Path::new(&n.data_dir()).join("filestore").join(n.db_name());
    let f = filestore.join("ab/ab0123456789abcdef0123456789abcdef012345");
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "attachment one\n");
    assert!(
        filestore
            .join("cd/cd0123456789abcdef0123456789abcdef012345")
            .exists()
    );
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&f).unwrap().uid(), 100);

    wait_until("Odoo on the restored database", 90, || {
        parse_health_status(&run_argv(&health, None).stdout) == Some(200)
    });
}
