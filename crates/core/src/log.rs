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

/// `text` with every NUL replaced by U+FFFD: command output may hold NUL bytes, which
/// PostgreSQL's text cannot store (one such line would fail its whole batch).
pub fn without_nul(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// [`without_nul`] for every string and object key inside a JSON value.
pub fn value_without_nul(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(clean) = without_nul(s) {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(value_without_nul),
        Value::Object(map) => {
            if map.keys().any(|k| k.contains('\0')) {
                let old = std::mem::take(map);
                for (k, v) in old {
                    map.insert(without_nul(&k).into_owned(), v);
                }
            }
            map.values_mut().for_each(value_without_nul);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod nul_tests {
    use super::*;

    #[test]
    fn nul_becomes_the_replacement_character() {
        assert_eq!(without_nul("a\0b\0"), "a\u{FFFD}b\u{FFFD}");
        assert!(matches!(
            without_nul("clean"),
            std::borrow::Cow::Borrowed(_)
        ));
        let mut v = serde_json::json!({"k\0": ["x\0", 1, {"y": "\0"}]});
        value_without_nul(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"k\u{FFFD}": ["x\u{FFFD}", 1, {"y": "\u{FFFD}"}]})
        );
    }
}
