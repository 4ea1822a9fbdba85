//! `installing_dependencies`: scans every cloned repository for `apt.txt` and
//! `requirements.txt`, merges them, and installs them as root inside the Odoo
//! container. The container is then committed as `paasportal/deps-{env_uuid}:{hash}`,
//! the hash covering the package lists and the base image, and the image's name is
//! kept in `{env_dir}/deps-image` on the server; a container already running that image
//! has nothing to install ("Dependencies unchanged, skipped"). Every failure is a
//! warning carrying the installer's last lines.

use std::time::Instant;

use async_trait::async_trait;
use paasportal_core::OdooVersion;
use paasportal_core::diagnostics::{ErrorCode, code_data};
use paasportal_odoo::dependencies::{
    self, APT_FILE, MergedDeps, RepoDeps, apt_install, apt_update, commit_image, merge, parse_apt,
    parse_requirements, pip_install,
};
use paasportal_odoo::diagnostics::dependency_install;
use paasportal_odoo::docker_args::image;
use paasportal_odoo::messages;
use paasportal_odoo::naming::EnvNames;
use serde_json::json;

use super::odoo_env::{closing, command, env_names};
use super::plan::AddonsRepos;
use crate::context::{RunOptions, StageContext};
use crate::stage::{StageError, StageHandler, StageOutcome};

/// The dependency image the Odoo container should run, for later stages and deployments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepsImage(pub String);

/// Installs the repositories' system and Python packages into the Odoo container.
#[derive(Debug, Clone, Copy, Default)]
pub struct InstallingDependencies;

const QUIET: RunOptions = RunOptions {
    timeout: None,
    check: false,
    log_output: false,
    log_command: true,
    survive_stop: false,
};

/// `{env_dir}/deps-image`: the file naming the environment's dependency image.
pub fn deps_image_file(names: &EnvNames) -> String {
    format!("{}/deps-image", names.env_dir())
}

/// Reads and validates every cloned repository's dependency files.
async fn scan(
    cx: &StageContext<'_>,
    names: &EnvNames,
) -> Result<Result<Vec<RepoDeps>, String>, StageError> {
    let repos = cx.vars().get::<AddonsRepos>().unwrap_or_default().0;
    let mut out = Vec::with_capacity(repos.len());
    for repo in &repos {
        let mut deps = RepoDeps {
            repo: repo.slug.clone(),
            ..RepoDeps::default()
        };
        for (file, argv) in dependencies::read_files(names, &repo.slug) {
            let o = cx.run_with(&command(&argv), QUIET).await?;
            if !o.status.success() {
                continue;
            }
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            let label = format!("{}/{file}", repo.slug);
            let parsed = if file == APT_FILE {
                parse_apt(&label, &text)
            } else {
                parse_requirements(&label, &text)
            };
            match (parsed, file == APT_FILE) {
                (Ok(p), true) => deps.apt = p,
                (Ok(p), false) => deps.pip = p,
                (Err(e), _) => return Ok(Err(e.to_string())),
            }
        }
        out.push(deps);
    }
    Ok(Ok(out))
}

/// Runs an installer; on failure, the warning with its last lines.
async fn install(
    cx: &StageContext<'_>,
    installer: &str,
    argv: &[String],
    packages: &[String],
) -> Result<Option<StageOutcome>, StageError> {
    let out = cx
        .run_with(
            &command(argv),
            RunOptions {
                check: false,
                ..RunOptions::default()
            },
        )
        .await?;
    if out.status.success() {
        return Ok(None);
    }
    let tail: Vec<String> = out.tail.iter().rev().take(10).rev().cloned().collect();
    Ok(Some(
        StageOutcome::warning(format!(
            "Dependency installation failed ({{duration}}): {installer} exited with {}",
            out.status.describe()
        ))
        .with_data(dependency_install(installer, packages, &tail)),
    ))
}

/// The id of the Odoo version's image on the server (the hash covers it).
async fn base_image_id(cx: &StageContext<'_>) -> Result<String, StageError> {
    let image_name = match cx.vars().get::<OdooVersion>() {
        Some(v) => v.image,
        None => cx
            .store()
            .get_odoo_version(&cx.environment().odoo_version)
            .await
            .map(|v| v.image)
            .map_err(|e| {
                StageError::new(
                    format!("Cannot load the Odoo version: {e}"),
                    ErrorCode::Internal,
                    serde_json::Value::Null,
                )
            })?,
    };
    let out = cx
        .run_with(&command(&image::inspect(&image_name)), QUIET)
        .await?;
    Ok(if out.status.success() {
        out.stdout_text()
    } else {
        image_name
    })
}

/// The image the running Odoo container was created from (empty when there is none).
pub(crate) async fn running_image(
    cx: &StageContext<'_>,
    names: &EnvNames,
) -> Result<String, StageError> {
    let out = cx
        .run_with(
            &command(&[
                "docker".to_owned(),
                "inspect".to_owned(),
                "--type".to_owned(),
                "container".to_owned(),
                "--format".to_owned(),
                "{{.Config.Image}}".to_owned(),
                names.odoo_container(),
            ]),
            QUIET,
        )
        .await?;
    Ok(out.stdout_text())
}

#[async_trait]
impl StageHandler for InstallingDependencies {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        cx.info(messages::CHECKING_DEPENDENCIES).await;
        cx.info(messages::SCANNING_DEPENDENCIES).await;
        let names = env_names(cx);
        let repos = match scan(cx, &names).await? {
            Ok(r) => r,
            Err(refused) => {
                return Ok(StageOutcome::warning(format!(
                    "Dependencies not installed ({{duration}}): {refused}"
                ))
                .with_data(code_data(
                    ErrorCode::ConfigInvalid,
                    json!({"error": refused}),
                )));
            }
        };
        let merged: MergedDeps = merge(&repos);
        for c in &merged.conflicts {
            cx.debug(&format!("Dependency conflict resolved: {c}"))
                .await;
        }
        if merged.is_empty() {
            return Ok(StageOutcome::skipped(messages::NO_DEPENDENCIES));
        }
        let hash = merged.content_hash(&base_image_id(cx).await?);
        let target = names.deps_image(&hash);
        cx.vars().insert(DepsImage(target.clone()));
        let details = json!({
            "sources": merged.sources,
            "apt_packages": merged.apt,
            "pip_packages": merged.pip,
            "deps_hash": hash,
            "image": target,
        });
        if running_image(cx, &names).await? == target {
            return Ok(StageOutcome::skipped(messages::DEPENDENCIES_UNCHANGED).with_data(details));
        }

        let started = Instant::now();
        if !merged.apt.is_empty() {
            if let Some(w) = install(cx, "apt-get", &apt_update(&names), &merged.apt).await? {
                return Ok(w);
            }
            if let Some(w) = install(
                cx,
                "apt-get",
                &apt_install(&names, &merged.apt),
                &merged.apt,
            )
            .await?
            {
                return Ok(w);
            }
        }
        if !merged.pip.is_empty()
            && let Some(w) =
                install(cx, "pip3", &pip_install(&names, &merged.pip), &merged.pip).await?
        {
            return Ok(w);
        }
        cx.info(&messages::dependencies_from(&merged.sources)).await;
        cx.info(&messages::total_apt(merged.apt.len())).await;
        cx.info(&messages::total_pip(merged.pip.len())).await;
        cx.run(&command(&commit_image(&names, &hash))).await?;
        let record = command(&[
            "sh".to_owned(),
            "-c".to_owned(),
            "printf '%s\\n' \"$1\" > \"$2\"".to_owned(),
            "sh".to_owned(),
            target.clone(),
            deps_image_file(&names),
        ]);
        cx.run(&record).await?;
        cx.debug(&format!(
            "Packages installed in {:.1}s; image {target} kept for the next deployment",
            started.elapsed().as_secs_f64()
        ))
        .await;
        Ok(StageOutcome::completed(closing(messages::dependencies_installed)).with_data(details))
    }
}
