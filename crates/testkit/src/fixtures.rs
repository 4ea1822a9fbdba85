//! A ready-made organization, project, server, environment and deployment.

use paasportal_core::{
    AuthMethod, Deployment, Environment, Organization, Project, Server, Trigger, User,
};
use paasportal_store::Store;
use paasportal_store::environments::NewEnvironment;
use paasportal_store::servers::{NewServer, ServerSecrets};
use paasportal_store::users::NewUser;
use paasportal_store::versions::NewOdooVersion;

/// Everything a deployment needs, created through the store.
pub struct Seeded {
    pub user: User,
    pub org: Organization,
    pub project: Project,
    pub server: Server,
    pub environment: Environment,
    pub deployment: Deployment,
}

/// Creates a user, an organization, a project, a server, Odoo 18.0, an environment
/// and one pending deployment. `tag` keeps names unique when called several times.
pub async fn seed(store: &Store, tag: &str) -> Seeded {
    let user = store
        .create_user(&NewUser {
            email: format!("owner-{tag}@example.com"),
            name: format!("Owner {tag}"),
            password_hash: "not-a-real-hash".into(),
            is_portal_admin: false,
        })
        .await
        .expect("create user");
    let org = store
        .create_organization(&format!("Org {tag}"))
        .await
        .expect("create org");
    let project = store
        .create_project(org.id, &format!("Project {tag}"))
        .await
        .expect("create project");
    let server = store
        .create_server(&NewServer {
            organization_id: org.id,
            name: format!("server-{tag}"),
            ip: "127.0.0.1".into(),
            ssh_port: 22,
            ssh_user: "root".into(),
            auth_method: AuthMethod::Key,
            secrets: ServerSecrets::default(),
        })
        .await
        .expect("create server");
    if store.get_odoo_version("18.0").await.is_err() {
        store
            .create_odoo_version(&NewOdooVersion {
                version: "18.0".into(),
                image: "odoo:18.0".into(),
                registry_username: None,
                registry_password_enc: None,
            })
            .await
            .expect("create odoo version");
    }
    let environment = store
        .create_environment(&NewEnvironment {
            project_id: project.id,
            server_id: server.id,
            name: "production".into(),
            branch: "main".into(),
            subdomain: format!("prod-{tag}"),
            apps_domain: "apps.example.com".into(),
            odoo_version: "18.0".into(),
            cpu_cores: 2.0,
            ram_mb: 2048,
            disk_gb: 20,
            config_overrides: serde_json::json!({}),
            read_replica: false,
            migration_id: None,
        })
        .await
        .expect("create environment");
    let deployment = store
        .create_deployment(environment.id, Trigger::Manual, Some(user.id))
        .await
        .expect("create deployment");
    Seeded {
        user,
        org,
        project,
        server,
        environment,
        deployment,
    }
}
