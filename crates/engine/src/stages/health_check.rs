//! `health_check`: after a configurable wait for Odoo to start, `GET /web/health` on
//! port 8069, run on the target server inside the container (the control plane cannot
//! reach container addresses), retried a few times. Non-fatal: a failure is a warning
//! carrying the HTTP status and the container's last 50 log lines.

use std::time::Duration;

use async_trait::async_trait;
use paasportal_core::diagnostics::{ErrorCode, Problem};
use paasportal_odoo::diagnostics;
use paasportal_odoo::docker_args::odoo::{health_check, parse_health_status};
use paasportal_odoo::messages;
use serde_json::json;

use super::docker;
use super::plan::plan;
use crate::context::StageContext;
use crate::diagnose::container_log_tail;
use crate::stage::{StageError, StageHandler, StageOutcome};

/// Seconds one health request may take.
const REQUEST_TIMEOUT_SECS: u32 = 10;
/// Pause between health requests.
const RETRY_PAUSE: Duration = Duration::from_secs(2);

/// Checks that Odoo answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct HealthCheck;

#[async_trait]
impl StageHandler for HealthCheck {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        let p = plan(cx).await?;
        let name = p.names.odoo_container();
        let settings = &cx.config().deploy;
        cx.info(messages::PERFORMING_HEALTH_CHECK).await;
        cx.sleep(settings.health_wait).await?;
        let attempts = settings.health_attempts.max(1);
        let mut status = None;
        for attempt in 1..=attempts {
            let out = docker::probe(cx, &health_check(&p.names, REQUEST_TIMEOUT_SECS)).await?;
            status = parse_health_status(&out.stdout_text());
            if status == Some(200) {
                return Ok(
                    StageOutcome::completed("Health check passed!").with_data(json!({
                        "container": name,
                        "http_status": 200,
                        "attempts": attempt,
                    })),
                );
            }
            if attempt < attempts {
                cx.sleep(RETRY_PAUSE).await?;
            }
        }
        let state = docker::container_state(cx, &name).await?;
        let tail = container_log_tail(cx, &name).await;
        let mut data = diagnostics::health_check(&name, status, &tail);
        if let Some(m) = data.as_object_mut() {
            m.remove("error_code");
            m.insert("attempts".into(), json!(attempts));
            m.insert("container_state".into(), json!(state));
        }
        let message = match state.as_deref() {
            Some("running") => {
                "Health check failed ({duration}), but container is running".to_owned()
            }
            other => format!(
                "Health check failed ({{duration}}): container is {}",
                other.unwrap_or("gone")
            ),
        };
        Err(StageError::problem(
            message,
            Problem::HealthCheck,
            ErrorCode::HealthCheckFailed,
            data,
        ))
    }

    fn alters_environment(&self) -> bool {
        false
    }
}
