//! The one-time migration restore of `initializing_database` against the testbed's S3
//! (moto) backups and real containers: restored exactly once with progress events, and
//! a corrupt backup refused with the spec's error data, the environment not marked.

mod common;

use std::time::Duration;

use common::harness::{Harness, messages};
use common::odoo_containers::{ODOO_18, OdooContainers, must};
use common::odoo_world::{World, config, world};
use paasportal_core::{DeploymentStatus, EventKind, LogLevel, LogRecord, Stage, StepStatus};
use paasportal_engine::Pipeline;
use paasportal_engine::stages::{Connecting, Initializing, InitializingDatabase};
use paasportal_odoo::backup::StorageConfig;
use paasportal_odoo::docker_args::database::psql;
use paasportal_store::writer::Committed;
use paasportal_testkit::{TestBackend, require_env};

const LIMIT: Duration = Duration::from_secs(180);

fn line<'a>(lines: &'a [LogRecord], text: &str) -> &'a LogRecord {
    lines
        .iter()
        .find(|l| l.log.message.contains(text))
        .unwrap_or_else(|| panic!("no line with {text:?} in {:#?}", messages(lines)))
}

async fn migrated_world(h: &Harness, tag: &str, key: &str) -> World {
    let org =
        h.t.store
            .create_organization(&format!("Legacy {tag}"))
            .await
            .unwrap();
    let m =
        h.t.store
            .create_migration(org.id, "legacy", key)
            .await
            .unwrap();
    world(h, tag, "main", Some(m.id)).await
}

async fn deploy(h: &Harness, w: &World, id: uuid::Uuid) -> (DeploymentStatus, Vec<LogRecord>) {
    let pipeline = Pipeline::empty()
        .with(Stage::Initializing, Initializing)
        .with(Stage::Connecting, Connecting)
        .with(Stage::InitializingDatabase, InitializingDatabase);
    let mut cfg = config(&w.base, Duration::from_secs(1));
    cfg.backups = Some(StorageConfig {
        endpoint: require_env("PAASPORTAL_TEST_S3_ENDPOINT"),
        bucket: require_env("PAASPORTAL_TEST_S3_BUCKET"),
        region: require_env("PAASPORTAL_TEST_S3_REGION"),
        access_key_id: require_env("PAASPORTAL_TEST_S3_ACCESS_KEY"),
        secret_access_key: require_env("PAASPORTAL_TEST_S3_SECRET_KEY"),
    });
    let worker = h.start_worker(h.engine(pipeline, cfg));
    let d = h.wait_finished(id, LIMIT).await;
    worker.stop().await;
    (d.status, h.logs(id).await)
}

fn query(c: &OdooContainers, sql: &str) -> String {
    must(&psql(&c.names.db_container(), &c.names.db_name(), sql))
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_migration_is_restored_exactly_once() {
    let h = Harness::new(TestBackend::Sqlite).await;
    let w = migrated_world(&h, "restore", &require_env("PAASPORTAL_TEST_BACKUP_KEY")).await;
    let c = OdooContainers::start(&w, ODOO_18);
    let (status, lines) = deploy(&h, &w, w.deployment.id).await;
    assert_eq!(status, DeploymentStatus::Success, "{:#?}", messages(&lines));
    line(&lines, "Restoring from migration backup...");
    line(&lines, "Restoring database from migration backup...");
    assert_eq!(
        line(&lines, "Migration restore complete (").log.level,
        LogLevel::Info
    );
    assert_eq!(
        query(
            &c,
            "SELECT value FROM ir_config_parameter WHERE key = 'migration.marker'"
        ),
        "restored-from-backup"
    );
    assert_eq!(
        query(
            &c,
            "SELECT value FROM ir_config_parameter WHERE key = 'web.base.url'"
        ),
        format!("https://{}", w.environment.hostname())
    );
    assert_eq!(
        query(&c, "SELECT count(*) FROM ir_mail_server WHERE active"),
        "0"
    );
    let env = h.t.store.get_environment(w.environment.id).await.unwrap();
    assert!(env.migration_restore_completed);
    let marked = env.migration_restore_completed_at.unwrap();
    let step =
        h.t.store
            .list_steps(w.deployment.id)
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.step == Stage::InitializingDatabase.id())
            .unwrap();
    assert_eq!(step.status, StepStatus::Completed);
    let last = h.t.store.last_seq().await.unwrap();
    let progress: Vec<(String, i64)> =
        h.t.store
            .entries_between(0, last)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|c| match c {
                Committed::Event(e) if e.kind == EventKind::MigrationProgress => Some((
                    e.data["step"].as_str().unwrap().to_owned(),
                    e.data["progress_percent"].as_i64().unwrap(),
                )),
                _ => None,
            })
            .collect();
    assert_eq!(progress.first().unwrap().0, "downloading", "{progress:?}");
    assert_eq!(
        progress.last().unwrap(),
        &("completed".to_owned(), 100),
        "{progress:?}"
    );
    assert!(
        progress.windows(2).all(|p| p[0].1 <= p[1].1),
        "{progress:?}"
    );

    // A redeploy keeps the restored database as it is.
    query(
        &c,
        "UPDATE ir_config_parameter SET value = 'changed-after-restore' WHERE key = 'migration.marker' RETURNING 1",
    );
    let again = w.redeploy(&h).await;
    let (status, lines) = deploy(&h, &w, again.id).await;
    assert_eq!(status, DeploymentStatus::Success);
    line(
        &lines,
        "Database kept: the migration was restored by an earlier deployment",
    );
    assert!(!lines.iter().any(|l| l.log.message.contains("Restoring")));
    assert_eq!(
        query(
            &c,
            "SELECT value FROM ir_config_parameter WHERE key = 'migration.marker'"
        ),
        "changed-after-restore"
    );
    let env = h.t.store.get_environment(w.environment.id).await.unwrap();
    assert_eq!(env.migration_restore_completed_at, Some(marked));
    drop(c);
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_corrupt_backup_is_fatal_and_the_environment_is_not_marked_restored() {
    let h = Harness::new(TestBackend::Postgres).await;
    let w = migrated_world(
        &h,
        "corrupt",
        &require_env("PAASPORTAL_TEST_BACKUP_CORRUPT_KEY"),
    )
    .await;
    let c = OdooContainers::start(&w, ODOO_18);
    let (status, lines) = deploy(&h, &w, w.deployment.id).await;
    assert_eq!(status, DeploymentStatus::Failed);
    let err = lines
        .iter()
        .find(|l| l.log.level == LogLevel::Error)
        .expect("an error line");
    assert_eq!(
        err.log.message,
        "Database initialization failed: The migration backup is corrupt"
    );
    assert_eq!(err.log.step.as_deref(), Some("initializing_database"));
    let data = &err.log.data;
    assert_eq!(data["db_name"], c.names.db_name());
    assert!(data["elapsed_seconds"].as_f64().is_some(), "{data}");
    assert_eq!(data["max_retries"], 1);
    assert!(
        data["last_error"]
            .as_str()
            .unwrap()
            .contains("manifest.json"),
        "{data}"
    );
    let env = h.t.store.get_environment(w.environment.id).await.unwrap();
    assert!(!env.migration_restore_completed);
    assert!(env.migration_restore_completed_at.is_none());
    drop(c);
    h.close().await;
}
