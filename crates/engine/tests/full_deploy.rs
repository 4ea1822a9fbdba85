//! One environment deployed end to end with [`Pipeline::standard`], all 17 stages real,
//! then redeployed: repositories of every scope from the testbed's git server (the
//! private one with its token), dependencies installed then skipped, the migration
//! backup from S3 (moto) restored exactly once, the A record created on the fake
//! Cloudflare and verified against the testbed's DNS server, the containers on this
//! machine reached over the test sshd. On both store backends.
//!
//! The failure cases of the same issue are stage-level tests: a wrong token in
//! `repos_dns.rs`, a name that never resolves in `repos_dns.rs`, a corrupt backup in
//! `migration.rs`.

mod common;

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use common::harness::{Harness, messages};
use common::odoo_world::{World, files_below, world};
use common::standard::{ORGANIZATION, PLATFORM, PROJECT, equip, settings};
use common::testbed::{
    BaseDirGuard, EnvGuard, ODOO_18, inspect, must, odoo_version, require_testbed,
};
use paasportal_core::{DeploymentStatus, LogLevel, LogRecord, Stage, StepStatus, Trigger};
use paasportal_engine::Pipeline;
use paasportal_odoo::dns::{CloudflareClient, VerifyConfig, VerifyOutcome, verify_a_record};
use paasportal_testkit::{TestBackend, require_env};

const LIMIT: Duration = Duration::from_secs(300);

fn line<'a>(lines: &'a [LogRecord], text: &str) -> &'a LogRecord {
    lines
        .iter()
        .find(|l| l.log.message.contains(text))
        .unwrap_or_else(|| panic!("no line with {text:?} in {:#?}", messages(lines)))
}

/// Runs the worker with the standard pipeline until `id` has finished.
async fn deploy(h: &Harness, base: &BaseDirGuard, id: uuid::Uuid) -> Vec<LogRecord> {
    let worker = h.start_worker(h.engine(Pipeline::standard(), settings(base)));
    let d = h.wait_finished(id, LIMIT).await;
    worker.stop().await;
    let lines = h.logs(id).await;
    assert_eq!(
        d.status,
        DeploymentStatus::Success,
        "{:?}\n{:#?}",
        d.error_message,
        messages(&lines)
    );
    assert!(
        !lines.iter().any(|l| l.log.level == LogLevel::Error),
        "{:#?}",
        messages(&lines)
    );
    lines
}

/// All 17 steps, in the catalogue's order, each with the status wanted (completed
/// unless listed in `other`), and started in that order.
async fn assert_steps(h: &Harness, id: uuid::Uuid, other: &[(Stage, StepStatus)]) {
    let steps = h.t.store.list_steps(id).await.unwrap();
    let got: Vec<(String, StepStatus)> = steps.iter().map(|s| (s.step.clone(), s.status)).collect();
    let want: Vec<(String, StepStatus)> = Stage::all()
        .map(|stage| {
            let status = other
                .iter()
                .find(|(s, _)| *s == stage)
                .map_or(StepStatus::Completed, |(_, st)| *st);
            (stage.id().to_owned(), status)
        })
        .collect();
    assert_eq!(got, want);
    let started: Vec<_> = steps.iter().filter_map(|s| s.started_at).collect();
    assert_eq!(started.len(), 17, "every stage ran");
    assert!(started.windows(2).all(|w| w[0] <= w[1]), "{started:?}");
}

/// Every form of the git token: itself and the basic-auth header's base64.
fn token_forms(token: &str) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        token.to_owned(),
        b64.encode(format!("x-access-token:{token}")),
        b64.encode(token),
    ]
}

fn assert_token_nowhere(token: &str, lines: &[LogRecord], dir: &Path) {
    let forms = token_forms(token);
    for l in lines {
        let all = format!("{} {}", l.log.message, l.log.data);
        for form in &forms {
            assert!(!all.contains(form.as_str()), "token in a line: {all}");
        }
    }
    let files = files_below(dir);
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("private-repo/.git/config"))
    );
    for f in files {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        for form in &forms {
            assert!(!text.contains(form.as_str()), "token in {}", f.display());
        }
    }
}

/// `SELECT` in the environment's database, as the restore's checks do.
fn query(u: &str, sql: &str) -> String {
    must(&[
        "docker",
        "exec",
        &format!("{u}_db"),
        "psql",
        "-U",
        "odoo",
        "-d",
        u,
        "-At",
        "-c",
        sql,
    ])
}

async fn seeded_world(h: &Harness, tag: &str, token: &str) -> World {
    let legacy =
        h.t.store
            .create_organization(&format!("Legacy {tag}"))
            .await
            .unwrap();
    let migration =
        h.t.store
            .create_migration(
                legacy.id,
                "legacy",
                &require_env("PAASPORTAL_TEST_BACKUP_KEY"),
            )
            .await
            .unwrap();
    let w = world(h, tag, "main", Some(migration.id)).await;
    equip(h, &w, token).await;
    w
}

async fn full_deploy_then_redeploy(backend: TestBackend, tag: &str) {
    require_testbed();
    let h = Harness::new(backend).await;
    odoo_version(&h, ODOO_18).await;
    let token = require_env("PAASPORTAL_TEST_GIT_TOKEN");
    let w = seeded_world(&h, tag, &token).await;
    let u = w.environment.id.to_string();
    let _guard = EnvGuard {
        env_uuid: u.clone(),
    };
    let base = BaseDirGuard::new();
    let host = w.environment.hostname();

    // The fresh deployment: every stage completes.
    let lines = deploy(&h, &base, w.deployment.id).await;
    assert_steps(&h, w.deployment.id, &[]).await;
    let configured = line(&lines, &format!("DNS configured: {host} -> 127.0.0.1 ("));
    assert_eq!(configured.log.data["action"], "created");
    line(&lines, "Cloning 2 platform addon repositories...");
    line(&lines, "All 2 platform repos ready (");
    line(&lines, "All 1 organization repos ready (");
    line(&lines, "Project repository cloned (");
    let dep = h.t.store.get_deployment(w.deployment.id).await.unwrap();
    let sha = dep.git_commit.clone().expect("the commit is recorded");
    line(&lines, &format!("Commit: {} by ", &sha[..7]));
    line(
        &lines,
        "Dependencies installed from: platform-integrations, org-custom-modules, my-project",
    );
    line(&lines, "All dependencies installed (");
    line(&lines, "Restoring from migration backup...");
    line(&lines, "Migration restore complete (");
    line(&lines, "DNS verified - safe to proceed with SSL (");
    line(&lines, "Health check passed! (");
    line(&lines, "Deployment completed successfully! Total time: ");
    assert!(
        !lines
            .iter()
            .any(|l| l.log.message.starts_with("Initializing Odoo database")),
        "a migrated environment is restored, not initialised"
    );

    // The environment: restored once, marked in the store; its database is the backup's.
    let env = h.t.store.get_environment(w.environment.id).await.unwrap();
    assert!(env.migration_restore_completed);
    let restored_at = env.migration_restore_completed_at.unwrap();
    assert_eq!(
        query(
            &u,
            "SELECT value FROM ir_config_parameter WHERE key = 'migration.marker'"
        ),
        "restored-from-backup"
    );
    assert_eq!(
        query(
            &u,
            "SELECT value FROM ir_config_parameter WHERE key = 'web.base.url'"
        ),
        format!("https://{host}")
    );

    // The record on the fake Cloudflare, and the testbed's DNS server answering with it.
    let cloudflare = CloudflareClient::new(
        Some(&require_env("PAASPORTAL_TEST_CLOUDFLARE_URL")),
        &require_env("PAASPORTAL_TEST_CLOUDFLARE_ZONE_ID"),
        &require_env("PAASPORTAL_TEST_CLOUDFLARE_TOKEN"),
    )
    .unwrap();
    let records = cloudflare.find_a_records(&host).await.unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].content, "127.0.0.1");
    assert_eq!(records[0].ttl, 300);
    let resolved = verify_a_record(
        &VerifyConfig {
            timeout: Duration::from_secs(2),
            interval: Duration::from_millis(200),
            ..VerifyConfig::spec(vec![
                require_env("PAASPORTAL_TEST_DNS_SERVER").parse().unwrap(),
            ])
        },
        &host,
        "127.0.0.1".parse::<IpAddr>().unwrap(),
        |_, _| {},
    )
    .await
    .unwrap();
    assert!(
        matches!(resolved, VerifyOutcome::Verified { .. }),
        "{resolved:?}"
    );

    // The container runs the dependency image's Odoo with every repository mounted.
    let odoo = format!("{u}_odoo");
    assert_eq!(inspect(&odoo, "{{.State.Status}}"), "running");
    assert_eq!(
        dep.container_id.as_deref(),
        Some(inspect(&odoo, "{{.Id}}").as_str())
    );
    let addons = must(&["docker", "exec", &odoo, "ls", "/mnt/extra-addons"]);
    for slug in PLATFORM.iter().chain([&ORGANIZATION]).chain(&PROJECT) {
        assert!(addons.lines().any(|l| l == *slug), "{slug} in {addons}");
    }
    let pip = must(&[
        "docker",
        "exec",
        &odoo,
        "cat",
        "/var/lib/standin/installed-pip.txt",
    ]);
    for p in ["python-ldap", "stripe", "requests-oauthlib"] {
        assert!(pip.contains(p), "{p} not installed: {pip}");
    }

    // The redeploy: clones updated, dependencies and database kept, record unchanged.
    let repo_dir = |slug: &str| base.dir.path().join(&u).join("addons").join(slug);
    for slug in PLATFORM.iter().chain([&ORGANIZATION]).chain(&PROJECT) {
        std::fs::write(repo_dir(slug).join(".git/kept-marker"), "kept").unwrap();
    }
    query(
        &u,
        "UPDATE ir_config_parameter SET value = 'changed-after-restore' WHERE key = 'migration.marker' RETURNING 1",
    );
    let again =
        h.t.store
            .create_deployment(w.environment.id, Trigger::Manual, Some(w.seeded.user.id))
            .await
            .unwrap();
    let lines2 = deploy(&h, &base, again.id).await;
    assert_steps(
        &h,
        again.id,
        &[
            (Stage::InstallingDependencies, StepStatus::Skipped),
            (Stage::InitializingDatabase, StepStatus::Skipped),
        ],
    )
    .await;
    line(&lines2, "Dependencies unchanged, skipped (");
    line(
        &lines2,
        "Database kept: the migration was restored by an earlier deployment",
    );
    assert!(!lines2.iter().any(|l| l.log.message.contains("Restoring")));
    assert_eq!(
        line(&lines2, "DNS configured:").log.data["action"],
        "unchanged"
    );
    line(&lines2, "DNS verified - safe to proceed with SSL (");
    let commands: Vec<&String> = lines2
        .iter()
        .map(|l| &l.log.message)
        .filter(|m| m.starts_with("$ "))
        .collect();
    for slug in PLATFORM.iter().chain([&ORGANIZATION]).chain(&PROJECT) {
        assert!(
            repo_dir(slug).join(".git/kept-marker").is_file(),
            "{slug} was cloned again"
        );
    }
    assert!(
        !commands.iter().any(|m| m.contains("'pip3'")),
        "{commands:#?}"
    );
    let env = h.t.store.get_environment(w.environment.id).await.unwrap();
    assert_eq!(env.migration_restore_completed_at, Some(restored_at));
    assert_eq!(
        query(
            &u,
            "SELECT value FROM ir_config_parameter WHERE key = 'migration.marker'"
        ),
        "changed-after-restore"
    );
    let dep2 = h.t.store.get_deployment(again.id).await.unwrap();
    assert_eq!(dep2.git_commit, dep.git_commit);
    assert_eq!(inspect(&odoo, "{{.State.Status}}"), "running");
    assert_eq!(
        dep2.container_id.as_deref(),
        Some(inspect(&odoo, "{{.Id}}").as_str())
    );
    assert_ne!(dep2.container_id, dep.container_id);
    assert!(
        dep2.image_tag
            .as_deref()
            .is_some_and(|i| i.starts_with(&format!("paasportal/deps-{u}:"))),
        "{:?}",
        dep2.image_tag
    );
    assert_eq!(cloudflare.find_a_records(&host).await.unwrap().len(), 1);

    assert_token_nowhere(
        &token,
        &lines.iter().chain(&lines2).cloned().collect::<Vec<_>>(),
        base.dir.path(),
    );
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn all_17_stages_then_a_redeploy_postgres() {
    full_deploy_then_redeploy(TestBackend::Postgres, "full-pg").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn all_17_stages_then_a_redeploy_sqlite() {
    full_deploy_then_redeploy(TestBackend::Sqlite, "full-lite").await;
}
