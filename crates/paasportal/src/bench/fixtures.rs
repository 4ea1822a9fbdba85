//! Organizations, projects, environments and deployments for benchmarks, made through the store.

use paasportal_core::{AuthMethod, Deployment, Trigger};
use paasportal_store::Store;
use paasportal_store::environments::NewEnvironment;
use paasportal_store::servers::{NewServer, ServerSecrets};
use paasportal_store::versions::NewOdooVersion;
use uuid::Uuid;

/// An organization made for a benchmark: its projects and running deployments.
pub struct Fixture {
    pub organization_id: Uuid,
    pub project_ids: Vec<Uuid>,
    /// Deployment `d` belongs to project `d % project_ids.len()`.
    pub deployments: Vec<Deployment>,
}

/// Creates one organization with `projects` projects and `deployments` running
/// deployments spread round-robin over them.
pub async fn deployments(
    store: &Store,
    projects: usize,
    deployments: usize,
) -> anyhow::Result<Vec<Deployment>> {
    Ok(organization(store, projects, deployments)
        .await?
        .deployments)
}

/// Like [`deployments`], returning the organization and project ids as well.
pub async fn organization(
    store: &Store,
    projects: usize,
    deployments: usize,
) -> anyhow::Result<Fixture> {
    let run = Uuid::new_v4().simple().to_string()[..8].to_owned();
    let org = store.create_organization(&format!("bench-{run}")).await?;
    let server = store
        .create_server(&NewServer {
            organization_id: org.id,
            name: format!("bench-{run}"),
            ip: "127.0.0.1".into(),
            ssh_port: 22,
            ssh_user: "root".into(),
            auth_method: AuthMethod::Key,
            secrets: ServerSecrets::default(),
        })
        .await?;
    if store.get_odoo_version("18.0").await.is_err() {
        store
            .create_odoo_version(&NewOdooVersion {
                version: "18.0".into(),
                image: "odoo:18.0".into(),
                registry_username: None,
                registry_password_enc: None,
            })
            .await?;
    }
    let mut project_ids = Vec::new();
    for p in 0..projects.max(1) {
        project_ids.push(
            store
                .create_project(org.id, &format!("bench-{run}-p{p}"))
                .await?
                .id,
        );
    }
    let mut out = Vec::with_capacity(deployments);
    for d in 0..deployments {
        let env = store
            .create_environment(&NewEnvironment {
                project_id: project_ids[d % project_ids.len()],
                server_id: server.id,
                name: format!("env-{d}"),
                branch: "main".into(),
                subdomain: format!("bench-{run}-{d}"),
                apps_domain: "bench.example.com".into(),
                odoo_version: "18.0".into(),
                cpu_cores: 2.0,
                ram_mb: 2048,
                disk_gb: 20,
                config_overrides: serde_json::json!({}),
                read_replica: false,
                migration_id: None,
            })
            .await?;
        let dep = store.create_deployment(env.id, Trigger::Api, None).await?;
        store.start_deployment(dep.id).await?;
        out.push(dep);
    }
    Ok(Fixture {
        organization_id: org.id,
        project_ids,
        deployments: out,
    })
}
