//! Clones through the testbed's git smart-HTTP server (testbed/fakes): public and
//! private repositories, a wrong token, an update in place, the commit facts. Each
//! argument vector runs as the engine would run it, without a shell in between.
//!
//! Needs `PAASPORTAL_TEST_GIT_URL` and `PAASPORTAL_TEST_GIT_TOKEN` (`pp_start_fakes`).

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use paasportal_odoo::git::commands::{clone, is_clone, last_commit, update};
use paasportal_odoo::git::failure::{CloneFailure, error_data};
use paasportal_odoo::git::{GitProvider, Remote, commit_info};
use paasportal_testkit::require_env;

mod common;
use common::run_argv;

fn run(argv: &[String]) -> common::Out {
    run_argv(argv, None)
}

fn remote(repo: &str) -> Remote {
    Remote::parse(&format!(
        "{}/{repo}",
        require_env("PAASPORTAL_TEST_GIT_URL")
    ))
    .unwrap()
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                hits.push(p.display().to_string());
            }
        }
    }
    hits
}

#[test]
fn public_repository_clones_and_reports_its_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("my-project");
    let dest = dest.to_str().unwrap();
    let r = remote("my-project.git");
    assert_eq!(r.provider(), GitProvider::Other);
    let out = run(&clone(&r, "main", dest, None));
    assert!(out.ok, "{}", out.stderr);
    assert!(
        Path::new(dest)
            .join("customer_portal/__manifest__.py")
            .exists()
    );
    assert!(Path::new(dest).join("requirements.txt").exists());
    assert_eq!(
        run(&[
            "git".into(),
            "-C".into(),
            dest.into(),
            "rev-list".into(),
            "--count".into(),
            "HEAD".into()
        ])
        .stdout
        .trim(),
        "1",
        "shallow"
    );

    let log = run(&last_commit(dest));
    assert!(log.ok, "{}", log.stderr);
    let info = commit_info::parse(&log.stdout, "main").unwrap();
    assert_eq!(info.git_message, "Add customer portal module");
    assert_eq!(info.committer_name, "John Doe");
    assert_eq!(info.committer_email, "john@example.com");
    assert_eq!(
        info.commit_date.unwrap().to_rfc3339(),
        "2025-01-08T14:32:15+00:00"
    );
    assert_eq!(
        commit_info::log_line(&info),
        format!(
            "Commit: {} by John Doe - Add customer portal module",
            &info.git_commit[..7]
        )
    );

    // A redeploy updates in place, also when the branch changes.
    assert!(run(&is_clone(dest)).ok);
    for cmd in update(&r, "18.0", dest, None) {
        let out = run(&cmd);
        assert!(out.ok, "{cmd:?}: {}", out.stderr);
    }
    let again = commit_info::parse(&run(&last_commit(dest)).stdout, "18.0").unwrap();
    assert_eq!(again.git_commit, info.git_commit);
}

#[test]
fn private_repository_needs_the_token_and_keeps_it_off_disk() {
    let token = require_env("PAASPORTAL_TEST_GIT_TOKEN");
    let private = require_env("PAASPORTAL_TEST_GIT_PRIVATE_REPO");
    let r = remote(&private);
    let tmp = tempfile::tempdir().unwrap();

    // Without a token: the spec's authentication failure, promptly.
    let dest = tmp.path().join("no-token");
    let out = run(&clone(&r, "main", dest.to_str().unwrap(), None));
    assert!(!out.ok);
    assert_eq!(
        CloneFailure::classify(&out.stderr),
        CloneFailure::AuthenticationFailed,
        "{}",
        out.stderr
    );

    // A wrong token: the same, and the data names the clean URL only.
    let wrong = "wrong-token-0123456789";
    let dest = tmp.path().join("wrong-token");
    let out = run(&clone(&r, "main", dest.to_str().unwrap(), Some(wrong)));
    assert!(!out.ok);
    assert_eq!(
        CloneFailure::classify(&out.stderr),
        CloneFailure::AuthenticationFailed,
        "{}",
        out.stderr
    );
    let data = error_data(&r, "main", &out.stderr);
    assert_eq!(data["git_url"], r.clean_url());
    assert_eq!(data["git_provider"], "other");
    assert_eq!(data["error_code"], "AUTH_FAILED");
    let text = data.to_string();
    assert!(!text.contains(wrong) && !out.stderr.contains(wrong));

    // The right token: cloned, then updated; the token is in no file of the clone,
    // in no form (plain, or the base64 of the basic-auth pair).
    let dest = tmp.path().join("private");
    let d = dest.to_str().unwrap();
    let out = run(&clone(&r, "main", d, Some(&token)));
    assert!(out.ok, "{}", out.stderr);
    assert!(dest.join("private_addon/__manifest__.py").exists());
    for cmd in update(&r, "main", d, Some(&token)) {
        let out = run(&cmd);
        assert!(out.ok, "{cmd:?}: {}", out.stderr);
        assert!(!out.stdout.contains(&token) && !out.stderr.contains(&token));
    }
    let b64 = STANDARD.encode(format!("x-access-token:{token}"));
    assert_eq!(
        files_containing(&dest, token.as_bytes()),
        Vec::<String>::new()
    );
    assert_eq!(
        files_containing(&dest, b64.as_bytes()),
        Vec::<String>::new()
    );
    let config = std::fs::read_to_string(dest.join(".git/config")).unwrap();
    assert!(config.contains(r.clean_url()), "{config}");
    assert!(
        !config.to_ascii_lowercase().contains("extraheader"),
        "{config}"
    );
}

#[test]
fn missing_branch_and_repository_are_told_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(&clone(
        &remote("my-project.git"),
        "no-such-branch",
        tmp.path().join("a").to_str().unwrap(),
        None,
    ));
    assert!(!out.ok);
    assert_eq!(
        CloneFailure::classify(&out.stderr),
        CloneFailure::BranchNotFound,
        "{}",
        out.stderr
    );
    let out = run(&clone(
        &remote("no-such-repo.git"),
        "main",
        tmp.path().join("b").to_str().unwrap(),
        None,
    ));
    assert!(!out.ok);
    assert_eq!(
        CloneFailure::classify(&out.stderr),
        CloneFailure::RepositoryNotFound,
        "{}",
        out.stderr
    );
}
