//! `generating_config`: odoo.conf from the environment (addons path in the spec's
//! priority order, the database through PgBouncer, workers and memory limits, the
//! replica for Odoo 18 and later) with the user's validated overrides merged last,
//! written on the server as `{base_dir}/{env_uuid}/odoo.conf`.
//!
//! The file travels on the command's stdin (it holds the database password, which
//! must never be on a command line), is written with mode 0600 beside its final
//! place and renamed over it, so a running container keeps reading the old file
//! until it is replaced.

use async_trait::async_trait;
use paasportal_core::diagnostics::ErrorCode;
use paasportal_core::shell::ShellCommand;
use paasportal_odoo::config_file::{ConfigInput, generate};
use paasportal_odoo::messages;
use paasportal_odoo::overrides::Overrides;
use serde_json::json;

use super::plan::{AddonsRepos, plan};
use crate::context::{RunOptions, StageContext};
use crate::stage::{StageError, StageHandler, StageOutcome};

/// Generates and writes odoo.conf.
#[derive(Debug, Clone, Copy, Default)]
pub struct GeneratingConfig;

#[async_trait]
impl StageHandler for GeneratingConfig {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        let p = plan(cx).await?;
        let env = cx.environment();
        cx.info(messages::GENERATING_CONFIG).await;
        let overrides = Overrides::parse(&env.config_overrides).map_err(|e| {
            StageError::new(
                format!("Invalid odoo.conf override: {e}"),
                ErrorCode::ConfigInvalid,
                json!({"override": e.path(), "error": e.to_string()}),
            )
        })?;
        let repos = cx.vars().get::<AddonsRepos>().unwrap_or_default();
        let conf = generate(&ConfigInput {
            names: &p.names,
            odoo_major: p.version.major(),
            env_ram_mb: env.ram_mb,
            resources: p.resources,
            db_password: &p.db_password,
            repos: &repos.0,
            overrides: &overrides,
        })
        .map_err(|e| {
            StageError::new(
                format!("Cannot generate odoo.conf: {e}"),
                ErrorCode::ConfigInvalid,
                json!({"error": e.to_string()}),
            )
        })?;
        let path = p.names.conf_path();
        let tmp = format!("{path}.tmp");
        let write = ShellCommand::new("mkdir -p")
            .arg(p.names.env_dir())
            .raw("&& umask 077 && cat >")
            .arg(&tmp)
            .raw("&& mv -f")
            .arg(&tmp)
            .arg(&path);
        cx.run_input(&write, conf.text.as_bytes(), RunOptions::default())
            .await?;
        cx.info(messages::CONFIG_GENERATED).await;
        let data = json!({
            "path": path,
            "custom_overrides": conf.overrides_applied,
            "workers": p.resources.odoo_workers(),
            "read_replica": p.replica(),
            "addons_repositories": repos.0.len(),
        });
        Ok(
            StageOutcome::completed(messages::config_overrides(conf.overrides_applied))
                .with_data(data),
        )
    }
}
