//! The application state every handler receives through axum's `State`.

use std::sync::Arc;
use std::time::Duration;

use paasportal_store::{LogWriter, Store};

/// Settings the HTTP layer needs, loaded once at start-up.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest accepted request body.
    pub body_limit_bytes: usize,
    /// Silence after which the event stream sends `: keepalive`.
    pub sse_keepalive: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            body_limit_bytes: 1024 * 1024,
            sse_keepalive: Duration::from_secs(30),
        }
    }
}

/// Shared state: the store, the log writer and the configuration.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub writer: LogWriter,
    pub config: Arc<ServerConfig>,
}
