//! A pipeline: which handler runs each stage of the catalogue, always in catalogue order.

use std::collections::BTreeMap;
use std::sync::Arc;

use paasportal_core::Stage;

use crate::stage::StageHandler;
use crate::stages::{
    CloningOrgRepos, CloningPlatformRepos, CloningRepo, Completed, ConfiguringDns,
    ConfiguringTraefik, Connecting, CreatingDatabase, CreatingNetwork, GeneratingConfig,
    HealthCheck, Initializing, InitializingDatabase, InstallingDependencies, PullingImage,
    StartingContainer, Unavailable, VerifyingDns,
};

/// Handlers by stage. Catalogue stages without a handler are recorded as skipped;
/// `completed` always runs (with the default [`Completed`] handler unless replaced).
#[derive(Clone)]
pub struct Pipeline {
    handlers: BTreeMap<Stage, Arc<dyn StageHandler>>,
}

impl Pipeline {
    /// A pipeline with no stage but `completed`.
    pub fn empty() -> Self {
        let mut handlers: BTreeMap<Stage, Arc<dyn StageHandler>> = BTreeMap::new();
        handlers.insert(Stage::Completed, Arc::new(Completed));
        Pipeline { handlers }
    }

    /// Every stage of the catalogue: the engine's own (`initializing`, `connecting`,
    /// `completed`), the infrastructure stages, and the repository, dependency,
    /// database-initialisation and DNS stages. A stage without an implementation would
    /// be [`Unavailable`]: it fails rather than pretends.
    pub fn standard() -> Self {
        let mut p = Pipeline::empty();
        for stage in Stage::working() {
            p = p.with(stage, Unavailable);
        }
        p.with(Stage::Initializing, Initializing)
            .with(Stage::Connecting, Connecting)
            .with(Stage::CreatingNetwork, CreatingNetwork)
            .with(Stage::ConfiguringDns, ConfiguringDns)
            .with(Stage::CreatingDatabase, CreatingDatabase)
            .with(Stage::CloningPlatformRepos, CloningPlatformRepos)
            .with(Stage::CloningOrgRepos, CloningOrgRepos)
            .with(Stage::CloningRepo, CloningRepo)
            .with(Stage::PullingImage, PullingImage)
            .with(Stage::GeneratingConfig, GeneratingConfig)
            .with(Stage::StartingContainer, StartingContainer)
            .with(Stage::InstallingDependencies, InstallingDependencies)
            .with(Stage::InitializingDatabase, InitializingDatabase)
            .with(Stage::VerifyingDns, VerifyingDns)
            .with(Stage::ConfiguringTraefik, ConfiguringTraefik)
            .with(Stage::HealthCheck, HealthCheck)
    }

    /// [`Pipeline::standard`] without the repository, dependency, database-initialisation
    /// and DNS stages: the infrastructure alone (an Odoo that initialises its database at
    /// start-up, no addons), as the infrastructure tests and benchmark run it.
    pub fn infrastructure() -> Self {
        Self::standard()
            .without(Stage::ConfiguringDns)
            .without(Stage::CloningPlatformRepos)
            .without(Stage::CloningOrgRepos)
            .without(Stage::CloningRepo)
            .without(Stage::InstallingDependencies)
            .without(Stage::InitializingDatabase)
            .without(Stage::VerifyingDns)
    }

    /// The same pipeline with `handler` running `stage` (replacing any other).
    pub fn with(mut self, stage: Stage, handler: impl StageHandler + 'static) -> Self {
        self.handlers.insert(stage, Arc::new(handler));
        self
    }

    /// The same pipeline without `stage` (it will be recorded as skipped). `completed` stays.
    pub fn without(mut self, stage: Stage) -> Self {
        if stage != Stage::Completed {
            self.handlers.remove(&stage);
        }
        self
    }

    /// The handler of `stage`, if the pipeline runs it.
    pub fn handler(&self, stage: Stage) -> Option<&Arc<dyn StageHandler>> {
        self.handlers.get(&stage)
    }

    /// Stages the pipeline runs, in catalogue order, `completed` last.
    pub fn stages(&self) -> impl Iterator<Item = (Stage, &Arc<dyn StageHandler>)> {
        self.handlers.iter().map(|(s, h)| (*s, h))
    }
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.handlers.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_run_in_catalogue_order_with_completed_last() {
        let p = Pipeline::empty()
            .with(Stage::HealthCheck, Unavailable)
            .with(Stage::Initializing, Initializing);
        let order: Vec<Stage> = p.stages().map(|(s, _)| s).collect();
        assert_eq!(
            order,
            [Stage::Initializing, Stage::HealthCheck, Stage::Completed]
        );
        let p = p.without(Stage::Completed).without(Stage::HealthCheck);
        assert_eq!(p.stages().count(), 2);
        assert_eq!(Pipeline::standard().stages().count(), 17);
    }
}
