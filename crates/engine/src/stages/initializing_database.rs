//! `initializing_database`: a fresh database (`odoo -d {db} -i base --stop-after-init`
//! in the Odoo container, with a generated admin password kept sealed for the project's
//! admins), or, once per environment, the restore of its migration backup. A database
//! that a previous deployment initialised or restored is kept.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use paasportal_core::diagnostics::{ErrorCode, Problem};
use paasportal_odoo::credentials::generate_password;
use paasportal_odoo::diagnostics::{database_init, non_empty_lines};
use paasportal_odoo::docker_args::database::psql;
use paasportal_odoo::docker_args::odoo::init_database;
use paasportal_odoo::messages;
use paasportal_odoo::naming::EnvNames;
use serde_json::Value;

use super::migration_restore;
use super::odoo_env::{closing, command, env_names};
use crate::context::{RunOptions, StageContext};
use crate::stage::{StageError, StageHandler, StageOutcome};

/// Attempts of the initialisation while PostgreSQL is not reachable yet.
pub const MAX_RETRIES: u32 = 3;
/// Pause between two attempts.
const RETRY_PAUSE: Duration = Duration::from_secs(2);
/// Exit 0 and prints `1` once the `base` module is installed.
const BASE_INSTALLED: &str =
    "SELECT count(*) FROM ir_module_module WHERE name = 'base' AND state = 'installed'";

/// Initialises or restores the environment's database.
#[derive(Debug, Clone, Copy, Default)]
pub struct InitializingDatabase;

fn internal(e: impl std::fmt::Display) -> StageError {
    StageError::new(
        format!("Cannot record the database's state: {e}"),
        ErrorCode::Internal,
        Value::Null,
    )
}

/// True when the database exists with `base` installed (a previous deployment's).
async fn initialized(cx: &StageContext<'_>, names: &EnvNames) -> Result<bool, StageError> {
    let out = cx
        .run_with(
            &command(&psql(
                &names.db_container(),
                &names.db_name(),
                BASE_INSTALLED,
            )),
            RunOptions {
                check: false,
                log_output: false,
                ..RunOptions::default()
            },
        )
        .await?;
    Ok(out.status.success() && out.stdout_text() == "1")
}

/// Whether the output says the database was not reachable yet, or that the running
/// Odoo created it at the same moment.
fn transient(output: &str) -> bool {
    let s = output.to_ascii_lowercase();
    s.contains("could not create database")
        || s.contains("starting up")
        || s.contains("connection refused")
        || s.contains("could not connect")
        || s.contains("connection timeout")
        || s.contains("timed out")
}

/// The fresh initialisation with a new admin password, retried while PostgreSQL starts.
async fn initialize(cx: &StageContext<'_>, names: &EnvNames) -> Result<StageOutcome, StageError> {
    cx.info(messages::INITIALIZING_DATABASE).await;
    let started = Instant::now();
    let password = generate_password();
    cx.register_secret(&password);
    cx.store()
        .set_admin_password_enc(cx.environment().id, &cx.secrets().seal(&password))
        .await
        .map_err(internal)?;
    let mut last_error = String::new();
    for attempt in 1..=MAX_RETRIES {
        let out = cx
            .run_with(
                &command(&init_database(names, &password)),
                RunOptions {
                    check: false,
                    ..RunOptions::default()
                },
            )
            .await?;
        if out.status.success() {
            cx.info("Admin password generated: project admins can reveal it once in the portal")
                .await;
            return Ok(StageOutcome::completed(closing(
                messages::database_initialized,
            )));
        }
        let text = out.tail.join("\n");
        last_error = non_empty_lines(&text)
            .last()
            .map(|l| l.trim().to_owned())
            .unwrap_or_else(|| format!("odoo exited with {}", out.status.describe()));
        if attempt == MAX_RETRIES || !transient(&text) {
            break;
        }
        cx.debug(&format!(
            "Database not reachable yet (attempt {attempt}/{MAX_RETRIES}): {last_error}"
        ))
        .await;
        tokio::select! {
            _ = tokio::time::sleep(RETRY_PAUSE) => {}
            _ = cx.cancel_token().cancelled() => return Err(StageError::stopped()),
        }
    }
    let timed_out = transient(&last_error) && !last_error.contains("Could not create database");
    let reason = if timed_out {
        "Connection timeout".to_owned()
    } else {
        last_error.clone()
    };
    let code = if timed_out {
        ErrorCode::Timeout
    } else {
        ErrorCode::CommandFailed
    };
    Err(StageError::problem(
        messages::database_failed(&reason),
        Problem::DatabaseInitTimeout,
        code,
        database_init(
            &names.db_name(),
            started.elapsed().as_secs_f64(),
            MAX_RETRIES,
            &last_error,
        ),
    ))
}

#[async_trait]
impl StageHandler for InitializingDatabase {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        let names = env_names(cx);
        let env = cx
            .store()
            .get_environment(cx.environment().id)
            .await
            .map_err(internal)?;
        if let (Some(migration_id), false) = (env.migration_id, env.migration_restore_completed) {
            return migration_restore::restore(cx, &names, migration_id).await;
        }
        if env.migration_restore_completed {
            return Ok(StageOutcome::skipped(
                "Database kept: the migration was restored by an earlier deployment",
            ));
        }
        let has_admin = cx
            .store()
            .admin_password_enc(env.id)
            .await
            .map_err(internal)?
            .is_some();
        if has_admin && initialized(cx, &names).await? {
            return Ok(StageOutcome::skipped("Database already initialized, kept"));
        }
        initialize(cx, &names).await
    }
}
