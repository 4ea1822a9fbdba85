//! Resolving a resource and checking the caller's permission on it in one step.
//!
//! The rule: a caller who cannot see a resource gets 404, exactly as if it did not
//! exist; a caller who can see it but may not perform the action gets 403.

use paasportal_core::{
    Access, Deployment, Environment, Organization, Permission, Project, RepoScope, Repository,
    Server,
};
use paasportal_store::StoreError;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A 403 naming the permission that was missing.
pub fn forbidden(perm: Permission) -> ApiError {
    ApiError::Forbidden(format!("Permission denied: {perm} required"))
}

/// 403 unless the caller is a portal admin.
pub fn require_portal_admin(access: &Access) -> ApiResult<()> {
    if access.portal_admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Permission denied: portal.admin required".into(),
        ))
    }
}

fn missing(what: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => ApiError::not_found(what),
        e => e.into(),
    }
}

/// The project, if the caller may see it and holds `perm` on it.
pub async fn project(
    state: &AppState,
    access: &Access,
    id: Uuid,
    perm: Permission,
) -> ApiResult<Project> {
    let p = state
        .store
        .get_project(id)
        .await
        .map_err(missing("Project"))?;
    check_project(access, &p, perm, "Project")?;
    Ok(p)
}

fn check_project(
    access: &Access,
    p: &Project,
    perm: Permission,
    what: &'static str,
) -> ApiResult<()> {
    if !access.sees_project(p.organization_id, p.id) {
        return Err(ApiError::not_found(what));
    }
    if !access.can_in_project(perm, p.organization_id, p.id) {
        return Err(forbidden(perm));
    }
    Ok(())
}

/// The deployment and its project, if the caller may see it and holds `perm` on it.
pub async fn deployment(
    state: &AppState,
    access: &Access,
    id: Uuid,
    perm: Permission,
) -> ApiResult<(Deployment, Project)> {
    let d = state
        .store
        .get_deployment(id)
        .await
        .map_err(missing("Deployment"))?;
    let p = state
        .store
        .get_project(d.project_id)
        .await
        .map_err(missing("Deployment"))?;
    check_project(access, &p, perm, "Deployment")?;
    Ok((d, p))
}

/// The environment and its project, if the caller may see it and holds `perm` on it.
pub async fn environment(
    state: &AppState,
    access: &Access,
    id: Uuid,
    perm: Permission,
) -> ApiResult<(Environment, Project)> {
    let e = state
        .store
        .get_environment(id)
        .await
        .map_err(missing("Environment"))?;
    let p = state
        .store
        .get_project(e.project_id)
        .await
        .map_err(missing("Environment"))?;
    check_project(access, &p, perm, "Environment")?;
    Ok((e, p))
}

/// Whether the caller may see that an organization exists: any membership in it, or in one of its projects.
pub async fn sees_org(state: &AppState, access: &Access, org_id: Uuid) -> ApiResult<bool> {
    if access.portal_admin || access.org_roles.contains_key(&org_id) {
        return Ok(true);
    }
    if access.project_roles.is_empty() {
        return Ok(false);
    }
    Ok(state
        .store
        .user_has_project_in_org(access.user_id, org_id)
        .await?)
}

/// The organization, if the caller may see it and holds `perm` on it.
pub async fn organization(
    state: &AppState,
    access: &Access,
    id: Uuid,
    perm: Option<Permission>,
) -> ApiResult<Organization> {
    let o = state
        .store
        .get_organization(id)
        .await
        .map_err(missing("Organization"))?;
    if !sees_org(state, access, id).await? {
        return Err(ApiError::not_found("Organization"));
    }
    if let Some(perm) = perm
        && !access.can_in_org(perm, id)
    {
        return Err(forbidden(perm));
    }
    Ok(o)
}

/// The server, if the caller may manage its organization; everyone else gets 404
/// (servers are only shown to those who administer them).
pub async fn server(state: &AppState, access: &Access, id: Uuid) -> ApiResult<Server> {
    let s = state
        .store
        .get_server(id)
        .await
        .map_err(missing("Server"))?;
    if !access.can_in_org(Permission::OrgManage, s.organization_id) {
        return Err(ApiError::not_found("Server"));
    }
    Ok(s)
}

/// The repository, if the caller may see it (platform repositories: everyone;
/// organization ones: anyone who sees the organization; project ones: anyone who sees
/// the project); with `manage`, 403 unless the caller may also change it.
pub async fn repository(
    state: &AppState,
    access: &Access,
    id: Uuid,
    manage: bool,
) -> ApiResult<Repository> {
    let r = state
        .store
        .get_repository(id)
        .await
        .map_err(missing("Repository"))?;
    let (sees, may) = match (r.scope, r.organization_id, r.project_id) {
        (RepoScope::Platform, _, _) => (true, access.portal_admin),
        (RepoScope::Organization, Some(org), _) => (
            sees_org(state, access, org).await?,
            access.can_in_org(Permission::OrgManage, org),
        ),
        (RepoScope::Project, _, Some(pid)) => {
            let p = state
                .store
                .get_project(pid)
                .await
                .map_err(missing("Repository"))?;
            (
                access.sees_project(p.organization_id, p.id),
                access.can_in_project(Permission::ProjectManage, p.organization_id, p.id),
            )
        }
        _ => (access.portal_admin, access.portal_admin),
    };
    if !sees {
        return Err(ApiError::not_found("Repository"));
    }
    if manage && !may {
        return Err(ApiError::Forbidden(
            "Permission denied: you may not change this repository".into(),
        ));
    }
    Ok(r)
}

/// `None` for a portal admin (no restriction), else the caller's id to filter lists by.
pub fn list_filter(access: &Access) -> Option<Uuid> {
    (!access.portal_admin).then_some(access.user_id)
}
