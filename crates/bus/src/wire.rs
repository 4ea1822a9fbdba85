//! A committed batch as it travels through Redis: JSON, one message per batch.

use paasportal_core::{LogRecord, StreamEvent};
use paasportal_store::CommittedBatch;
use paasportal_store::writer::Committed;
use serde::{Deserialize, Serialize};

/// The Redis channel every replica subscribes to.
pub const CHANNEL: &str = "paasportal:events";

#[derive(Serialize)]
enum EntryRef<'a> {
    L(&'a LogRecord),
    E(&'a StreamEvent),
}

#[derive(Deserialize)]
enum Entry {
    L(LogRecord),
    E(StreamEvent),
}

/// Encodes a batch for PUBLISH.
pub fn encode(batch: &CommittedBatch) -> Vec<u8> {
    let entries: Vec<EntryRef<'_>> = batch
        .entries
        .iter()
        .map(|c| match c {
            Committed::Log(l) => EntryRef::L(l),
            Committed::Event(e) => EntryRef::E(e),
        })
        .collect();
    serde_json::to_vec(&entries).expect("committed entries serialize")
}

/// Decodes a published batch.
pub fn decode(bytes: &[u8]) -> Result<CommittedBatch, serde_json::Error> {
    let entries: Vec<Entry> = serde_json::from_slice(bytes)?;
    Ok(CommittedBatch {
        entries: entries
            .into_iter()
            .map(|e| match e {
                Entry::L(l) => Committed::Log(l),
                Entry::E(e) => Committed::Event(e),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use paasportal_core::{EventKind, LogLevel, NewLog};
    use uuid::Uuid;

    #[test]
    fn batches_round_trip() {
        let mut log = NewLog::now(Uuid::new_v4(), LogLevel::Warning, "Health check failed");
        log.data = serde_json::json!({"error_code": "HEALTH"});
        let batch = CommittedBatch {
            entries: vec![
                Committed::Log(LogRecord { seq: 7, log }),
                Committed::Event(StreamEvent {
                    seq: 8,
                    kind: EventKind::PermissionsChanged,
                    organization_id: Some(Uuid::new_v4()),
                    project_id: None,
                    deployment_id: None,
                    user_id: Some(Uuid::new_v4()),
                    data: serde_json::json!({"user_id": "x"}),
                }),
            ],
        };
        assert_eq!(decode(&encode(&batch)).unwrap(), batch);
    }
}
