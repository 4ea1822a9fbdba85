//! Migration backups from the testbed's S3 server (moto): download with progress,
//! check against the manifest, refuse the corrupt one; then the whole restore run
//! with real containers built from this crate's argument vectors: the database
//! replaced by the dump, the filestore unpacked as the Odoo user, the parameters
//! sanitised, Odoo healthy on the restored database.
//!
//! Needs `PAASPORTAL_TEST_S3_*` and `PAASPORTAL_TEST_BACKUP_*` (`pp_start_s3`), Docker
//! and the testbed images (`testbed/build-images`).

use std::path::Path;

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
use paasportal_odoo::docker_args::network_create;
use paasportal_odoo::docker_args::odoo::{
    OdooRun, health_check, parse_health_status, prepare_dirs, run,
};
use paasportal_odoo::overrides::Overrides;
use paasportal_testkit::require_env;

mod common;
use common::{
    ODOO_17 as ODOO_IMAGE, PGBOUNCER_IMAGE, POSTGRES_IMAGE, TestEnv, must, require_images,
    run_argv, wait_until,
};

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

    let env = TestEnv::new(false);
    let n = &env.names;
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
