//! A deployment of an environment in the testbed's apps domain, on the test sshd,
//! with addon repositories from the testbed's git server, a DNS provider on the fake
//! Cloudflare, and a base directory the SSH user can write.

use std::path::{Path, PathBuf};
use std::time::Duration;

use paasportal_core::{Deployment, Environment, RepoScope, Repository, Trigger};
use paasportal_engine::EngineConfig;
use paasportal_engine::config::{DeploySettings, DnsVerifySettings};
use paasportal_odoo::naming::BaseDir;
use paasportal_store::deploy_inputs::DnsProvider;
use paasportal_store::environments::NewEnvironment;
use paasportal_store::repositories::NewRepository;
use paasportal_testkit::require_env;

use super::harness::{Harness, Seeded, TestAuth, fast_config};

/// The seeded world plus the environment the tests deploy.
pub struct World {
    pub seeded: Seeded,
    pub organization_id: uuid::Uuid,
    pub environment: Environment,
    pub deployment: Deployment,
    /// The base directory on the "server" (this machine), removed on drop.
    pub base: TempBase,
}

/// A world-writable temporary base directory (the SSH user is another Unix user).
pub struct TempBase(tempfile::TempDir);

impl TempBase {
    fn new() -> Self {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::Builder::new().prefix("ppbase").tempdir().unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        TempBase(d)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// `PAASPORTAL_TEST_GIT_URL/{name}.git`.
pub fn git_url(name: &str) -> String {
    format!("{}/{name}.git", require_env("PAASPORTAL_TEST_GIT_URL"))
}

/// Settings for the tests: fast worker, the temporary base directory, the test DNS server.
pub fn config(base: &TempBase, dns_max_wait: Duration) -> EngineConfig {
    EngineConfig {
        deploy: DeploySettings {
            base_dir: BaseDir::new(base.path().to_str().unwrap()).unwrap(),
            ..DeploySettings::default()
        },
        dns_verify: DnsVerifySettings {
            resolvers: vec![require_env("PAASPORTAL_TEST_DNS_SERVER").parse().unwrap()],
            interval: Duration::from_millis(250),
            max_wait: dns_max_wait,
        },
        ..fast_config()
    }
}

/// Seeds the harness's world, cancels its default deployment, and queues a deployment
/// of a new environment `{tag}-{random}.{apps domain}` on branch `branch`.
pub async fn world(
    h: &Harness,
    tag: &str,
    branch: &str,
    migration_id: Option<uuid::Uuid>,
) -> World {
    let seeded = h.seed(tag, TestAuth::Key).await;
    let store = &h.t.store;
    store
        .cancel_deployment(seeded.deployment.id, seeded.user.id)
        .await
        .unwrap();
    let organization_id = store
        .get_project(seeded.project.id)
        .await
        .unwrap()
        .organization_id;
    let sub = format!("{tag}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let environment = store
        .create_environment(&NewEnvironment {
            project_id: seeded.project.id,
            server_id: seeded.server.id,
            name: "staging".into(),
            branch: branch.into(),
            subdomain: sub,
            apps_domain: require_env("PAASPORTAL_TEST_APPS_DOMAIN"),
            odoo_version: "18.0".into(),
            cpu_cores: 2.0,
            ram_mb: 2048,
            disk_gb: 20,
            config_overrides: serde_json::json!({}),
            read_replica: false,
            migration_id,
        })
        .await
        .unwrap();
    let deployment = store
        .create_deployment(environment.id, Trigger::Manual, Some(seeded.user.id))
        .await
        .unwrap();
    World {
        seeded,
        organization_id,
        environment,
        deployment,
        base: TempBase::new(),
    }
}

impl World {
    /// Adds a testbed repository of `scope` (token sealed when given).
    pub async fn repo(
        &self,
        h: &Harness,
        scope: RepoScope,
        name: &str,
        primary: bool,
        token: Option<&str>,
    ) -> Repository {
        let (organization_id, project_id) = match scope {
            RepoScope::Platform => (None, None),
            RepoScope::Organization => (Some(self.organization_id), None),
            RepoScope::Project => (None, Some(self.seeded.project.id)),
        };
        h.t.store
            .create_repository(&NewRepository {
                scope,
                organization_id,
                project_id,
                name: name.into(),
                url: git_url(name),
                branch: "main".into(),
                token_enc: token.map(|t| h.secrets.seal(t)),
                is_primary: primary,
            })
            .await
            .unwrap()
    }

    /// Configures the organization's DNS provider on the fake Cloudflare.
    pub async fn dns_provider(&self, h: &Harness, token: &str) {
        h.t.store
            .set_dns_provider(&DnsProvider {
                organization_id: self.organization_id,
                provider: "cloudflare".into(),
                zone_id: require_env("PAASPORTAL_TEST_CLOUDFLARE_ZONE_ID"),
                api_token_enc: h.secrets.seal(token),
                api_base_url: Some(require_env("PAASPORTAL_TEST_CLOUDFLARE_URL")),
            })
            .await
            .unwrap();
    }

    /// Queues another deployment of the environment.
    pub async fn redeploy(&self, h: &Harness) -> Deployment {
        h.t.store
            .create_deployment(
                self.environment.id,
                Trigger::Manual,
                Some(self.seeded.user.id),
            )
            .await
            .unwrap()
    }

    /// `{base}/{env_uuid}/addons/{slug}` on the server.
    pub fn repo_dir(&self, slug: &str) -> PathBuf {
        self.base
            .path()
            .join(self.environment.id.to_string())
            .join("addons")
            .join(slug)
    }
}

/// Every file below `dir` (symlinks not followed).
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}
