//! Deployment log lines: their level, what a producer appends and what the store keeps.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::deployment::DeploymentStatus;
use crate::text_enum;

text_enum! {
    /// Severity of a log line.
    pub enum LogLevel: "log level" {
        Debug = "debug",
        Info = "info",
        Warning = "warning",
        Error = "error",
    }
}

/// A log line as a producer appends it, before it has a sequence number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewLog {
    /// Chosen by the producer (UUIDv7), so a retried append is recognisable.
    pub id: Uuid,
    pub deployment_id: Uuid,
    pub timestamp: DateTime<Utc>,
    pub level: LogLevel,
    pub message: String,
    /// Stage id such as `pulling_image`; `None` for lines outside any stage.
    pub step: Option<String>,
    /// Structured details; `Value::Null` when there are none.
    pub data: serde_json::Value,
    /// The deployment's status when the line was written.
    pub status: DeploymentStatus,
    /// The deployment's progress when the line was written.
    pub progress_percent: u8,
}

impl NewLog {
    /// A line stamped now with a fresh time-ordered id.
    pub fn now(deployment_id: Uuid, level: LogLevel, message: impl Into<String>) -> Self {
        NewLog {
            id: Uuid::now_v7(),
            deployment_id,
            timestamp: Utc::now(),
            level,
            message: message.into(),
            step: None,
            data: serde_json::Value::Null,
            status: DeploymentStatus::Running,
            progress_percent: 0,
        }
    }
}

/// A durable log line: a [`NewLog`] plus its global sequence number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    /// Global, dense, commit-ordered sequence number; also the stream's event id.
    pub seq: i64,
    #[serde(flatten)]
    pub log: NewLog,
}
