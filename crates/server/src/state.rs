//! The application state every handler receives through axum's `State`.

use std::sync::Arc;
use std::time::Duration;

use paasportal_bus::{Bus, HubConfig};
use paasportal_core::SecretBox;
use paasportal_store::{LogWriter, Store};

use crate::auth::{AuthKeys, LoginThrottle};

/// Settings the HTTP layer needs, loaded once at start-up.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest accepted request body.
    pub body_limit_bytes: usize,
    /// Silence after which the event stream sends `: keepalive`.
    pub sse_keepalive: Duration,
    /// Domain under which environments get their `{subdomain}.{apps_domain}` host name.
    pub apps_domain: String,
    /// Proxies whose `X-Forwarded-For` names the client (for login throttling).
    pub trusted_proxies: Vec<crate::client_addr::IpRange>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            body_limit_bytes: 1024 * 1024,
            sse_keepalive: Duration::from_secs(30),
            apps_domain: "apps.localhost".into(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Shared state: the store, the log writer, the configuration and the keys.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub writer: LogWriter,
    pub config: Arc<ServerConfig>,
    /// The JWT signing key and token lifetimes.
    pub auth: Arc<AuthKeys>,
    /// Encrypts credentials at rest with the master key.
    pub secrets: SecretBox,
    /// Failed-login bookkeeping.
    pub throttle: Arc<LoginThrottle>,
    /// The event bus the streams subscribe to.
    pub bus: Arc<Bus>,
}

impl AppState {
    /// State with a default login throttle and an event bus that follows the store alone
    /// (polling its sequence); [`AppState::with_bus`] sets the bus the writer feeds.
    /// Must be called within a Tokio runtime.
    pub fn new(
        store: Store,
        writer: LogWriter,
        config: ServerConfig,
        auth: AuthKeys,
        secrets: SecretBox,
    ) -> AppState {
        let bus = Bus::start(store.clone(), None, HubConfig::default())
            .expect("a bus without Redis always starts");
        AppState {
            store,
            writer,
            config: Arc::new(config),
            auth: Arc::new(auth),
            secrets,
            throttle: Arc::new(LoginThrottle::default()),
            bus: Arc::new(bus),
        }
    }

    /// The same state with `bus` (the one the writer's sink feeds).
    pub fn with_bus(mut self, bus: Arc<Bus>) -> AppState {
        self.bus = bus;
        self
    }
}
