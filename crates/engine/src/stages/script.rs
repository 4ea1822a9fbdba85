//! A stage made of fixed shell commands run in order, closing with a fixed message.
//! Useful for operators' custom steps, the engine's benchmark and tests.

use async_trait::async_trait;
use paasportal_core::shell::ShellCommand;

use crate::context::StageContext;
use crate::stage::{StageError, StageHandler, StageOutcome};

/// Runs `commands` one after another; the first non-zero exit fails the stage.
#[derive(Debug, Clone)]
pub struct Script {
    commands: Vec<ShellCommand>,
    closing: String,
    alters: bool,
}

impl Script {
    /// A stage running `commands`, closing with `closing` (`{duration}` allowed).
    pub fn new(commands: Vec<ShellCommand>, closing: impl Into<String>) -> Self {
        Script {
            commands,
            closing: closing.into(),
            alters: true,
        }
    }

    /// Declares that the commands leave what runs on the server unchanged.
    pub fn read_only(mut self) -> Self {
        self.alters = false;
        self
    }
}

#[async_trait]
impl StageHandler for Script {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        for cmd in &self.commands {
            cx.run(cmd).await?;
        }
        Ok(StageOutcome::completed(self.closing.clone()))
    }

    fn alters_environment(&self) -> bool {
        self.alters
    }
}
