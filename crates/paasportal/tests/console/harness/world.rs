//! What the console shows, made through the REST API as an admin would: an
//! organization, a project, a server, an Odoo version, an environment; users and their
//! project roles.

use std::net::TcpListener;

use paasportal_testkit::require_env;
use serde_json::{Value, json};

use super::api::Api;

/// The ids of one organization's set-up.
#[derive(Debug, Clone)]
pub struct World {
    pub org: String,
    pub project: String,
    pub server: String,
    pub environment: String,
}

/// Where the environment's server is.
pub enum Target {
    /// The local test sshd (`PAASPORTAL_TEST_SSH_*`), key authentication.
    Sshd,
    /// A port that accepts connections and never answers: `connecting` hangs until
    /// cancelled (or `PAASPORTAL_SSH_CONNECT_TIMEOUT_SECS`).
    Tarpit,
    /// A closed port: `connecting` fails at once.
    Closed,
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

/// Accepts connections and never answers (the listener lives as long as the process).
fn tarpit() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    port
}

/// A port nothing listens on.
fn closed() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Registers Odoo `version` with `image` unless it exists.
pub async fn odoo_version(api: &Api, version: &str, image: &str) {
    let (st, b) = api
        .post(
            "/odoo-versions",
            json!({"version": version, "image": image}),
        )
        .await;
    assert!(
        st == 201 || st == 200 || st == 409,
        "odoo version: {st} {b}"
    );
}

/// An organization named `name` with one project, a server at `target` and an
/// environment `production` on Odoo 18.0 (registered with `image`).
pub async fn world(api: &Api, name: &str, target: Target, image: &str) -> World {
    odoo_version(api, "18.0", image).await;
    let org = id(&api.post_ok("/organizations", json!({"name": name})).await);
    let project = id(&api
        .post_ok(
            "/projects",
            json!({"organization_id": org, "name": format!("{name} shop")}),
        )
        .await);
    let server = match target {
        Target::Sshd => {
            let key = std::fs::read_to_string(require_env("PAASPORTAL_TEST_SSH_KEY")).unwrap();
            json!({"organization_id": org, "name": "test-sshd",
                   "ip": require_env("PAASPORTAL_TEST_SSH_HOST"),
                   "ssh_port": require_env("PAASPORTAL_TEST_SSH_PORT").parse::<u16>().unwrap(),
                   "ssh_user": require_env("PAASPORTAL_TEST_SSH_USER"),
                   "auth_method": "key", "ssh_private_key": key})
        }
        Target::Tarpit | Target::Closed => {
            let port = if matches!(target, Target::Tarpit) {
                tarpit()
            } else {
                closed()
            };
            json!({"organization_id": org, "name": "unreachable", "ip": "127.0.0.1",
                   "ssh_port": port, "ssh_user": "deploy", "auth_method": "password",
                   "ssh_password": "never-used-password"})
        }
    };
    let server = id(&api.post_ok("/servers", server).await);
    let subdomain = format!("{}-prod", name.to_lowercase().replace(' ', "-"));
    let environment = id(&api
        .post_ok(
            "/environments",
            json!({"project_id": project, "server_id": server, "name": "production",
                   "branch": "main", "subdomain": subdomain, "odoo_version": "18.0",
                   "cpu_cores": 1.0, "ram_mb": 1024, "disk_gb": 10, "config_overrides": {}}),
        )
        .await);
    World {
        org,
        project,
        server,
        environment,
    }
}

/// Queues a deployment of `environment`; returns its id.
pub async fn deploy(api: &Api, environment: &str) -> String {
    id(&api
        .post_ok("/deployments", json!({"environment_id": environment}))
        .await)
}

/// A user (not a portal admin) with `role` on `project`; returns their API client.
pub async fn member(admin: &Api, base: &str, email: &str, project: &str, role: &str) -> Api {
    let password = "member-password-1";
    let user = admin
        .post_ok(
            "/users",
            json!({"email": email, "password": password, "name": email}),
        )
        .await;
    admin
        .post_ok(
            &format!("/projects/{project}/members"),
            json!({"user_id": user["id"], "role": role}),
        )
        .await;
    Api::login(base, email, password).await
}

/// The deployment's status (`GET /deployments/{id}`).
pub async fn status(api: &Api, deployment: &str) -> String {
    api.get_ok(&format!("/deployments/{deployment}")).await["status"]
        .as_str()
        .unwrap()
        .to_owned()
}
