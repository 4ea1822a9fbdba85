//! The one-time migration restore of `initializing_database`: the backup ZIP downloaded
//! from S3-compatible storage onto the control plane, checked against its manifest,
//! then restored on the server (dump through `psql`, filestore unpacked, parameters
//! sanitised). Each checked file is streamed from disk over the deployment's connection
//! into the stdin of the one remote command that reads it (`psql` for the dump, `tar`
//! for the filestore): nothing is staged on the server, no content is on a command
//! line, and the backup is never whole in memory. The environment is marked restored
//! in the transaction that records the stage completed, so a redeploy never restores
//! again; `migration_progress` events report the percent.

use std::time::Instant;

use chrono::Utc;
use paasportal_core::diagnostics::{ErrorCode, Problem};
use paasportal_core::{EventKind, NewEvent};
use paasportal_odoo::backup::progress::{ProgressGate, event_data};
use paasportal_odoo::backup::storage::download_path;
use paasportal_odoo::backup::{
    BackupStorage, CheckedBackup, RestoreInput, RestorePhase, StdinSource, check_and_extract,
    restore_steps,
};
use paasportal_odoo::diagnostics::non_empty_lines;
use paasportal_odoo::messages;
use paasportal_odoo::naming::EnvNames;
use serde_json::{Value, json};
use uuid::Uuid;

use super::odoo_env::command;
use crate::context::{RunOptions, StageContext};
use crate::stage::{StageError, StageOutcome};
use crate::transport::Stdin;

/// Restores attempted per deployment (a failed restore fails the deployment).
const MAX_RETRIES: u32 = 1;
/// Bytes read from a checked file at a time while it is streamed.
const STREAM_BUFFER: usize = 256 * 1024;

struct Failure<'a> {
    db_name: &'a str,
    started: Instant,
    migration_id: Uuid,
}

impl Failure<'_> {
    fn error(&self, reason: &str, code: ErrorCode, last_error: &str) -> StageError {
        StageError::problem(
            messages::database_failed(reason),
            Problem::DatabaseInitTimeout,
            code,
            json!({
                "db_name": self.db_name,
                "elapsed_seconds": (self.started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
                "max_retries": MAX_RETRIES,
                "last_error": last_error,
                "migration_id": self.migration_id,
            }),
        )
    }
}

/// Emits one `migration_progress` event through the durable writer.
async fn progress(cx: &StageContext<'_>, migration_id: Uuid, phase: RestorePhase, percent: u8) {
    let ctx = cx.deployment_context();
    let event = NewEvent {
        kind: EventKind::MigrationProgress,
        organization_id: Some(ctx.organization_id),
        project_id: Some(ctx.project_id),
        deployment_id: Some(ctx.deployment_id),
        user_id: None,
        data: event_data(migration_id, ctx.environment_id, phase, percent),
        created_at: Utc::now(),
    };
    if let Err(e) = cx.writer().append_event(event).await {
        tracing::error!(error = %e, "migration_progress event not written");
    }
}

/// Downloads and checks the backup into `dir`.
async fn fetch(
    cx: &StageContext<'_>,
    f: &Failure<'_>,
    key: &str,
    dir: &std::path::Path,
) -> Result<CheckedBackup, StageError> {
    let Some(config) = cx.config().backups.clone() else {
        return Err(f.error(
            "migration backups storage is not configured",
            ErrorCode::ConfigInvalid,
            "PAASPORTAL_BACKUP_S3_* settings are missing",
        ));
    };
    cx.register_secret(&config.secret_access_key);
    let storage = BackupStorage::new(&config)
        .map_err(|e| f.error(&e.to_string(), ErrorCode::ConfigInvalid, &e.to_string()))?;
    let zip = download_path(dir, f.migration_id);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u8>();
    let download = storage.download(key, &zip, move |done, total| {
        let _ = tx.send(RestorePhase::Downloading.percent(done, total));
    });
    let report = async {
        let mut gate = ProgressGate::default();
        while let Some(p) = rx.recv().await {
            if let Some(p) = gate.pass(p) {
                progress(cx, f.migration_id, RestorePhase::Downloading, p).await;
            }
        }
    };
    let (result, ()) = tokio::select! {
        r = async { tokio::join!(download, report) } => r,
        _ = cx.cancel_token().cancelled() => return Err(StageError::stopped()),
    };
    let bytes = result.map_err(|e| {
        f.error(
            "Cannot download the migration backup",
            ErrorCode::CommandFailed,
            &e.to_string(),
        )
    })?;
    cx.debug(&format!("Downloaded {key} ({bytes} bytes)")).await;
    progress(
        cx,
        f.migration_id,
        RestorePhase::Verifying,
        RestorePhase::Verifying.percent(0, 1),
    )
    .await;
    let out = dir.join("extracted");
    let checked = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
        check_and_extract(&zip, &out).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| {
        f.error(
            "the backup check stopped",
            ErrorCode::Internal,
            &e.to_string(),
        )
    })?
    .map_err(|e| {
        f.error(
            "The migration backup is corrupt",
            ErrorCode::ConfigInvalid,
            &e,
        )
    })?;
    Ok(checked)
}

/// Runs the restore steps, those reading a checked file with it streamed to their stdin.
async fn run_steps(
    cx: &StageContext<'_>,
    f: &Failure<'_>,
    steps: &[paasportal_odoo::backup::RestoreStep],
    backup: &CheckedBackup,
) -> Result<(), StageError> {
    let total = steps.len() as u64;
    for (i, step) in steps.iter().enumerate() {
        cx.debug(&format!("Restore: {}", step.what)).await;
        let mut file = match step.stdin {
            None => None,
            Some(src) => {
                let path = match src {
                    StdinSource::Dump => &backup.dump_path,
                    StdinSource::Filestore => &backup.filestore_path,
                };
                let file = tokio::fs::File::open(path).await.map_err(|e| {
                    f.error(
                        "cannot read the checked backup",
                        ErrorCode::Internal,
                        &e.to_string(),
                    )
                })?;
                Some(tokio::io::BufReader::with_capacity(STREAM_BUFFER, file))
            }
        };
        let out = cx
            .run_stream(
                &command(&step.argv),
                file.as_mut().map(|r| r as &mut Stdin<'_>),
                RunOptions {
                    check: false,
                    ..RunOptions::default()
                },
            )
            .await?;
        if !out.status.success() {
            let text = out.tail.join("\n");
            let last = non_empty_lines(&text)
                .last()
                .map(|l| l.trim().to_owned())
                .unwrap_or_else(|| out.status.describe());
            return Err(f.error(
                &format!("restore step '{}' failed", step.what),
                ErrorCode::CommandFailed,
                &last,
            ));
        }
        progress(
            cx,
            f.migration_id,
            step.phase,
            step.phase.percent(i as u64 + 1, total),
        )
        .await;
    }
    Ok(())
}

/// Restores migration `migration_id` into the environment's database, once.
pub async fn restore(
    cx: &StageContext<'_>,
    names: &EnvNames,
    migration_id: Uuid,
) -> Result<StageOutcome, StageError> {
    cx.info(messages::RESTORING_MIGRATION).await;
    let db_name = names.db_name();
    let f = Failure {
        db_name: &db_name,
        started: Instant::now(),
        migration_id,
    };
    let migration = cx.store().get_migration(migration_id).await.map_err(|e| {
        f.error(
            "the migration backup is not known",
            ErrorCode::ConfigInvalid,
            &e.to_string(),
        )
    })?;
    let dir = tempfile::Builder::new()
        .prefix("paasportal-restore")
        .tempdir()
        .map_err(|e| {
            f.error(
                "no space for the backup",
                ErrorCode::Internal,
                &e.to_string(),
            )
        })?;
    let backup = fetch(cx, &f, &migration.backup_key, dir.path()).await?;

    cx.info(messages::RESTORING_DATABASE).await;
    let mut image = super::installing_dependencies::running_image(cx, names).await?;
    if image.is_empty() {
        image = cx
            .store()
            .get_odoo_version(&cx.environment().odoo_version)
            .await
            .map(|v| v.image)
            .map_err(|e| {
                f.error(
                    "the Odoo version is unknown",
                    ErrorCode::Internal,
                    &e.to_string(),
                )
            })?;
    }
    let hostname = cx.environment().hostname();
    let steps = restore_steps(&RestoreInput {
        names,
        odoo_image: &image,
        hostname: &hostname,
        filestore_strip: backup.filestore.strip_components,
        new_database_uuid: Uuid::new_v4(),
    });
    let result = run_steps(cx, &f, &steps, &backup).await;
    drop(dir);
    result?;
    let secs = cx.elapsed().as_secs_f64();
    cx.store()
        .complete_migration_restore(
            cx.environment().id,
            cx.deployment().id,
            cx.stage().id(),
            Utc::now(),
            secs,
        )
        .await
        .map_err(|e| {
            StageError::new(
                format!("Cannot record the completed migration restore: {e}"),
                ErrorCode::Internal,
                Value::Null,
            )
        })?;
    progress(cx, migration_id, RestorePhase::Completed, 100).await;
    Ok(
        StageOutcome::completed(super::odoo_env::closing(messages::migration_restored)).with_data(
            json!({
                "migration_id": migration_id,
                "db_name": db_name,
                "filestore_files": backup.filestore.files,
            }),
        ),
    )
}
