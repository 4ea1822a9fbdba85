//! The role hierarchy and the permissions it grants.
//!
//! Portal admin → organization owner → organization admin → project admin →
//! project member / project viewer. Permissions are derived from memberships
//! each time they are needed, so a revoked membership takes effect at once.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use uuid::Uuid;

use crate::organization::OrgRole;
use crate::project::ProjectRole;
use crate::text_enum;

text_enum! {
    /// A permission checked by the API and the event stream.
    pub enum Permission: "permission" {
        /// See a project's deployments, their progress and logs.
        DeploymentsView = "project.deployments.view",
        /// List a project's deployments.
        DeploymentsList = "project.deployments.list",
        /// Start a deployment of one of the project's environments.
        EnvironmentsDeploy = "project.environments.deploy",
        /// Cancel a project's deployment.
        DeploymentsCancel = "project.deployments.cancel",
        /// Change the project: environments, repositories, members.
        ProjectManage = "project.manage",
        /// Change the organization: projects, servers, repositories, members.
        OrgManage = "org.manage",
        /// Change owners and delete the organization.
        OrgOwn = "org.own",
    }
}

/// Everything a user may do, derived from their memberships.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub user_id: Uuid,
    pub portal_admin: bool,
    pub org_roles: HashMap<Uuid, OrgRole>,
    pub project_roles: HashMap<Uuid, ProjectRole>,
}

impl Access {
    /// Whether the user holds `perm` on a project of organization `org_id`.
    pub fn can_in_project(&self, perm: Permission, org_id: Uuid, project_id: Uuid) -> bool {
        if self.portal_admin {
            return true;
        }
        match self.org_roles.get(&org_id) {
            Some(OrgRole::Owner) => return true,
            Some(OrgRole::Admin) => return perm != Permission::OrgOwn,
            _ => {}
        }
        let Some(role) = self.project_roles.get(&project_id) else {
            return false;
        };
        match perm {
            Permission::DeploymentsView | Permission::DeploymentsList => true,
            Permission::EnvironmentsDeploy
            | Permission::DeploymentsCancel
            | Permission::ProjectManage => *role == ProjectRole::Admin,
            Permission::OrgManage | Permission::OrgOwn => false,
        }
    }

    /// Whether the user may see that a project exists at all.
    pub fn sees_project(&self, org_id: Uuid, project_id: Uuid) -> bool {
        self.can_in_project(Permission::DeploymentsView, org_id, project_id)
    }

    /// Whether the user holds `perm` on the organization itself.
    pub fn can_in_org(&self, perm: Permission, org_id: Uuid) -> bool {
        if self.portal_admin {
            return true;
        }
        match self.org_roles.get(&org_id) {
            Some(OrgRole::Owner) => true,
            Some(OrgRole::Admin) => perm != Permission::OrgOwn,
            _ => false,
        }
    }

    /// Whether the user may see that an organization exists (any membership in it).
    pub fn sees_org(&self, org_id: Uuid, project_orgs: &HashMap<Uuid, Uuid>) -> bool {
        self.portal_admin
            || self.org_roles.contains_key(&org_id)
            || self
                .project_roles
                .keys()
                .any(|p| project_orgs.get(p) == Some(&org_id))
    }

    /// The events this user may receive on the stream.
    pub fn view_scope(&self) -> ViewScope {
        if self.portal_admin {
            return ViewScope::All;
        }
        let orgs: HashSet<Uuid> = self
            .org_roles
            .iter()
            .filter(|(_, r)| matches!(r, OrgRole::Owner | OrgRole::Admin))
            .map(|(o, _)| *o)
            .collect();
        let projects: HashSet<Uuid> = self.project_roles.keys().copied().collect();
        ViewScope::Some { orgs, projects }
    }
}

/// Which projects' deployment events a subscriber may receive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ViewScope {
    /// Portal admins see everything.
    All,
    /// Every project of `orgs`, plus the listed `projects`.
    Some {
        orgs: HashSet<Uuid>,
        projects: HashSet<Uuid>,
    },
}

impl ViewScope {
    /// Whether an event of `project_id` in `org_id` may be delivered.
    pub fn allows(&self, org_id: Uuid, project_id: Uuid) -> bool {
        match self {
            ViewScope::All => true,
            ViewScope::Some { orgs, projects } => {
                orgs.contains(&org_id) || projects.contains(&project_id)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> Access {
        Access {
            user_id: Uuid::new_v4(),
            ..Default::default()
        }
    }

    #[test]
    fn hierarchy_grants_what_the_spec_says() {
        let (org, other_org, p, q) = (
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
        );
        use Permission::*;
        let all = [
            DeploymentsView,
            DeploymentsList,
            EnvironmentsDeploy,
            DeploymentsCancel,
            ProjectManage,
        ];

        let mut admin = user();
        admin.portal_admin = true;
        assert!(all.iter().all(|x| admin.can_in_project(*x, other_org, q)));

        for role in [OrgRole::Owner, OrgRole::Admin] {
            let mut a = user();
            a.org_roles.insert(org, role);
            assert!(all.iter().all(|x| a.can_in_project(*x, org, q)));
            assert!(!a.can_in_project(DeploymentsView, other_org, q));
            assert_eq!(a.can_in_org(OrgOwn, org), role == OrgRole::Owner);
        }

        let mut org_member = user();
        org_member.org_roles.insert(org, OrgRole::Member);
        assert!(!org_member.can_in_project(DeploymentsView, org, p));

        let mut padmin = user();
        padmin.project_roles.insert(p, ProjectRole::Admin);
        assert!(all.iter().all(|x| padmin.can_in_project(*x, org, p)));
        assert!(!padmin.can_in_project(DeploymentsView, org, q));
        assert!(!padmin.can_in_org(OrgManage, org));

        for role in [ProjectRole::Member, ProjectRole::Viewer] {
            let mut m = user();
            m.project_roles.insert(p, role);
            assert!(m.can_in_project(DeploymentsView, org, p));
            assert!(m.can_in_project(DeploymentsList, org, p));
            assert!(!m.can_in_project(EnvironmentsDeploy, org, p));
            assert!(!m.can_in_project(DeploymentsCancel, org, p));
            assert!(!m.can_in_project(DeploymentsView, org, q));
        }

        assert!(!user().can_in_project(DeploymentsView, org, p));
    }

    #[test]
    fn scope_follows_memberships() {
        let (org, p, q, r) = (
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
        );
        let mut a = user();
        a.project_roles.insert(p, ProjectRole::Viewer);
        let s = a.view_scope();
        assert!(s.allows(org, p));
        assert!(!s.allows(org, q));
        a.org_roles.insert(org, OrgRole::Admin);
        assert!(a.view_scope().allows(org, q));
        assert!(!a.view_scope().allows(Uuid::new_v4(), r));
    }
}
