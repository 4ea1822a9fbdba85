//! `cloning_org_repos`: the organization's addon repositories; a failure is a warning.

use async_trait::async_trait;
use paasportal_core::RepoScope;
use paasportal_odoo::messages::CloneScope;

use super::repos::clone_scope;
use crate::context::StageContext;
use crate::stage::{StageError, StageHandler, StageOutcome};

/// Clones the organization's repositories in parallel.
#[derive(Debug, Clone, Copy, Default)]
pub struct CloningOrgRepos;

#[async_trait]
impl StageHandler for CloningOrgRepos {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        clone_scope(cx, RepoScope::Organization, CloneScope::Organization).await
    }
}
