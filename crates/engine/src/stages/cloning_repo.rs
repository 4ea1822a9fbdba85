//! `cloning_repo`: the project's primary repository at the environment's branch, then
//! its additional repositories; any failure is fatal with the spec's structured error.
//! The primary repository's commit is captured onto the deployment and logged.

use std::time::Instant;

use async_trait::async_trait;
use paasportal_core::RepoScope;
use paasportal_odoo::git::{commands, commit_info};
use paasportal_odoo::messages;
use serde_json::json;

use super::odoo_env::{command, env_names};
use super::repos::{addons_repo, clone_all, prepare_addons_dir, remember, repositories};
use crate::context::{RunOptions, StageContext};
use crate::stage::{StageError, StageHandler, StageOutcome};

/// Clones the project's repositories and records the commit deployed.
#[derive(Debug, Clone, Copy, Default)]
pub struct CloningRepo;

#[async_trait]
impl StageHandler for CloningRepo {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        let repos = repositories(cx, RepoScope::Project).await?;
        let Some(primary) = repos.iter().find(|r| r.is_primary).cloned() else {
            return Ok(StageOutcome::skipped("No project repository configured"));
        };
        cx.info(messages::CLONING_PROJECT).await;
        let started = Instant::now();
        let names = env_names(cx);
        prepare_addons_dir(cx, &names).await?;
        let env_branch = cx.environment().branch.clone();
        let result = clone_all(cx, &names, &repos, |r| {
            if r.is_primary {
                env_branch.clone()
            } else {
                r.branch.clone()
            }
        })
        .await?;
        if let Some((_, e)) = result.failed.into_iter().next() {
            return Err(e.error);
        }
        remember(cx, result.ready.iter().map(addons_repo));
        cx.info(&messages::project_cloned(started.elapsed().as_secs_f64()))
            .await;

        let dest = names.repo_dir(&primary.slug);
        let out = cx
            .run_with(
                &command(&commands::last_commit(&dest)),
                RunOptions {
                    log_output: false,
                    ..RunOptions::default()
                },
            )
            .await?;
        match commit_info::parse(&out.stdout_text(), &env_branch) {
            Ok(info) => {
                if let Err(e) = cx.store().record_git_info(cx.deployment().id, &info).await {
                    cx.warn(
                        &format!("Could not record the deployed commit: {e}"),
                        serde_json::Value::Null,
                    )
                    .await;
                }
                cx.log(
                    paasportal_core::LogLevel::Info,
                    &commit_info::log_line(&info),
                    json!({
                        "git_commit": info.git_commit,
                        "git_message": info.git_message,
                        "git_branch": info.git_branch,
                        "committer_name": info.committer_name,
                        "committer_email": info.committer_email,
                        "commit_date": info.commit_date,
                    }),
                )
                .await;
            }
            Err(e) => {
                cx.warn(
                    &format!("Could not read the deployed commit: {e}"),
                    serde_json::Value::Null,
                )
                .await;
            }
        }
        Ok(StageOutcome::completed(""))
    }
}
