//! Organizations, projects, environments and deployments for benchmarks, made through the store.

use paasportal_core::{AuthMethod, Deployment, Environment, Organization, Server, Trigger};
use paasportal_store::Store;
use paasportal_store::environments::NewEnvironment;
use paasportal_store::servers::{NewServer, ServerSecrets};
use paasportal_store::versions::NewOdooVersion;
use uuid::Uuid;

/// The Odoo version benchmark environments run.
pub const ODOO_VERSION: &str = "18.0";

/// An organization with one server, named after a random tag.
pub struct BenchOrganization {
    /// A short random tag, also the prefix of every name made for this run.
    pub tag: String,
    pub org: Organization,
    pub server: Server,
}

impl BenchOrganization {
    /// An environment of `project` on this organization's server, named `name`, on
    /// `branch`, with a subdomain unique to this run.
    pub async fn environment(
        &self,
        store: &Store,
        project_id: Uuid,
        name: &str,
        branch: &str,
    ) -> anyhow::Result<Environment> {
        Ok(store
            .create_environment(&NewEnvironment {
                project_id,
                server_id: self.server.id,
                name: name.into(),
                branch: branch.into(),
                subdomain: format!("{}-{project_id}-{name}", self.tag),
                apps_domain: "bench.example.com".into(),
                odoo_version: ODOO_VERSION.into(),
                cpu_cores: 2.0,
                ram_mb: 2048,
                disk_gb: 20,
                config_overrides: serde_json::json!({}),
                read_replica: false,
                migration_id: None,
            })
            .await?)
    }
}

/// Creates an organization with one server, and Odoo [`ODOO_VERSION`] when missing.
pub async fn organization(store: &Store) -> anyhow::Result<BenchOrganization> {
    let tag = format!("bench-{}", &Uuid::new_v4().simple().to_string()[..8]);
    let org = store.create_organization(&tag).await?;
    let server = store
        .create_server(&NewServer {
            organization_id: org.id,
            name: tag.clone(),
            ip: "127.0.0.1".into(),
            ssh_port: 22,
            ssh_user: "root".into(),
            auth_method: AuthMethod::Key,
            secrets: ServerSecrets::default(),
        })
        .await?;
    if store.get_odoo_version(ODOO_VERSION).await.is_err() {
        store
            .create_odoo_version(&NewOdooVersion {
                version: ODOO_VERSION.into(),
                image: format!("odoo:{ODOO_VERSION}"),
                registry_username: None,
                registry_password_enc: None,
            })
            .await?;
    }
    Ok(BenchOrganization { tag, org, server })
}

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
    Ok(running(store, projects, deployments).await?.deployments)
}

/// Like [`deployments`], returning the organization and project ids as well.
pub async fn running(
    store: &Store,
    projects: usize,
    deployments: usize,
) -> anyhow::Result<Fixture> {
    let base = organization(store).await?;
    let run = &base.tag;
    let mut project_ids = Vec::new();
    for p in 0..projects.max(1) {
        project_ids.push(
            store
                .create_project(base.org.id, &format!("{run}-p{p}"))
                .await?
                .id,
        );
    }
    let mut out = Vec::with_capacity(deployments);
    for d in 0..deployments {
        let env = base
            .environment(
                store,
                project_ids[d % project_ids.len()],
                &format!("env-{d}"),
                "main",
            )
            .await?;
        let dep = store.create_deployment(env.id, Trigger::Api, None).await?;
        store.start_deployment(dep.id).await?;
        out.push(dep);
    }
    Ok(Fixture {
        organization_id: base.org.id,
        project_ids,
        deployments: out,
    })
}
