//! Every endpoint × every role, with the status each role must get, on both backends.
//!
//! Roles: portal admin, organization owner, organization admin, project admin, project
//! member, project viewer, outsider (signed in, no membership) and anonymous. Reads use
//! one shared organization; every change runs against a fresh organization with the same
//! memberships, so that cases do not depend on each other.

mod common;

use common::TestApp;
use paasportal_core::{AuthMethod, OrgRole, ProjectRole, RepoScope, Trigger, User};
use paasportal_store::environments::NewEnvironment;
use paasportal_store::repositories::NewRepository;
use paasportal_store::servers::{NewServer, ServerSecrets};
use paasportal_store::users::NewUser;
use paasportal_store::versions::NewOdooVersion;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

on_both_backends!(every_endpoint_for_every_role);

const ROLES: [&str; 8] = [
    "portal admin",
    "org owner",
    "org admin",
    "project admin",
    "member",
    "viewer",
    "outsider",
    "anonymous",
];

/// One organization with a project, a server, an environment, a deployment and
/// repositories of every scope.
#[derive(Clone)]
struct Scope {
    org: Uuid,
    project: Uuid,
    server: Uuid,
    env: Uuid,
    deployment: Uuid,
    org_repo: Uuid,
    project_repo: Uuid,
}

struct World {
    /// Users by role index (the anonymous slot holds an unused user).
    users: Vec<User>,
    tokens: Vec<Option<String>>,
    shared: Scope,
    platform_repo: Uuid,
    version: Uuid,
    n: std::sync::atomic::AtomicUsize,
}

impl World {
    fn tag(&self) -> usize {
        self.n.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

async fn new_user(app: &TestApp, tag: &str, admin: bool) -> User {
    app.store()
        .create_user(&NewUser {
            email: format!("{tag}-{}@example.com", Uuid::new_v4().simple()),
            name: tag.into(),
            password_hash: "x".into(),
            is_portal_admin: admin,
        })
        .await
        .unwrap()
}

async fn scope(app: &TestApp, users: &[User], tag: usize) -> Scope {
    let s = app.store();
    let org = s.create_organization(&format!("org {tag}")).await.unwrap();
    let project = s.create_project(org.id, "shop").await.unwrap();
    s.upsert_org_member(org.id, users[1].id, OrgRole::Owner)
        .await
        .unwrap();
    s.upsert_org_member(org.id, users[2].id, OrgRole::Admin)
        .await
        .unwrap();
    for (i, role) in [
        (3, ProjectRole::Admin),
        (4, ProjectRole::Member),
        (5, ProjectRole::Viewer),
    ] {
        s.upsert_project_member(project.id, users[i].id, role)
            .await
            .unwrap();
    }
    let server = s
        .create_server(&NewServer {
            organization_id: org.id,
            name: "vm".into(),
            ip: "10.0.0.1".into(),
            ssh_port: 22,
            ssh_user: "root".into(),
            auth_method: AuthMethod::Key,
            secrets: ServerSecrets::default(),
        })
        .await
        .unwrap();
    let env = s
        .create_environment(&NewEnvironment {
            project_id: project.id,
            server_id: server.id,
            name: "production".into(),
            branch: "main".into(),
            subdomain: format!("prod-{tag}"),
            apps_domain: "apps.example.com".into(),
            odoo_version: "18.0".into(),
            cpu_cores: 1.0,
            ram_mb: 1024,
            disk_gb: 10,
            config_overrides: json!({}),
            read_replica: false,
            migration_id: None,
        })
        .await
        .unwrap();
    let deployment = s
        .create_deployment(env.id, Trigger::Manual, Some(users[1].id))
        .await
        .unwrap();
    let repo = |scope, org: Option<Uuid>, project: Option<Uuid>, name: &str| NewRepository {
        scope,
        organization_id: org,
        project_id: project,
        name: name.into(),
        url: "https://git.example.com/a/b.git".into(),
        branch: "main".into(),
        token_enc: None,
        is_primary: false,
    };
    let org_repo = s
        .create_repository(&repo(RepoScope::Organization, Some(org.id), None, "shared"))
        .await
        .unwrap();
    let project_repo = s
        .create_repository(&repo(
            RepoScope::Project,
            Some(org.id),
            Some(project.id),
            "custom",
        ))
        .await
        .unwrap();
    Scope {
        org: org.id,
        project: project.id,
        server: server.id,
        env: env.id,
        deployment: deployment.id,
        org_repo: org_repo.id,
        project_repo: project_repo.id,
    }
}

async fn world(app: &TestApp) -> World {
    let mut users = Vec::new();
    for (i, r) in ROLES.iter().enumerate() {
        users.push(new_user(app, &r.replace(' ', "-"), i == 0).await);
    }
    let tokens = users
        .iter()
        .enumerate()
        .map(|(i, u)| (i < 7).then(|| app.token(u.id)))
        .collect();
    let version = app
        .store()
        .create_odoo_version(&NewOdooVersion {
            version: "18.0".into(),
            image: "odoo:18.0".into(),
            registry_username: None,
            registry_password_enc: None,
        })
        .await
        .unwrap();
    let shared = scope(app, &users, 0).await;
    let platform_repo = app
        .store()
        .create_repository(&NewRepository {
            scope: RepoScope::Platform,
            organization_id: None,
            project_id: None,
            name: "platform".into(),
            url: "https://git.example.com/p/q.git".into(),
            branch: "main".into(),
            token_enc: None,
            is_primary: false,
        })
        .await
        .unwrap();
    World {
        users,
        tokens,
        shared,
        platform_repo: platform_repo.id,
        version: version.id,
        n: std::sync::atomic::AtomicUsize::new(1),
    }
}

/// What a case needs: a fresh scope (for changes) or the shared one (for reads).
enum Target {
    Shared,
    Fresh,
}

/// Builds the request of a case from the scope it runs in.
type Build = fn(&World, &Scope, &Extras, usize, Uuid) -> (String, Option<Value>);

struct Case {
    method: Method,
    route: &'static str,
    target: Target,
    build: Build,
    expect: [u16; 8],
}

const A: u16 = 401;
const N: u16 = 404;
const F: u16 = 403;

fn case(
    method: Method,
    route: &'static str,
    target: Target,
    build: Build,
    expect: [u16; 8],
) -> Case {
    Case {
        method,
        route,
        target,
        build,
        expect,
    }
}

fn cases() -> Vec<Case> {
    use Method as M;
    use Target::{Fresh, Shared};
    let all_ok = [200, 200, 200, 200, 200, 200, 200, A];
    let members_ok = [200, 200, 200, 200, 200, 200, N, A];
    vec![
        // Authentication.
        case(
            M::GET,
            "/auth/me",
            Shared,
            |_, _, _, _, _| ("/api/v1/auth/me".into(), None),
            all_ok,
        ),
        // Users.
        case(
            M::GET,
            "/users",
            Shared,
            |_, _, _, _, _| ("/api/v1/users".into(), None),
            [200, F, F, F, F, F, F, A],
        ),
        case(
            M::POST,
            "/users",
            Shared,
            |_, _, _, t, _| {
                (
                    "/api/v1/users".into(),
                    Some(
                        json!({"email": format!("new{t}@example.com"), "password": "a-long-password", "name": "New"}),
                    ),
                )
            },
            [201, F, F, F, F, F, F, A],
        ),
        case(
            M::GET,
            "/users/{user_id}",
            Shared,
            |w, _, _, _, _| (format!("/api/v1/users/{}", w.users[6].id), None),
            [200, N, N, N, N, N, 200, A],
        ),
        case(
            M::GET,
            "/users/{user_id} (self)",
            Shared,
            |_, _, _, _, me| (format!("/api/v1/users/{me}"), None),
            all_ok,
        ),
        case(
            M::PATCH,
            "/users/{user_id}",
            Shared,
            |w, _, _, _, _| {
                (
                    format!("/api/v1/users/{}", w.users[6].id),
                    Some(json!({"name": "Renamed"})),
                )
            },
            [200, N, N, N, N, N, 200, A],
        ),
        case(
            M::DELETE,
            "/users/{user_id}",
            Fresh,
            |_, _, x, _, _| (format!("/api/v1/users/{}", x.user), None),
            [204, N, N, N, N, N, N, A],
        ),
        // Organizations.
        case(
            M::POST,
            "/organizations",
            Shared,
            |_, _, _, _, _| {
                (
                    "/api/v1/organizations".into(),
                    Some(json!({"name": "Acme"})),
                )
            },
            [201, F, F, F, F, F, F, A],
        ),
        case(
            M::GET,
            "/organizations",
            Shared,
            |_, _, _, _, _| ("/api/v1/organizations".into(), None),
            all_ok,
        ),
        case(
            M::GET,
            "/organizations/{organization_id}",
            Shared,
            |_, s, _, _, _| (format!("/api/v1/organizations/{}", s.org), None),
            members_ok,
        ),
        case(
            M::PATCH,
            "/organizations/{organization_id}",
            Fresh,
            |_, s, _, _, _| {
                (
                    format!("/api/v1/organizations/{}", s.org),
                    Some(json!({"name": "Renamed"})),
                )
            },
            [200, 200, 200, F, F, F, N, A],
        ),
        case(
            M::DELETE,
            "/organizations/{organization_id}",
            Fresh,
            |_, s, _, _, _| (format!("/api/v1/organizations/{}", s.org), None),
            [204, 204, F, F, F, F, N, A],
        ),
        case(
            M::GET,
            "/organizations/{organization_id}/members",
            Shared,
            |_, s, _, _, _| (format!("/api/v1/organizations/{}/members", s.org), None),
            [200, 200, 200, F, F, F, N, A],
        ),
        case(
            M::POST,
            "/organizations/{organization_id}/members",
            Fresh,
            |w, s, _, _, _| {
                (
                    format!("/api/v1/organizations/{}/members", s.org),
                    Some(json!({"user_id": w.users[6].id, "role": "member"})),
                )
            },
            [201, 201, 201, F, F, F, N, A],
        ),
        case(
            M::PATCH,
            "/organizations/{organization_id}/members/{user_id}",
            Fresh,
            |w, s, _, _, _| {
                (
                    format!("/api/v1/organizations/{}/members/{}", s.org, w.users[2].id),
                    Some(json!({"role": "member"})),
                )
            },
            [200, 200, 200, F, F, F, N, A],
        ),
        case(
            M::DELETE,
            "/organizations/{organization_id}/members/{user_id}",
            Fresh,
            |w, s, _, _, _| {
                (
                    format!("/api/v1/organizations/{}/members/{}", s.org, w.users[2].id),
                    None,
                )
            },
            [204, 204, 204, F, F, F, N, A],
        ),
        // Projects.
        case(
            M::POST,
            "/projects",
            Shared,
            |_, s, _, t, _| {
                (
                    "/api/v1/projects".into(),
                    Some(json!({"organization_id": s.org, "name": format!("p{t}")})),
                )
            },
            [201, 201, 201, F, F, F, N, A],
        ),
        case(
            M::GET,
            "/projects",
            Shared,
            |_, _, _, _, _| ("/api/v1/projects".into(), None),
            all_ok,
        ),
        case(
            M::GET,
            "/projects/{project_id}",
            Shared,
            |_, s, _, _, _| (format!("/api/v1/projects/{}", s.project), None),
            members_ok,
        ),
        case(
            M::PATCH,
            "/projects/{project_id}",
            Fresh,
            |_, s, _, _, _| {
                (
                    format!("/api/v1/projects/{}", s.project),
                    Some(json!({"name": "renamed"})),
                )
            },
            [200, 200, 200, 200, F, F, N, A],
        ),
        case(
            M::DELETE,
            "/projects/{project_id}",
            Fresh,
            |_, s, _, _, _| (format!("/api/v1/projects/{}", s.project), None),
            [204, 204, 204, F, F, F, N, A],
        ),
        case(
            M::GET,
            "/projects/{project_id}/members",
            Shared,
            |_, s, _, _, _| (format!("/api/v1/projects/{}/members", s.project), None),
            members_ok,
        ),
        case(
            M::POST,
            "/projects/{project_id}/members",
            Fresh,
            |w, s, _, _, _| {
                (
                    format!("/api/v1/projects/{}/members", s.project),
                    Some(json!({"user_id": w.users[6].id, "role": "viewer"})),
                )
            },
            [201, 201, 201, 201, F, F, N, A],
        ),
        case(
            M::PATCH,
            "/projects/{project_id}/members/{user_id}",
            Fresh,
            |w, s, _, _, _| {
                (
                    format!("/api/v1/projects/{}/members/{}", s.project, w.users[5].id),
                    Some(json!({"role": "member"})),
                )
            },
            [200, 200, 200, 200, F, F, N, A],
        ),
        case(
            M::DELETE,
            "/projects/{project_id}/members/{user_id}",
            Fresh,
            |w, s, _, _, _| {
                (
                    format!("/api/v1/projects/{}/members/{}", s.project, w.users[4].id),
                    None,
                )
            },
            [204, 204, 204, 204, F, F, N, A],
        ),
        // Servers.
        case(
            M::POST,
            "/servers",
            Shared,
            |_, s, _, _, _| {
                (
                    "/api/v1/servers".into(),
                    Some(json!({
            "organization_id": s.org, "name": "vm2", "ip": "10.0.0.2", "ssh_port": 22, "ssh_user": "root",
            "auth_method": "password", "ssh_password": "hunter2hunter2"})),
                )
            },
            [201, 201, 201, F, F, F, N, A],
        ),
        case(
            M::GET,
            "/servers",
            Shared,
            |_, _, _, _, _| ("/api/v1/servers".into(), None),
            all_ok,
        ),
        case(
            M::GET,
            "/servers/{server_id}",
            Shared,
            |_, s, _, _, _| (format!("/api/v1/servers/{}", s.server), None),
            [200, 200, 200, N, N, N, N, A],
        ),
        case(
            M::PATCH,
            "/servers/{server_id}",
            Fresh,
            |_, s, _, _, _| {
                (
                    format!("/api/v1/servers/{}", s.server),
                    Some(json!({"name": "renamed"})),
                )
            },
            [200, 200, 200, N, N, N, N, A],
        ),
        case(
            M::DELETE,
            "/servers/{server_id}",
            Fresh,
            |_, _, x, _, _| (format!("/api/v1/servers/{}", x.server), None),
            [204, 204, 204, N, N, N, N, A],
        ),
        // Odoo versions.
        case(
            M::POST,
            "/odoo-versions",
            Shared,
            |_, _, _, t, _| {
                (
                    "/api/v1/odoo-versions".into(),
                    Some(json!({"version": format!("{}.0", 100 + t), "image": "odoo:latest"})),
                )
            },
            [201, F, F, F, F, F, F, A],
        ),
        case(
            M::GET,
            "/odoo-versions",
            Shared,
            |_, _, _, _, _| ("/api/v1/odoo-versions".into(), None),
            all_ok,
        ),
        case(
            M::GET,
            "/odoo-versions/{version_id}",
            Shared,
            |w, _, _, _, _| (format!("/api/v1/odoo-versions/{}", w.version), None),
            all_ok,
        ),
        case(
            M::PATCH,
            "/odoo-versions/{version_id}",
            Shared,
            |w, _, _, _, _| {
                (
                    format!("/api/v1/odoo-versions/{}", w.version),
                    Some(json!({"image": "odoo:18.0"})),
                )
            },
            [200, F, F, F, F, F, F, A],
        ),
        case(
            M::DELETE,
            "/odoo-versions/{version_id}",
            Fresh,
            |_, _, x, _, _| (format!("/api/v1/odoo-versions/{}", x.version), None),
            [204, F, F, F, F, F, F, A],
        ),
        // Repositories.
        case(
            M::POST,
            "/repositories (platform)",
            Shared,
            |_, _, _, t, _| {
                (
                    "/api/v1/repositories".into(),
                    Some(json!({
            "scope": "platform", "url": "https://git.example.com/x/y.git", "branch": "main", "name": format!("plat{t}")})),
                )
            },
            [201, F, F, F, F, F, F, A],
        ),
        case(
            M::POST,
            "/repositories (organization)",
            Shared,
            |_, s, _, t, _| {
                (
                    "/api/v1/repositories".into(),
                    Some(json!({
            "scope": "organization", "organization_id": s.org, "url": "https://git.example.com/x/y.git",
            "branch": "main", "name": format!("org{t}"), "token": "ghp_secret"})),
                )
            },
            [201, 201, 201, F, F, F, N, A],
        ),
        case(
            M::POST,
            "/repositories (project)",
            Shared,
            |_, s, _, t, _| {
                (
                    "/api/v1/repositories".into(),
                    Some(json!({
            "scope": "project", "project_id": s.project, "url": "https://git.example.com/x/y.git",
            "branch": "main", "name": format!("proj{t}")})),
                )
            },
            [201, 201, 201, 201, F, F, N, A],
        ),
        case(
            M::GET,
            "/repositories",
            Shared,
            |_, _, _, _, _| ("/api/v1/repositories".into(), None),
            all_ok,
        ),
        case(
            M::GET,
            "/repositories/{repository_id} (platform)",
            Shared,
            |w, _, _, _, _| (format!("/api/v1/repositories/{}", w.platform_repo), None),
            all_ok,
        ),
        case(
            M::GET,
            "/repositories/{repository_id} (organization)",
            Shared,
            |_, s, _, _, _| (format!("/api/v1/repositories/{}", s.org_repo), None),
            members_ok,
        ),
        case(
            M::GET,
            "/repositories/{repository_id} (project)",
            Shared,
            |_, s, _, _, _| (format!("/api/v1/repositories/{}", s.project_repo), None),
            members_ok,
        ),
        case(
            M::PATCH,
            "/repositories/{repository_id} (platform)",
            Shared,
            |w, _, _, _, _| {
                (
                    format!("/api/v1/repositories/{}", w.platform_repo),
                    Some(json!({"branch": "main"})),
                )
            },
            [200, F, F, F, F, F, F, A],
        ),
        case(
            M::PATCH,
            "/repositories/{repository_id} (organization)",
            Fresh,
            |_, s, _, _, _| {
                (
                    format!("/api/v1/repositories/{}", s.org_repo),
                    Some(json!({"branch": "develop"})),
                )
            },
            [200, 200, 200, F, F, F, N, A],
        ),
        case(
            M::PATCH,
            "/repositories/{repository_id} (project)",
            Fresh,
            |_, s, _, _, _| {
                (
                    format!("/api/v1/repositories/{}", s.project_repo),
                    Some(json!({"token": "glpat-secret"})),
                )
            },
            [200, 200, 200, 200, F, F, N, A],
        ),
        case(
            M::DELETE,
            "/repositories/{repository_id}",
            Fresh,
            |_, s, _, _, _| (format!("/api/v1/repositories/{}", s.project_repo), None),
            [204, 204, 204, 204, F, F, N, A],
        ),
        // Environments.
        case(
            M::POST,
            "/environments",
            Shared,
            |_, s, _, t, _| {
                (
                    "/api/v1/environments".into(),
                    Some(json!({
            "project_id": s.project, "server_id": s.server, "name": format!("staging{t}"), "branch": "develop",
            "subdomain": format!("staging-{t}"), "odoo_version": "18.0", "cpu_cores": 1.0, "ram_mb": 1024,
            "disk_gb": 10, "config_overrides": {"performance": {"workers": 2}}})),
                )
            },
            [201, 201, 201, 201, F, F, N, A],
        ),
        case(
            M::GET,
            "/environments",
            Shared,
            |_, _, _, _, _| ("/api/v1/environments".into(), None),
            all_ok,
        ),
        case(
            M::GET,
            "/environments/{environment_id}",
            Shared,
            |_, s, _, _, _| (format!("/api/v1/environments/{}", s.env), None),
            members_ok,
        ),
        case(
            M::PATCH,
            "/environments/{environment_id}",
            Fresh,
            |_, s, _, _, _| {
                (
                    format!("/api/v1/environments/{}", s.env),
                    Some(json!({"ram_mb": 2048})),
                )
            },
            [200, 200, 200, 200, F, F, N, A],
        ),
        case(
            M::DELETE,
            "/environments/{environment_id}",
            Fresh,
            |_, _, x, _, _| (format!("/api/v1/environments/{}", x.idle_env), None),
            [204, 204, 204, 204, F, F, N, A],
        ),
        // Deployments (the spec's endpoints).
        case(
            M::POST,
            "/deployments",
            Fresh,
            |_, _, x, _, _| {
                (
                    "/api/v1/deployments".into(),
                    Some(json!({"environment_id": x.idle_env})),
                )
            },
            [202, 202, 202, 202, F, F, N, A],
        ),
        case(
            M::GET,
            "/deployments",
            Shared,
            |_, _, _, _, _| ("/api/v1/deployments".into(), None),
            all_ok,
        ),
        case(
            M::GET,
            "/deployments/{deployment_id}",
            Shared,
            |_, s, _, _, _| (format!("/api/v1/deployments/{}", s.deployment), None),
            members_ok,
        ),
        case(
            M::GET,
            "/deployments/{deployment_id}/logs",
            Shared,
            |_, s, _, _, _| (format!("/api/v1/deployments/{}/logs", s.deployment), None),
            members_ok,
        ),
        case(
            M::GET,
            "/deployments/{deployment_id}/logs/export",
            Shared,
            |_, s, _, _, _| {
                (
                    format!("/api/v1/deployments/{}/logs/export", s.deployment),
                    None,
                )
            },
            members_ok,
        ),
        case(
            M::GET,
            "/deployments/{deployment_id}/progress",
            Shared,
            |_, s, _, _, _| {
                (
                    format!("/api/v1/deployments/{}/progress", s.deployment),
                    None,
                )
            },
            members_ok,
        ),
        case(
            M::POST,
            "/deployments/{deployment_id}/cancel",
            Fresh,
            |_, s, _, _, _| (format!("/api/v1/deployments/{}/cancel", s.deployment), None),
            [200, 200, 200, 200, F, F, N, A],
        ),
        case(
            M::GET,
            "/deployments/environment/{environment_id}/latest",
            Shared,
            |_, s, _, _, _| {
                (
                    format!("/api/v1/deployments/environment/{}/latest", s.env),
                    None,
                )
            },
            members_ok,
        ),
        case(
            M::GET,
            "/deployments/project/{project_id}/stats",
            Shared,
            |_, s, _, _, _| {
                (
                    format!("/api/v1/deployments/project/{}/stats", s.project),
                    None,
                )
            },
            members_ok,
        ),
        case(
            M::GET,
            "/deployments/project/{project_id}/trends",
            Shared,
            |_, s, _, _, _| {
                (
                    format!("/api/v1/deployments/project/{}/trends", s.project),
                    None,
                )
            },
            members_ok,
        ),
        // Event streams (status only: a granted stream stays open).
        case(
            M::POST,
            "/events/ticket",
            Shared,
            |_, _, _, _, _| ("/api/v1/events/ticket".into(), None),
            all_ok,
        ),
        case(
            M::GET,
            "/events/stream",
            Shared,
            |_, _, _, _, _| ("/api/v1/events/stream".into(), None),
            all_ok,
        ),
        case(
            M::GET,
            "/deployments/{deployment_id}/logs/stream",
            Shared,
            |_, s, _, _, _| {
                (
                    format!("/api/v1/deployments/{}/logs/stream", s.deployment),
                    None,
                )
            },
            members_ok,
        ),
        // The admin password: none generated yet, so a permitted caller gets 409.
        case(
            M::POST,
            "/environments/{environment_id}/admin-password/reveal",
            Shared,
            |_, s, _, _, _| {
                (
                    format!("/api/v1/environments/{}/admin-password/reveal", s.env),
                    None,
                )
            },
            [409, 409, 409, 409, F, F, N, A],
        ),
    ]
}

/// Fresh resources a `Build` needs, created before the case runs (see `prepare`).
struct Extras {
    user: Uuid,
    server: Uuid,
    version: Uuid,
    idle_env: Uuid,
}

/// A user, an unused server, an unused version and an environment without deployments.
async fn prepare(app: &TestApp, s: &Scope, t: usize) -> Extras {
    let st = app.store();
    let user = new_user(app, "victim", false).await;
    let server = st
        .create_server(&NewServer {
            organization_id: s.org,
            name: "spare".into(),
            ip: "10.0.0.9".into(),
            ssh_port: 22,
            ssh_user: "root".into(),
            auth_method: AuthMethod::Key,
            secrets: ServerSecrets::default(),
        })
        .await
        .unwrap();
    let version = st
        .create_odoo_version(&NewOdooVersion {
            version: format!("{}.1", 1000 + t),
            image: "odoo:x".into(),
            registry_username: None,
            registry_password_enc: None,
        })
        .await
        .unwrap();
    let env = st
        .create_environment(&NewEnvironment {
            project_id: s.project,
            server_id: s.server,
            name: format!("idle{t}"),
            branch: "main".into(),
            subdomain: format!("idle-{t}"),
            apps_domain: "apps.example.com".into(),
            odoo_version: "18.0".into(),
            cpu_cores: 1.0,
            ram_mb: 1024,
            disk_gb: 10,
            config_overrides: json!({}),
            read_replica: false,
            migration_id: None,
        })
        .await
        .unwrap();
    Extras {
        user: user.id,
        server: server.id,
        version: version.id,
        idle_env: env.id,
    }
}

/// `GET path`'s status, and its body only when it is an error (a stream never ends).
async fn status_only(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = app.http.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    if status == 200 {
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "text/event-stream",
            "{path}"
        );
        return (status, Value::Null);
    }
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn every_endpoint_for_every_role(app: TestApp) {
    let w = world(&app).await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for c in cases() {
        for (role, expected) in c.expect.iter().enumerate() {
            let t = w.tag();
            let s = match c.target {
                Target::Shared => w.shared.clone(),
                Target::Fresh => scope(&app, &w.users, t).await,
            };
            let x = prepare(&app, &s, t).await;
            let (path, body) = (c.build)(&w, &s, &x, t, w.users[role].id);
            let (status, resp) = if c.route.ends_with("/stream") {
                status_only(&app, &path, w.tokens[role].as_deref()).await
            } else {
                app.send(c.method.clone(), &path, w.tokens[role].as_deref(), body)
                    .await
            };
            checked += 1;
            if status != *expected {
                failures.push(format!(
                    "{} {} as {}: expected {expected}, got {status} {resp}",
                    c.method, c.route, ROLES[role]
                ));
            }
            if status >= 400 {
                assert!(
                    resp.get("detail").is_some(),
                    "{} {} as {}: error without detail: {resp}",
                    c.method,
                    c.route,
                    ROLES[role]
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
