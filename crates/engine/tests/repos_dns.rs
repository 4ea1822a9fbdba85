//! The DNS and repository stages against the testbed: the fake Cloudflare API and the
//! DNS server answering from it, the git server with its private repository, and the
//! test sshd (the "server" is this machine, reached over SSH as another user).

mod common;

use std::time::Duration;

use base64::Engine;
use common::harness::{Harness, messages};
use common::odoo_world::{World, config, files_below, world};
use paasportal_core::{DeploymentStatus, LogLevel, LogRecord, RepoScope, Stage, StepStatus};
use paasportal_engine::Pipeline;
use paasportal_engine::stages::{
    CloningOrgRepos, CloningPlatformRepos, CloningRepo, ConfiguringDns, Connecting, Initializing,
    VerifyingDns,
};
use paasportal_testkit::{TestBackend, require_env};

const LIMIT: Duration = Duration::from_secs(90);

fn dns_pipeline() -> Pipeline {
    Pipeline::empty()
        .with(Stage::Initializing, Initializing)
        .with(Stage::Connecting, Connecting)
        .with(Stage::ConfiguringDns, ConfiguringDns)
        .with(Stage::VerifyingDns, VerifyingDns)
}

fn clone_pipeline() -> Pipeline {
    Pipeline::empty()
        .with(Stage::Initializing, Initializing)
        .with(Stage::Connecting, Connecting)
        .with(Stage::CloningPlatformRepos, CloningPlatformRepos)
        .with(Stage::CloningOrgRepos, CloningOrgRepos)
        .with(Stage::CloningRepo, CloningRepo)
}

fn line<'a>(lines: &'a [LogRecord], text: &str) -> &'a LogRecord {
    lines
        .iter()
        .find(|l| l.log.message.contains(text))
        .unwrap_or_else(|| panic!("no line with {text:?} in {:#?}", messages(lines)))
}

async fn step(h: &Harness, id: uuid::Uuid, stage: Stage) -> StepStatus {
    h.t.store
        .list_steps(id)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.step == stage.id())
        .unwrap()
        .status
}

async fn run(h: &Harness, w: &World, pipeline: Pipeline, max_wait: Duration, id: uuid::Uuid) {
    let worker = h.start_worker(h.engine(pipeline, config(&w.base, max_wait)));
    h.wait_finished(id, LIMIT).await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dns_record_is_created_then_verified() {
    let h = Harness::new(TestBackend::Sqlite).await;
    let w = world(&h, "dns", "main", None).await;
    w.dns_provider(&h, &require_env("PAASPORTAL_TEST_CLOUDFLARE_TOKEN"))
        .await;
    let propagation: f64 = require_env("PAASPORTAL_TEST_DNS_PROPAGATION_SECS")
        .parse()
        .unwrap();
    let max_wait = Duration::from_secs_f64(propagation + 20.0);
    run(&h, &w, dns_pipeline(), max_wait, w.deployment.id).await;

    let d = h.t.store.get_deployment(w.deployment.id).await.unwrap();
    assert_eq!(d.status, DeploymentStatus::Success, "{:?}", d.error_message);
    let lines = h.logs(w.deployment.id).await;
    let host = w.environment.hostname();
    line(&lines, "Configuring DNS record (early for propagation)...");
    let configured = line(&lines, &format!("DNS configured: {host} -> 127.0.0.1 ("));
    assert_eq!(configured.log.data["action"], "created");
    assert_eq!(configured.log.data["ttl"], 300);
    line(&lines, "Verifying DNS propagation before SSL...");
    let verified = line(&lines, "DNS verified - safe to proceed with SSL (");
    assert_eq!(verified.log.level, LogLevel::Info);
    assert_eq!(
        step(&h, d.id, Stage::ConfiguringDns).await,
        StepStatus::Completed
    );
    assert_eq!(
        step(&h, d.id, Stage::VerifyingDns).await,
        StepStatus::Completed
    );
    let token = require_env("PAASPORTAL_TEST_CLOUDFLARE_TOKEN");
    for l in &lines {
        let all = format!("{} {}", l.log.message, l.log.data);
        assert!(!all.contains(&token), "the API token leaked: {all}");
    }

    // A redeploy finds the record in place.
    let again = w.redeploy(&h).await;
    run(&h, &w, dns_pipeline(), max_wait, again.id).await;
    let lines = h.logs(again.id).await;
    assert_eq!(
        line(&lines, "DNS configured:").log.data["action"],
        "unchanged"
    );
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_name_that_never_resolves_is_a_warning_and_the_deployment_goes_on() {
    let h = Harness::new(TestBackend::Sqlite).await;
    let w = world(&h, "nodns", "main", None).await;
    run(
        &h,
        &w,
        dns_pipeline(),
        Duration::from_millis(1500),
        w.deployment.id,
    )
    .await;
    let d = h.t.store.get_deployment(w.deployment.id).await.unwrap();
    assert_eq!(d.status, DeploymentStatus::Success, "{:?}", d.error_message);
    let lines = h.logs(d.id).await;
    let skipped = line(&lines, "DNS setup skipped (");
    assert!(
        skipped
            .log
            .message
            .ends_with("s): No DNS provider configured"),
        "{}",
        skipped.log.message
    );
    assert_eq!(skipped.log.level, LogLevel::Warning);
    line(
        &lines,
        "Verifying DNS propagation (may take up to 1 seconds)...",
    );
    let timed_out = line(&lines, "DNS verification timed out (");
    assert!(
        timed_out.log.message.ends_with("s) - proceeding anyway"),
        "{}",
        timed_out.log.message
    );
    assert_eq!(timed_out.log.level, LogLevel::Warning);
    assert_eq!(timed_out.log.data["error_code"], "DNS_NOT_PROPAGATED");
    assert_eq!(timed_out.log.data["expected_ip"], "127.0.0.1");
    assert_eq!(
        line(&lines, "SSL may take longer to provision").log.level,
        LogLevel::Warning
    );
    assert_eq!(
        step(&h, d.id, Stage::VerifyingDns).await,
        StepStatus::Warning
    );
    h.close().await;
}

/// Every place the token could hide: itself and the basic-auth header's base64.
fn token_forms(token: &str) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        token.to_owned(),
        b64.encode(format!("x-access-token:{token}")),
        b64.encode(token),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repositories_of_every_scope_are_cloned_then_updated_in_place() {
    let h = Harness::new(TestBackend::Sqlite).await;
    let w = world(&h, "clone", "main", None).await;
    let token = require_env("PAASPORTAL_TEST_GIT_TOKEN");
    w.repo(&h, RepoScope::Platform, "platform-reporting", false, None)
        .await;
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
    w.repo(&h, RepoScope::Project, "private-repo", false, Some(&token))
        .await;
    run(&h, &w, clone_pipeline(), LIMIT, w.deployment.id).await;

    let d = h.t.store.get_deployment(w.deployment.id).await.unwrap();
    assert_eq!(d.status, DeploymentStatus::Success, "{:?}", d.error_message);
    let lines = h.logs(d.id).await;
    line(&lines, "Cloning 2 platform addon repositories...");
    line(&lines, "[1/2] Cloning platform-reporting (main)...");
    line(&lines, "[2/2] Cloning platform-integrations (main)...");
    line(&lines, "] platform-integrations ready (");
    line(&lines, "All 2 platform repos ready (");
    line(&lines, "Cloning 1 organization addon repositories...");
    line(&lines, "All 1 organization repos ready (");
    line(&lines, "Cloning project repository...");
    line(&lines, "[2/2] private-repo ready (");
    line(&lines, "Project repository cloned (");
    let commit = line(&lines, "Commit: ");
    let sha = d.git_commit.clone().expect("the commit is recorded");
    assert_eq!(sha.len(), 40);
    assert!(
        commit.log.message.starts_with(&format!(
            "Commit: {} by {} - ",
            &sha[..7],
            d.committer_name.clone().unwrap()
        )),
        "{}",
        commit.log.message
    );
    assert_eq!(d.git_branch.as_deref(), Some("main"));
    assert!(d.git_message.is_some() && d.committer_email.is_some() && d.commit_date.is_some());
    for slug in [
        "platform-reporting",
        "platform-integrations",
        "org-custom-modules",
        "my-project",
        "private-repo",
    ] {
        assert!(w.repo_dir(slug).join(".git").is_dir(), "{slug} not cloned");
    }
    assert!(
        w.repo_dir("private-repo")
            .join("private_addon/__manifest__.py")
            .is_file()
    );
    let shallow = std::fs::read_to_string(w.repo_dir("my-project").join(".git/shallow"));
    assert!(shallow.is_ok(), "clones are shallow");

    // Redeploy: the clones are fetched and reset, not cloned again (a file left in
    // each `.git` survives; a new clone would not have it).
    for slug in ["platform-reporting", "org-custom-modules", "private-repo"] {
        std::fs::write(w.repo_dir(slug).join(".git/kept-marker"), "kept").unwrap();
    }
    let again = w.redeploy(&h).await;
    run(&h, &w, clone_pipeline(), LIMIT, again.id).await;
    let d2 = h.t.store.get_deployment(again.id).await.unwrap();
    assert_eq!(
        d2.status,
        DeploymentStatus::Success,
        "{:?}",
        d2.error_message
    );
    assert_eq!(d2.git_commit, d.git_commit);
    let lines2 = h.logs(again.id).await;
    for slug in ["platform-reporting", "org-custom-modules", "private-repo"] {
        assert!(
            w.repo_dir(slug).join(".git/kept-marker").is_file(),
            "{slug} was cloned again"
        );
    }

    // The token: not in any file on the server, not in any line or data, of either run.
    let forms = token_forms(&token);
    let files = files_below(w.base.path());
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("private-repo/.git/config")),
        "the server's files were not found"
    );
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for form in &forms {
            assert!(!text.contains(form.as_str()), "token in {}", f.display());
        }
    }
    for l in lines.iter().chain(&lines2) {
        let all = format!("{} {}", l.log.message, l.log.data);
        for form in &forms {
            assert!(!all.contains(form.as_str()), "token in a line: {all}");
        }
    }
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_token_is_fatal_and_the_token_is_nowhere() {
    let h = Harness::new(TestBackend::Postgres).await;
    let w = world(&h, "badtoken", "main", None).await;
    let wrong = "ghp_WrongToken0123456789abcdef";
    w.repo(&h, RepoScope::Platform, "platform-utilities", false, None)
        .await;
    w.repo(&h, RepoScope::Project, "private-repo", true, Some(wrong))
        .await;
    run(&h, &w, clone_pipeline(), LIMIT, w.deployment.id).await;

    let d = h.t.store.get_deployment(w.deployment.id).await.unwrap();
    assert_eq!(d.status, DeploymentStatus::Failed);
    assert_eq!(
        d.error_message.as_deref(),
        Some("Failed to clone repository: Authentication failed")
    );
    let lines = h.logs(d.id).await;
    let err = lines
        .iter()
        .find(|l| l.log.level == LogLevel::Error)
        .expect("an error line");
    assert_eq!(err.log.step.as_deref(), Some("cloning_repo"));
    assert_eq!(
        err.log.message,
        "Failed to clone repository: Authentication failed"
    );
    let data = &err.log.data;
    assert_eq!(data["git_url"], common::odoo_world::git_url("private-repo"));
    assert_eq!(data["branch"], "main");
    assert_eq!(data["git_provider"], "other");
    assert_eq!(data["error_code"], "AUTH_FAILED");
    assert!(
        data["error"].as_str().unwrap().starts_with("fatal:"),
        "{data}"
    );
    assert!(data["troubleshooting"].as_array().unwrap().len() >= 3);
    assert_eq!(
        step(&h, d.id, Stage::CloningPlatformRepos).await,
        StepStatus::Completed
    );
    assert_eq!(step(&h, d.id, Stage::CloningRepo).await, StepStatus::Failed);
    let forms = token_forms(wrong);
    for l in &lines {
        let all = format!("{} {}", l.log.message, l.log.data);
        for form in &forms {
            assert!(!all.contains(form.as_str()), "token in a line: {all}");
        }
    }
    for f in files_below(w.base.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(!text.contains(wrong), "token in {}", f.display());
    }
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_platform_repository_is_a_warning() {
    let h = Harness::new(TestBackend::Sqlite).await;
    let w = world(&h, "platwarn", "main", None).await;
    w.repo(&h, RepoScope::Platform, "platform-reporting", false, None)
        .await;
    w.repo(&h, RepoScope::Platform, "no-such-repo", false, None)
        .await;
    w.repo(&h, RepoScope::Project, "my-project", true, None)
        .await;
    run(&h, &w, clone_pipeline(), LIMIT, w.deployment.id).await;
    let d = h.t.store.get_deployment(w.deployment.id).await.unwrap();
    assert_eq!(d.status, DeploymentStatus::Success, "{:?}", d.error_message);
    let lines = h.logs(d.id).await;
    let failed = line(&lines, "] no-such-repo failed (");
    assert_eq!(failed.log.level, LogLevel::Warning);
    assert_eq!(failed.log.data["error_code"], "REPOSITORY_NOT_FOUND");
    assert_eq!(
        line(&lines, "1 of 2 platform repos ready (").log.level,
        LogLevel::Warning
    );
    assert_eq!(
        step(&h, d.id, Stage::CloningPlatformRepos).await,
        StepStatus::Warning
    );
    assert_eq!(
        step(&h, d.id, Stage::CloningOrgRepos).await,
        StepStatus::Skipped
    );
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_clone_that_cannot_be_updated_is_cloned_again() {
    let h = Harness::new(TestBackend::Sqlite).await;
    let w = world(&h, "reclone", "main", None).await;
    w.repo(&h, RepoScope::Project, "my-project", true, None)
        .await;
    run(&h, &w, clone_pipeline(), LIMIT, w.deployment.id).await;
    let d = h.t.store.get_deployment(w.deployment.id).await.unwrap();
    assert_eq!(d.status, DeploymentStatus::Success, "{:?}", d.error_message);
    let git = w.repo_dir("my-project").join(".git");
    std::fs::write(git.join("HEAD"), "not a ref\n").unwrap();

    let again = w.redeploy(&h).await;
    run(&h, &w, clone_pipeline(), LIMIT, again.id).await;
    let d2 = h.t.store.get_deployment(again.id).await.unwrap();
    assert_eq!(
        d2.status,
        DeploymentStatus::Success,
        "{:?}",
        d2.error_message
    );
    let lines = h.logs(again.id).await;
    line(
        &lines,
        "Updating the existing clone of my-project failed; cloning it again",
    );
    assert_eq!(d2.git_commit, d.git_commit);
    assert!(
        std::fs::read_to_string(git.join("HEAD"))
            .unwrap()
            .starts_with("ref: refs/heads/main")
    );
    h.close().await;
}
