//! Stopping a running deployment from outside: a cancel token plus the reason it fired.

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Why a deployment is being stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// A user cancelled it.
    Cancelled { by: Option<Uuid> },
    /// Its lease expired and another worker failed it: this worker must let go silently.
    LeaseLost,
    /// The worker is shutting down.
    Shutdown,
}

/// The handle a worker keeps for each deployment it runs.
#[derive(Debug, Clone, Default)]
pub struct RunControl {
    token: CancellationToken,
    reason: Arc<Mutex<Option<StopReason>>>,
}

impl RunControl {
    /// A control for a run that has not been stopped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops the run; the first reason given is the one kept.
    pub fn stop(&self, reason: StopReason) {
        {
            let mut r = self.reason.lock().unwrap_or_else(|p| p.into_inner());
            if r.is_none() {
                *r = Some(reason);
            }
        }
        self.token.cancel();
    }

    /// Why the run was stopped, if it was.
    pub fn reason(&self) -> Option<StopReason> {
        self.reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The token every command of the run watches.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_reason_wins() {
        let c = RunControl::new();
        assert_eq!(c.reason(), None);
        c.stop(StopReason::Cancelled { by: None });
        c.stop(StopReason::Shutdown);
        assert_eq!(c.reason(), Some(StopReason::Cancelled { by: None }));
        assert!(c.token().is_cancelled());
    }
}
