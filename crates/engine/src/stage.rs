//! The stage interface: what a stage implementation provides and returns.
//!
//! A stage is a [`StageHandler`] registered for one [`Stage`] of the catalogue in a
//! [`crate::Pipeline`]. It runs with a [`crate::StageContext`] (the deployment's facts,
//! the logger, the connection, typed values shared between stages) and ends with a
//! [`StageOutcome`] or a [`StageError`]. The runner does the rest: step states and
//! timings, the stage timeout, cancellation, fatal versus non-fatal handling, and the
//! closing line with the stage's duration.
//!
//! Closing messages may place the duration with `{duration}` ("DNS setup skipped
//! ({duration}): No DNS provider configured"); without it, " (1.2s)" is appended
//! ("Network created (0.3s)").

use async_trait::async_trait;
use paasportal_core::LogLevel;
use paasportal_core::diagnostics::{ErrorCode, Problem, code_data, error_data};
use serde_json::Value;

use crate::context::StageContext;

/// One stage's implementation.
#[async_trait]
pub trait StageHandler: Send + Sync {
    /// Runs the stage.
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError>;

    /// Whether the stage changes what runs on the server. A deployment cancelled before
    /// its first such stage gives the environment back its previous status; after it,
    /// the environment is marked failed, since it may be half-deployed.
    fn alters_environment(&self) -> bool {
        true
    }
}

/// How a stage ended when it did not fail.
#[derive(Debug, Clone, PartialEq)]
pub struct StageOutcome {
    pub kind: OutcomeKind,
    /// The closing line; `{duration}` marks where the duration goes, else it is appended.
    pub message: String,
    /// Level of the closing line.
    pub level: LogLevel,
    /// Structured details of the closing line.
    pub data: Value,
}

/// The step status a successful outcome records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeKind {
    Completed,
    /// The stage did not do its work but the deployment goes on (a non-fatal problem).
    Warning,
    Skipped,
}

impl StageOutcome {
    /// Completed, closing with `message` at INFO.
    pub fn completed(message: impl Into<String>) -> Self {
        StageOutcome {
            kind: OutcomeKind::Completed,
            message: message.into(),
            level: LogLevel::Info,
            data: Value::Null,
        }
    }

    /// Ended in a warning (logged at WARNING); the deployment goes on.
    pub fn warning(message: impl Into<String>) -> Self {
        StageOutcome {
            kind: OutcomeKind::Warning,
            message: message.into(),
            level: LogLevel::Warning,
            data: Value::Null,
        }
    }

    /// Skipped, closing with `message` at INFO (use [`StageOutcome::at`] to raise it).
    pub fn skipped(message: impl Into<String>) -> Self {
        StageOutcome {
            kind: OutcomeKind::Skipped,
            message: message.into(),
            level: LogLevel::Info,
            data: Value::Null,
        }
    }

    /// The same outcome with structured details on its closing line.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = data;
        self
    }

    /// The same outcome logged at `level`.
    pub fn at(mut self, level: LogLevel) -> Self {
        self.level = level;
        self
    }
}

/// Why a stage failed: the message for the log and `error_message`, and structured
/// `data` carrying `error_code` and, for the spec's known problems, `troubleshooting`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct StageError {
    /// May contain `{duration}`, like a closing message.
    pub message: String,
    pub data: Value,
    /// The deployment was stopped (cancel, shutdown, lost lease): not the stage's fault.
    pub stopped: bool,
}

impl StageError {
    /// A failure with an error code and details.
    pub fn new(message: impl Into<String>, code: ErrorCode, details: Value) -> Self {
        StageError {
            message: message.into(),
            data: code_data(code, details),
            stopped: false,
        }
    }

    /// A failure that is one of the spec's common deployment errors: its `data` carries
    /// the troubleshooting steps.
    pub fn problem(
        message: impl Into<String>,
        problem: Problem,
        code: ErrorCode,
        details: Value,
    ) -> Self {
        StageError {
            message: message.into(),
            data: error_data(problem, code, details),
            stopped: false,
        }
    }

    /// The deployment was stopped while the stage ran.
    pub fn stopped() -> Self {
        StageError {
            message: "Stopped".into(),
            data: code_data(ErrorCode::Cancelled, Value::Null),
            stopped: true,
        }
    }

    /// The `error_code` in `data`, if any.
    pub fn code(&self) -> Option<&str> {
        self.data.get("error_code").and_then(Value::as_str)
    }
}

/// Fills `{duration}` in a closing message, or appends " (duration)".
pub fn with_duration(message: &str, seconds: f64) -> String {
    let d = format!("{seconds:.1}s");
    if message.contains("{duration}") {
        message.replacen("{duration}", &d, 1)
    } else {
        format!("{message} ({d})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_spec() {
        assert_eq!(
            with_duration("Network created", 0.31),
            "Network created (0.3s)"
        );
        assert_eq!(
            with_duration(
                "DNS setup skipped ({duration}): No DNS provider configured",
                1.0
            ),
            "DNS setup skipped (1.0s): No DNS provider configured"
        );
        assert_eq!(
            with_duration(
                "Health check failed ({duration}), but container is running",
                15.24
            ),
            "Health check failed (15.2s), but container is running"
        );
    }

    #[test]
    fn errors_carry_codes_and_troubleshooting() {
        let e = StageError::problem(
            "Failed to connect to server via SSH",
            Problem::SshConnection,
            ErrorCode::ConnectionRefused,
            serde_json::json!({"vm_ip": "10.0.0.1", "ssh_port": 22}),
        );
        assert_eq!(e.code(), Some("CONNECTION_REFUSED"));
        assert!(e.data["troubleshooting"].as_array().unwrap().len() >= 4);
        assert!(!e.stopped);
        assert!(StageError::stopped().stopped);
    }
}
