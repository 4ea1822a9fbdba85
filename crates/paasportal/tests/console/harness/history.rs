//! A month of finished deployments for the stats page, imported through the store:
//! one a day, each stage a few seconds, one in eight failed at a random stage.

use chrono::{Duration, Utc};
use paasportal_core::stage::{CATALOGUE, WORKING_STAGES};
use paasportal_core::{DeploymentStatus, StepStatus, Trigger};
use paasportal_store::Store;
use paasportal_store::history_import::{ImportedDeployment, ImportedStep};
use uuid::Uuid;

/// Imports `days` deployments of `environment` (project `project`, server `server`).
pub async fn month(store: &Store, project: Uuid, environment: Uuid, server: Uuid, days: i64) {
    let now = Utc::now();
    let mut out = Vec::new();
    for d in 0..days {
        let start = now - Duration::days(days - d) + Duration::minutes(d * 37 % 600);
        let failed_at = (d % 8 == 5).then(|| 3 + (d as usize * 7) % (WORKING_STAGES - 4));
        let mut at = start;
        let mut steps = Vec::new();
        for (i, stage) in CATALOGUE.iter().enumerate() {
            if failed_at.is_some_and(|f| i > f) {
                break;
            }
            // Deterministic, stage-dependent timings that drift down over the month.
            let ms = 300 + ((i as i64 * 7919 + d * 104_729) % 4_000) + (days - d) * 40;
            let took = Duration::milliseconds(ms);
            steps.push(ImportedStep {
                step: stage.id,
                status: if failed_at == Some(i) {
                    StepStatus::Failed
                } else {
                    StepStatus::Completed
                },
                started_at: at,
                completed_at: at + took,
            });
            at += took;
        }
        out.push(ImportedDeployment {
            id: Uuid::now_v7(),
            project_id: project,
            environment_id: environment,
            server_id: Some(server),
            version: 1 + d,
            status: if failed_at.is_some() {
                DeploymentStatus::Failed
            } else {
                DeploymentStatus::Success
            },
            trigger: if d % 3 == 0 {
                Trigger::Manual
            } else {
                Trigger::Webhook
            },
            triggered_by: None,
            git_branch: "main".into(),
            started_at: start,
            completed_at: at,
            error_message: failed_at.map(|f| format!("{} failed", CATALOGUE[f].name)),
            steps,
        });
    }
    store.import_deployments(&out).await.unwrap();
}
