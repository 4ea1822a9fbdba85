//! `paasportal register-testbed FILE`: registers the machine `scripts/testbed up`
//! describes (the JSON object it prints last) in paasportal's database — an
//! organization and a project named "Testbed", the server with its SSH key sealed by the
//! master key, the Odoo versions and their images, and one environment — and prints
//! the ids, so that `paasportal deploy ENVIRONMENT_ID -f` can deploy to it.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use paasportal_core::AuthMethod;
use paasportal_store::environments::NewEnvironment;
use paasportal_store::servers::{NewServer, ServerSecrets};
use paasportal_store::versions::NewOdooVersion;
use paasportal_store::{ConnectOptions, StoreError};
use serde::Deserialize;

use crate::config::CommonArgs;
use crate::{startup, worker};

/// Flags of `register-testbed`.
#[derive(Debug, Clone, Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The file holding the JSON line `scripts/testbed up` printed last.
    pub file: PathBuf,
    /// Subdomain of the environment created.
    #[arg(long, default_value = "demo")]
    pub subdomain: String,
    /// Apps domain of the environment created (its host is `{subdomain}.{apps_domain}`).
    #[arg(long, default_value = "testbed.localhost")]
    pub apps_domain: String,
    /// CPU cores of the environment.
    #[arg(long, default_value_t = 1.0)]
    pub cpu_cores: f64,
    /// Memory of the environment, in MB.
    #[arg(long, default_value_t = 1024)]
    pub ram_mb: i64,
}

#[derive(Debug, Deserialize)]
struct Testbed {
    name: String,
    ssh_host: String,
    ssh_port: u16,
    ssh_user: String,
    ssh_private_key_path: PathBuf,
    odoo_version: String,
    odoo_versions: Vec<TestbedVersion>,
}

#[derive(Debug, Deserialize)]
struct TestbedVersion {
    version: String,
    image: String,
}

/// Registers the testbed and prints the created ids as one JSON line.
pub async fn run(args: RegisterArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let tb: Testbed = serde_json::from_str(text.trim()).with_context(|| {
        format!(
            "{} is not the JSON line of `scripts/testbed up`",
            args.file.display()
        )
    })?;
    let key = std::fs::read_to_string(&tb.ssh_private_key_path).with_context(|| {
        format!(
            "cannot read the SSH key {}",
            tb.ssh_private_key_path.display()
        )
    })?;
    let secrets = worker::secret_box(&args.common)?;
    let store =
        startup::open_store(&args.common.database_url(), &ConnectOptions::default()).await?;
    for v in &tb.odoo_versions {
        match store.get_odoo_version(&v.version).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                store
                    .create_odoo_version(&NewOdooVersion {
                        version: v.version.clone(),
                        image: v.image.clone(),
                        registry_username: None,
                        registry_password_enc: None,
                    })
                    .await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let org = store.create_organization("Testbed").await?;
    let project = store.create_project(org.id, "Testbed").await?;
    let server = store
        .create_server(&NewServer {
            organization_id: org.id,
            name: tb.name.clone(),
            ip: tb.ssh_host.clone(),
            ssh_port: tb.ssh_port,
            ssh_user: tb.ssh_user.clone(),
            auth_method: AuthMethod::Key,
            secrets: ServerSecrets {
                ssh_private_key_enc: Some(secrets.seal(&key)),
                ..Default::default()
            },
        })
        .await?;
    let environment = store
        .create_environment(&NewEnvironment {
            project_id: project.id,
            server_id: server.id,
            name: args.subdomain.clone(),
            branch: "main".into(),
            subdomain: args.subdomain.clone(),
            apps_domain: args.apps_domain.clone(),
            odoo_version: tb.odoo_version.clone(),
            cpu_cores: args.cpu_cores,
            ram_mb: args.ram_mb,
            disk_gb: 10,
            config_overrides: serde_json::json!({}),
            read_replica: false,
            migration_id: None,
        })
        .await?;
    println!(
        "{}",
        serde_json::json!({
            "organization_id": org.id,
            "project_id": project.id,
            "server_id": server.id,
            "environment_id": environment.id,
            "hostname": environment.hostname(),
        })
    );
    store.close().await;
    Ok(())
}
