//! `cloning_platform_repos`: the portal's platform addon repositories, shared by every
//! project; a failure is a warning.

use async_trait::async_trait;
use paasportal_core::RepoScope;
use paasportal_odoo::messages::CloneScope;

use super::repos::clone_scope;
use crate::context::StageContext;
use crate::stage::{StageError, StageHandler, StageOutcome};

/// Clones the platform repositories in parallel.
#[derive(Debug, Clone, Copy, Default)]
pub struct CloningPlatformRepos;

#[async_trait]
impl StageHandler for CloningPlatformRepos {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        clone_scope(cx, RepoScope::Platform, CloneScope::Platform).await
    }
}
