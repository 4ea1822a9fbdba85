//! `completed`: the runner records the outcome (status, duration, the environment's
//! status) and writes the spec's closing lines; this handler has nothing to add.

use async_trait::async_trait;

use crate::context::StageContext;
use crate::stage::{StageError, StageHandler, StageOutcome};

/// The default `completed` stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct Completed;

#[async_trait]
impl StageHandler for Completed {
    async fn run(&self, _cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        Ok(StageOutcome::completed(""))
    }

    fn alters_environment(&self) -> bool {
        false
    }
}
