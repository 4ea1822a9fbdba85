//! A stage this build cannot run: it fails (or, for a non-fatal stage, warns) saying so,
//! rather than pretending the work was done.

use async_trait::async_trait;
use paasportal_core::diagnostics::ErrorCode;
use serde_json::json;

use crate::context::StageContext;
use crate::stage::{StageError, StageHandler, StageOutcome};

/// Placeholder for a catalogue stage without an implementation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unavailable;

#[async_trait]
impl StageHandler for Unavailable {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        Err(StageError::new(
            format!(
                "Stage {} ({}) is not available in this build of paasportal",
                cx.stage().name(),
                cx.stage()
            ),
            ErrorCode::StageUnavailable,
            json!({"stage": cx.stage().id()}),
        ))
    }

    fn alters_environment(&self) -> bool {
        false
    }
}
