//! What a `deployment_progress` event says besides the line (project and environment
//! names, branch, …), loaded once per deployment and kept in a bounded cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use paasportal_core::DeploymentContext;
use paasportal_store::{Store, StoreError};
use uuid::Uuid;

/// Deployments whose context is kept; past this the cache starts over.
const CAPACITY: usize = 20_000;

/// A cache of deployment contexts in front of the store.
#[derive(Default)]
pub struct Contexts {
    map: Mutex<HashMap<Uuid, Arc<DeploymentContext>>>,
}

impl Contexts {
    /// The context of `deployment`, from the cache or the store. `Ok(None)` when the
    /// deployment no longer exists (deleted since the line was written).
    pub async fn get(
        &self,
        store: &Store,
        deployment: Uuid,
    ) -> Result<Option<Arc<DeploymentContext>>, StoreError> {
        if let Some(c) = self.cached(deployment) {
            return Ok(Some(c));
        }
        match store.deployment_context(deployment).await {
            Ok(c) => {
                let c = Arc::new(c);
                let mut map = self.map.lock().expect("contexts lock");
                if map.len() >= CAPACITY {
                    map.clear();
                }
                map.insert(deployment, c.clone());
                Ok(Some(c))
            }
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The cached context of `deployment`, if any.
    pub fn cached(&self, deployment: Uuid) -> Option<Arc<DeploymentContext>> {
        self.map
            .lock()
            .expect("contexts lock")
            .get(&deployment)
            .cloned()
    }
}
