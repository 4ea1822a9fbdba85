//! `installing_dependencies` and `initializing_database` against real containers on the test sshd's machine: the
//! testbed repositories' apt.txt and requirements.txt installed as root in the Odoo
//! container, skipped on a redeploy from the committed image, and an installer's
//! failure as a warning with its own words. The containers are started with the
//! `odoo` crate's argument vectors, as the infrastructure stages start them.

mod common;

use std::time::Duration;

use common::harness::{Harness, messages};
use common::odoo_containers::{ODOO_18, OdooContainers, must};
use common::odoo_world::{World, config, world};
use paasportal_core::{DeploymentStatus, LogLevel, LogRecord, RepoScope, Stage, StepStatus};
use paasportal_engine::Pipeline;
use paasportal_engine::stages::{
    CloningOrgRepos, CloningPlatformRepos, CloningRepo, Connecting, Initializing,
    InitializingDatabase, InstallingDependencies,
};
use paasportal_testkit::TestBackend;

const LIMIT: Duration = Duration::from_secs(180);

fn pipeline() -> Pipeline {
    Pipeline::empty()
        .with(Stage::Initializing, Initializing)
        .with(Stage::Connecting, Connecting)
        .with(Stage::CloningPlatformRepos, CloningPlatformRepos)
        .with(Stage::CloningOrgRepos, CloningOrgRepos)
        .with(Stage::CloningRepo, CloningRepo)
        .with(Stage::InstallingDependencies, InstallingDependencies)
}

fn line<'a>(lines: &'a [LogRecord], text: &str) -> &'a LogRecord {
    lines
        .iter()
        .find(|l| l.log.message.contains(text))
        .unwrap_or_else(|| panic!("no line with {text:?} in {:#?}", messages(lines)))
}

async fn deploy(h: &Harness, w: &World, id: uuid::Uuid) -> Vec<LogRecord> {
    deploy_with(h, w, id, pipeline()).await
}

async fn deploy_with(h: &Harness, w: &World, id: uuid::Uuid, p: Pipeline) -> Vec<LogRecord> {
    let worker = h.start_worker(h.engine(p, config(&w.base, Duration::from_secs(1))));
    let d = h.wait_finished(id, LIMIT).await;
    worker.stop().await;
    assert_eq!(d.status, DeploymentStatus::Success, "{:?}", d.error_message);
    h.logs(id).await
}

async fn deps_step(h: &Harness, id: uuid::Uuid) -> StepStatus {
    h.t.store
        .list_steps(id)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.step == Stage::InstallingDependencies.id())
        .unwrap()
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dependencies_are_installed_then_skipped_on_redeploy() {
    let h = Harness::new(TestBackend::Sqlite).await;
    let w = world(&h, "deps", "main", None).await;
    w.repo(
        &h,
        RepoScope::Platform,
        "platform-integrations",
        false,
        None,
    )
    .await;
    w.repo(
        &h,
        RepoScope::Organization,
        "org-custom-modules",
        false,
        None,
    )
    .await;
    w.repo(&h, RepoScope::Project, "my-project", true, None)
        .await;
    let containers = OdooContainers::start(&w, ODOO_18);

    let lines = deploy(&h, &w, w.deployment.id).await;
    line(
        &lines,
        "Checking ALL repositories for dependencies (apt.txt, requirements.txt)...",
    );
    line(
        &lines,
        "Dependencies installed from: platform-integrations, org-custom-modules, my-project",
    );
    line(&lines, "Total apt packages: 4");
    line(&lines, "Total pip packages: 3");
    let done = line(&lines, "All dependencies installed (");
    assert_eq!(done.log.level, LogLevel::Info);
    assert_eq!(deps_step(&h, w.deployment.id).await, StepStatus::Completed);
    let installed = must(&[
        "docker".into(),
        "exec".into(),
        containers.names.odoo_container(),
        "cat".into(),
        "/var/lib/standin/installed-pip.txt".into(),
    ]);
    for p in ["python-ldap", "stripe", "requests-oauthlib"] {
        assert!(installed.contains(p), "{p} not installed: {installed}");
    }

    // The next deployment's container starts from the image named on the server.
    let image_file = format!("{}/deps-image", containers.names.env_dir());
    let image = std::fs::read_to_string(&image_file).unwrap();
    let image = image.trim();
    assert!(
        image.starts_with(&format!("paasportal/deps-{}:", w.environment.id)),
        "{image}"
    );
    containers.run_odoo(&w, image);
    let again = w.redeploy(&h).await;
    let lines = deploy(&h, &w, again.id).await;
    let skipped = line(&lines, "Dependencies unchanged, skipped (");
    assert_eq!(skipped.log.level, LogLevel::Info);
    assert_eq!(deps_step(&h, again.id).await, StepStatus::Skipped);
    assert!(
        !lines.iter().any(|l| l.log.message.contains("'pip3'")),
        "nothing is installed again"
    );
    drop(containers);
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_installation_is_a_warning_with_the_installers_last_lines() {
    let h = Harness::new(TestBackend::Sqlite).await;
    let w = world(&h, "brokendeps", "main", None).await;
    w.repo(&h, RepoScope::Project, "broken-deps", true, None)
        .await;
    let containers = OdooContainers::start(&w, ODOO_18);
    let lines = deploy(&h, &w, w.deployment.id).await;
    let warn = line(&lines, "Dependency installation failed (");
    assert_eq!(warn.log.level, LogLevel::Warning);
    assert_eq!(warn.log.data["installer"], "apt-get");
    let output = warn.log.data["output"].to_string();
    assert!(output.contains("nonexistent-lib"), "{output}");
    assert_eq!(deps_step(&h, w.deployment.id).await, StepStatus::Warning);
    drop(containers);
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fresh_database_is_initialized_once_with_a_sealed_admin_password() {
    let h = Harness::new(TestBackend::Sqlite).await;
    let w = world(&h, "initdb", "main", None).await;
    let containers = OdooContainers::start(&w, ODOO_18);
    let pipeline = || {
        Pipeline::empty()
            .with(Stage::Initializing, Initializing)
            .with(Stage::Connecting, Connecting)
            .with(Stage::InitializingDatabase, InitializingDatabase)
    };
    let lines = deploy_with(&h, &w, w.deployment.id, pipeline()).await;
    line(
        &lines,
        "Initializing Odoo database (this may take 1-2 minutes)...",
    );
    line(&lines, "Database initialization complete (");
    let sealed =
        h.t.store
            .admin_password_enc(w.environment.id)
            .await
            .unwrap()
            .expect("the admin password is kept");
    let password = h.secrets.open(&sealed).unwrap();
    assert_eq!(password.len(), 32);
    for l in &lines {
        let all = format!("{} {}", l.log.message, l.log.data);
        assert!(!all.contains(&password), "the admin password leaked: {all}");
    }
    let n = &containers.names;
    let check = format!(
        "SELECT split_part(password, '$', 4) = encode(sha256(convert_to(split_part(password, '$', 3) || '{password}', 'UTF8')), 'hex') FROM res_users WHERE login = 'admin'"
    );
    let ok = must(&paasportal_odoo::docker_args::database::psql(
        &n.db_container(),
        &n.db_name(),
        &check,
    ));
    assert_eq!(ok.trim(), "t", "Odoo's admin user has the sealed password");

    let again = w.redeploy(&h).await;
    let lines = deploy_with(&h, &w, again.id, pipeline()).await;
    line(&lines, "Database already initialized, kept (");
    assert_eq!(
        h.t.store
            .admin_password_enc(w.environment.id)
            .await
            .unwrap(),
        Some(sealed),
        "a redeploy keeps the password"
    );
    drop(containers);
    h.close().await;
}
