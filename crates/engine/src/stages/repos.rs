//! Cloning addon repositories on the server, shared by the three cloning stages: one
//! repository cloned (or, on a redeploy, fetched and reset) into
//! `{base}/{env_uuid}/addons/{slug}`, and a scope's repositories cloned in parallel
//! with bounded concurrency while the log keeps the spec's `[i/N]` lines.
//!
//! A private repository's token is decrypted here, registered with the redactor, and
//! reaches the server only inside git's environment for the one command (see
//! `paasportal_odoo::git::commands`): never in a URL, `.git/config`, a log line or `data`.

use std::time::Instant;

use futures::{FutureExt, StreamExt};
use paasportal_core::diagnostics::{ErrorCode, Problem};
use paasportal_core::shell::ShellCommand;
use paasportal_core::{RepoScope, Repository};
use paasportal_odoo::config_file::AddonsRepo;
use paasportal_odoo::git::failure::{self, CloneFailure};
use paasportal_odoo::git::remote::strip_userinfo;
use paasportal_odoo::git::{Remote, commands, validate_branch};
use paasportal_odoo::messages::{self, CloneScope};
use paasportal_odoo::naming::EnvNames;
use serde_json::{Value, json};

use super::odoo_env::{closing, command, env_names};
use super::plan::AddonsRepos;
use crate::context::{RunOptions, StageContext};
use crate::stage::{StageError, StageOutcome};

/// Why one repository could not be cloned.
#[derive(Debug, Clone)]
pub struct CloneError {
    /// The short reason, as "[2/3] x failed (1.2s): Authentication failed" ends.
    pub reason: String,
    /// The spec's failure: message and `data` (`git_url`, `branch`, `error`, `git_provider`).
    pub error: StageError,
}

fn clone_error(failure: CloneFailure, data: Value) -> CloneError {
    let code = failure
        .error_code()
        .parse::<ErrorCode>()
        .unwrap_or(ErrorCode::CommandFailed);
    CloneError {
        reason: failure.reason().to_owned(),
        error: StageError::problem(failure.message(), Problem::GitClone, code, data),
    }
}

fn refused(url: &str, branch: &str, why: String) -> CloneError {
    let data = json!({
        "git_url": strip_userinfo(url),
        "branch": branch,
        "error": why,
        "git_provider": Remote::parse(url).map(|r| r.provider().as_str()).unwrap_or("other"),
    });
    CloneError {
        reason: why.clone(),
        error: StageError::problem(
            format!("Failed to clone repository: {why}"),
            Problem::GitClone,
            ErrorCode::ConfigInvalid,
            data,
        ),
    }
}

fn internal(e: impl std::fmt::Display) -> StageError {
    StageError::new(
        format!("Cannot load the deployment's repositories: {e}"),
        ErrorCode::Internal,
        Value::Null,
    )
}

/// The deployment's repositories of `scope`, in clone order.
pub async fn repositories(
    cx: &StageContext<'_>,
    scope: RepoScope,
) -> Result<Vec<Repository>, StageError> {
    let all = cx
        .store()
        .deployment_repositories(cx.project().organization_id, cx.project().id)
        .await
        .map_err(internal)?;
    Ok(all.into_iter().filter(|r| r.scope == scope).collect())
}

/// Adds `repos` to the deployment's [`AddonsRepos`] (for `addons_path` and the
/// dependency scan).
pub fn remember(cx: &StageContext<'_>, repos: impl IntoIterator<Item = AddonsRepo>) {
    let mut cloned = cx.vars().get::<AddonsRepos>().unwrap_or_default();
    cloned.0.extend(repos);
    cx.vars().insert(cloned);
}

/// `mkdir -p` of the environment's `addons/` directory.
pub async fn prepare_addons_dir(cx: &StageContext<'_>, names: &EnvNames) -> Result<(), StageError> {
    cx.run(&command(&[
        "mkdir".into(),
        "-p".into(),
        "--".into(),
        names.addons_dir(),
    ]))
    .await
    .map(|_| ())
}

/// The repository's token, decrypted and registered with the redactor.
async fn token(cx: &StageContext<'_>, repo: &Repository) -> Result<Option<String>, StageError> {
    if !repo.has_token {
        return Ok(None);
    }
    let Some(sealed) = cx
        .store()
        .repository_token_enc(repo.id)
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    let token = cx.secrets().open(&sealed).map_err(|e| {
        StageError::new(
            format!(
                "Cannot decrypt the access token of repository {}: {e}",
                repo.name
            ),
            ErrorCode::CredentialsUnreadable,
            json!({"repository": repo.name}),
        )
    })?;
    cx.register_secret(&token);
    Ok(Some(token))
}

/// Exit status of [`clone_or_update`] when the existing clone could not be updated
/// (git and rm exit 1 or 128, never this).
const UPDATE_FAILED: u32 = 86;

/// `cmd` followed by the argument vectors joined by `&&`.
fn append_chain(mut cmd: ShellCommand, argvs: &[Vec<String>]) -> ShellCommand {
    for (i, a) in argvs.iter().enumerate() {
        if i > 0 {
            cmd = cmd.raw("&&");
        }
        cmd = cmd.args(a);
    }
    cmd
}

/// The argument vectors as one command line joined by `&&` (one round trip).
fn chain(argvs: &[Vec<String>]) -> ShellCommand {
    append_chain(ShellCommand::new(""), argvs)
}

/// One round trip for a repository: `update` when `is_clone` finds the clone a previous
/// deployment left (exiting [`UPDATE_FAILED`] when that fails), else `fresh`.
fn clone_or_update(
    is_clone: &[String],
    update: &[Vec<String>],
    fresh: &[Vec<String>],
) -> ShellCommand {
    let cmd = ShellCommand::new("if").args(is_clone).raw("; then {");
    let cmd = append_chain(cmd, update).raw(&format!("; }} || exit {UPDATE_FAILED}; else"));
    append_chain(cmd, fresh).raw("; fi")
}

/// Runs the argument vectors in order as one command, returning its redacted output
/// tail when one exits non-zero.
async fn attempt(
    cx: &StageContext<'_>,
    argvs: &[Vec<String>],
) -> Result<Result<(), String>, StageError> {
    let out = cx
        .run_with(
            &chain(argvs),
            RunOptions {
                check: false,
                ..RunOptions::default()
            },
        )
        .await?;
    Ok(if out.status.success() {
        Ok(())
    } else {
        Err(out.tail.join("\n"))
    })
}

/// Clones `repo` at `branch` into its directory, or updates the clone a previous
/// deployment left there. `Err(Ok(_))` is the repository's failure; `Err(Err(_))` a
/// failure of the deployment itself (stopped, connection lost).
pub async fn clone_one(
    cx: &StageContext<'_>,
    names: &EnvNames,
    repo: &Repository,
    branch: &str,
) -> Result<(), Result<CloneError, StageError>> {
    if let Err(e) = validate_branch(branch) {
        return Err(Ok(refused(&repo.url, branch, e.to_string())));
    }
    let remote =
        Remote::parse(&repo.url).map_err(|e| Ok(refused(&repo.url, branch, e.to_string())))?;
    if repo.slug.is_empty()
        || !repo
            .slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(Ok(refused(
            &repo.url,
            branch,
            format!("directory name {:?} is not a valid slug", repo.slug),
        )));
    }
    let token = token(cx, repo).await.map_err(Err)?;
    let dest = names.repo_dir(&repo.slug);
    let fail = |output: &str| {
        Ok(clone_error(
            CloneFailure::classify(output),
            failure::error_data(&remote, branch, output),
        ))
    };

    let update = commands::update(&remote, branch, &dest, token.as_deref());
    let fresh = [
        commands::remove(&dest),
        commands::clone(&remote, branch, &dest, token.as_deref()),
    ];
    let out = cx
        .run_with(
            &clone_or_update(&commands::is_clone(&dest), &update, &fresh),
            RunOptions {
                check: false,
                ..RunOptions::default()
            },
        )
        .await
        .map_err(Err)?;
    if out.status.success() {
        return Ok(());
    }
    let output = out.tail.join("\n");
    if out.status.code != Some(UPDATE_FAILED) {
        return Err(fail(&output));
    }
    let kind = CloneFailure::classify(&output);
    if !matches!(kind, CloneFailure::Other | CloneFailure::TimedOut) {
        return Err(fail(&output));
    }
    cx.debug(&format!(
        "Updating the existing clone of {} failed; cloning it again",
        repo.slug
    ))
    .await;
    attempt(cx, &fresh)
        .await
        .map_err(Err)?
        .map_err(|o| fail(&o))
}

/// How a scope's clones went.
pub struct ScopeResult {
    /// The repositories cloned, in clone order.
    pub ready: Vec<Repository>,
    /// The failures, in clone order.
    pub failed: Vec<(Repository, CloneError)>,
}

/// Clones `repos` at most `clone_concurrency` at a time, logging the spec's
/// `[i/N] Cloning …` and `[i/N] … ready (2.3s)` lines (or a warning per failure).
/// `branch_of` picks each repository's branch.
pub async fn clone_all(
    cx: &StageContext<'_>,
    names: &EnvNames,
    repos: &[Repository],
    branch_of: impl Fn(&Repository) -> String,
) -> Result<ScopeResult, StageError> {
    let n = repos.len();
    let concurrency = cx.config().clone_concurrency.max(1);
    type One<'f> =
        futures::future::BoxFuture<'f, Result<(usize, Result<(), CloneError>), StageError>>;
    let jobs: Vec<One<'_>> = repos
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, repo)| {
            let branch = branch_of(&repo);
            async move {
                cx.info(&messages::cloning_one(i + 1, n, &repo.slug, &branch))
                    .await;
                let started = Instant::now();
                let r = clone_one(cx, names, &repo, &branch).await;
                let secs = started.elapsed().as_secs_f64();
                match r {
                    Ok(()) => {
                        cx.info(&messages::one_ready(i + 1, n, &repo.slug, secs))
                            .await;
                        Ok((i, Ok(())))
                    }
                    Err(Ok(e)) => {
                        cx.warn(
                            &messages::one_failed(i + 1, n, &repo.slug, secs, &e.reason),
                            e.error.data.clone(),
                        )
                        .await;
                        Ok((i, Err(e)))
                    }
                    Err(Err(stage)) => Err(stage),
                }
            }
            .boxed()
        })
        .collect();
    let mut results: Vec<(usize, Result<(), CloneError>)> = futures::stream::iter(jobs)
        .buffer_unordered(concurrency)
        .collect::<Vec<Result<_, StageError>>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    results.sort_by_key(|(i, _)| *i);
    let mut out = ScopeResult {
        ready: vec![],
        failed: vec![],
    };
    for (i, r) in results {
        match r {
            Ok(()) => out.ready.push(repos[i].clone()),
            Err(e) => out.failed.push((repos[i].clone(), e)),
        }
    }
    Ok(out)
}

/// `cloning_platform_repos` and `cloning_org_repos`: every repository of `scope`,
/// failures as warnings.
pub async fn clone_scope(
    cx: &StageContext<'_>,
    scope: RepoScope,
    label: CloneScope,
) -> Result<StageOutcome, StageError> {
    let repos = repositories(cx, scope).await?;
    if repos.is_empty() {
        return Ok(StageOutcome::skipped(messages::no_repos(label)));
    }
    let n = repos.len();
    cx.info(&messages::cloning_repos(label, n)).await;
    let names = env_names(cx);
    prepare_addons_dir(cx, &names).await?;
    let result = clone_all(cx, &names, &repos, |r| r.branch.clone()).await?;
    remember(cx, result.ready.iter().map(addons_repo));
    if result.failed.is_empty() {
        Ok(StageOutcome::completed(closing(|s| {
            messages::all_ready(label, n, s)
        })))
    } else {
        let failed: Vec<Value> = result
            .failed
            .iter()
            .map(|(r, e)| {
                let mut d = e.error.data.clone();
                d["repository"] = json!(r.slug);
                d
            })
            .collect();
        Ok(StageOutcome::warning(closing(|s| {
            messages::some_ready(label, result.ready.len(), n, s)
        }))
        .with_data(json!({"failed": failed})))
    }
}

/// A cloned repository as `addons_path` needs it.
pub fn addons_repo(r: &Repository) -> AddonsRepo {
    AddonsRepo {
        slug: r.slug.clone(),
        scope: r.scope,
        is_primary: r.is_primary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_command_updates_or_clones() {
        let argv = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let cmd = clone_or_update(
            &argv(&["test", "-d", "/d/.git"]),
            &[argv(&["git", "fetch"]), argv(&["git", "reset"])],
            &[
                argv(&["rm", "-rf", "/d"]),
                argv(&["git", "clone", "u", "/d"]),
            ],
        );
        assert_eq!(
            cmd.display(),
            "if 'test' '-d' '/d/.git' ; then { 'git' 'fetch' && 'git' 'reset' ; } || exit 86; else 'rm' '-rf' '/d' && 'git' 'clone' 'u' '/d' ; fi"
        );
    }
}
