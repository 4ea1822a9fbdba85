//! The parts every deployment run shares: the store, the log writer, the master key,
//! the settings and the pipeline.

use std::sync::Arc;

use paasportal_core::SecretBox;
use paasportal_store::{LogWriter, Store};

use crate::config::EngineConfig;
use crate::pipeline::Pipeline;

/// What a worker needs to run deployments. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub store: Store,
    pub writer: LogWriter,
    /// Decrypts server credentials, repository tokens and registry passwords.
    pub secrets: SecretBox,
    pub config: Arc<EngineConfig>,
    pub pipeline: Arc<Pipeline>,
}

impl Engine {
    /// Bundles the engine's parts.
    pub fn new(
        store: Store,
        writer: LogWriter,
        secrets: SecretBox,
        config: EngineConfig,
        pipeline: Pipeline,
    ) -> Self {
        Engine {
            store,
            writer,
            secrets,
            config: Arc::new(config),
            pipeline: Arc::new(pipeline),
        }
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("backend", &self.store.backend())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
