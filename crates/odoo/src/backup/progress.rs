//! The restore's phases and the percent each reports in `migration_progress` events.

use serde_json::{Value, json};
use uuid::Uuid;

/// A phase of the migration restore, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RestorePhase {
    Downloading,
    Verifying,
    RestoringDatabase,
    RestoringFilestore,
    Sanitizing,
    Completed,
}

impl RestorePhase {
    /// The `step` of the event.
    pub fn as_str(self) -> &'static str {
        match self {
            RestorePhase::Downloading => "downloading",
            RestorePhase::Verifying => "verifying",
            RestorePhase::RestoringDatabase => "restoring_database",
            RestorePhase::RestoringFilestore => "restoring_filestore",
            RestorePhase::Sanitizing => "sanitizing",
            RestorePhase::Completed => "completed",
        }
    }

    /// The percent range the phase covers: the download dominates, then the dump.
    fn range(self) -> (u8, u8) {
        match self {
            RestorePhase::Downloading => (0, 50),
            RestorePhase::Verifying => (50, 55),
            RestorePhase::RestoringDatabase => (55, 85),
            RestorePhase::RestoringFilestore => (85, 95),
            RestorePhase::Sanitizing => (95, 99),
            RestorePhase::Completed => (100, 100),
        }
    }

    /// The overall percent with the phase `done` of `total` through (bytes, steps…).
    pub fn percent(self, done: u64, total: u64) -> u8 {
        let (lo, hi) = self.range();
        if total == 0 {
            return lo;
        }
        let frac = done.min(total) as f64 / total as f64;
        lo + ((hi - lo) as f64 * frac).floor() as u8
    }
}

/// The payload of a `migration_progress` event: the spec's `migration_id`, `step` and
/// `progress_percent`, plus the environment it is for.
pub fn event_data(
    migration_id: Uuid,
    environment_id: Uuid,
    phase: RestorePhase,
    percent: u8,
) -> Value {
    json!({
        "migration_id": migration_id,
        "environment_id": environment_id,
        "step": phase.as_str(),
        "progress_percent": percent,
    })
}

/// Throttles progress reports: yields a percent only when it moved since the last one.
#[derive(Debug, Default)]
pub struct ProgressGate {
    last: Option<u8>,
}

impl ProgressGate {
    /// `Some(percent)` when it differs from the last one let through.
    pub fn pass(&mut self, percent: u8) -> Option<u8> {
        if self.last == Some(percent) {
            None
        } else {
            self.last = Some(percent);
            Some(percent)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percents_rise_through_the_phases() {
        assert_eq!(RestorePhase::Downloading.percent(0, 100), 0);
        assert_eq!(RestorePhase::Downloading.percent(50, 100), 25);
        assert_eq!(RestorePhase::Downloading.percent(100, 100), 50);
        assert_eq!(RestorePhase::Downloading.percent(200, 100), 50);
        assert_eq!(RestorePhase::Verifying.percent(0, 0), 50);
        assert_eq!(RestorePhase::Sanitizing.percent(1, 1), 99);
        assert_eq!(RestorePhase::Completed.percent(0, 0), 100);
        let mut g = ProgressGate::default();
        assert_eq!(g.pass(1), Some(1));
        assert_eq!(g.pass(1), None);
        assert_eq!(g.pass(2), Some(2));
        let d = event_data(Uuid::nil(), Uuid::nil(), RestorePhase::Downloading, 10);
        assert_eq!(d["step"], "downloading");
        assert_eq!(d["progress_percent"], 10);
    }
}
