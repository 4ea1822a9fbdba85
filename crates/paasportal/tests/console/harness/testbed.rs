//! The deployment target for the console's live tests: the local test sshd with the
//! testbed's images (`testbed/build-images`) and its outside world (`testbed-fakes`: git,
//! Cloudflare, DNS; started by `scripts/test`), so `serve`'s worker runs the standard
//! pipeline, all 17 stages for real, in seconds. Everything the deployment leaves
//! (containers, network, volumes, the base directory) is removed when the test ends.

use std::process::{Command, Stdio};

use paasportal_store::Store;
use paasportal_store::deploy_inputs::DnsProvider;
use paasportal_testkit::require_env;
use serde_json::json;
use uuid::Uuid;

use super::api::Api;
use super::world::World;

pub const POSTGRES_IMAGE: &str = "paasportal/postgres:15";
pub const PGBOUNCER_IMAGE: &str = "paasportal/pgbouncer:latest";
pub const ODOO_IMAGE: &str = "paasportal/odoo-standin:18.0";

fn sh(argv: &[&str]) -> (bool, String) {
    match Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
    {
        Ok(o) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => (false, e.to_string()),
    }
}

/// The testbed for one test: a base directory owned by the SSH user and the
/// environments to clean up.
pub struct Testbed {
    base: tempfile::TempDir,
    environments: Vec<String>,
}

impl Testbed {
    /// Fails the test, naming the fix, when Docker, an image or a fake is missing.
    pub fn require() -> Testbed {
        for image in [POSTGRES_IMAGE, PGBOUNCER_IMAGE, ODOO_IMAGE] {
            let (ok, out) = sh(&["docker", "image", "inspect", image]);
            assert!(
                ok,
                "image {image} is missing: run testbed/build-images (scripts/test does): {out}"
            );
        }
        let (exists, _) = sh(&["docker", "network", "inspect", "traefik-public"]);
        if !exists {
            let (ok, out) = sh(&[
                "docker",
                "network",
                "create",
                "--label",
                "paasportal.testbed=true",
                "traefik-public",
            ]);
            assert!(
                ok || out.contains("already exists"),
                "cannot create traefik-public: {out}"
            );
        }
        let base = tempfile::Builder::new()
            .prefix("pp-console-")
            .tempdir()
            .unwrap();
        let user = require_env("PAASPORTAL_TEST_SSH_USER");
        let path = base.path().to_str().unwrap();
        let owner = format!("{user}:");
        for argv in [["chown", owner.as_str(), path], ["chmod", "755", path]] {
            let (ok, out) = sh(&argv);
            assert!(ok, "{argv:?}: {out}");
        }
        // Fail now, not halfway through a deployment, when a fake is not configured.
        for var in [
            "PAASPORTAL_TEST_GIT_URL",
            "PAASPORTAL_TEST_GIT_TOKEN",
            "PAASPORTAL_TEST_CLOUDFLARE_URL",
            "PAASPORTAL_TEST_CLOUDFLARE_TOKEN",
            "PAASPORTAL_TEST_CLOUDFLARE_ZONE_ID",
            "PAASPORTAL_TEST_APPS_DOMAIN",
            "PAASPORTAL_TEST_DNS_SERVER",
            "PAASPORTAL_TEST_DNS_PROPAGATION_SECS",
        ] {
            require_env(var);
        }
        Testbed {
            base,
            environments: Vec::new(),
        }
    }

    /// The `serve` / `worker` settings that deploy onto the testbed quickly.
    pub fn portal_env(&self) -> Vec<(String, String)> {
        let propagation: f64 = require_env("PAASPORTAL_TEST_DNS_PROPAGATION_SECS")
            .parse()
            .unwrap();
        [
            (
                "PAASPORTAL_DEPLOY_BASE_DIR",
                self.base.path().to_str().unwrap().to_owned(),
            ),
            ("PAASPORTAL_POSTGRES_IMAGE", POSTGRES_IMAGE.to_owned()),
            ("PAASPORTAL_PGBOUNCER_IMAGE", PGBOUNCER_IMAGE.to_owned()),
            ("PAASPORTAL_HEALTH_CHECK_WAIT_SECS", "0.5".to_owned()),
            ("PAASPORTAL_HEALTH_CHECK_ATTEMPTS", "10".to_owned()),
            (
                "PAASPORTAL_APPS_DOMAIN",
                require_env("PAASPORTAL_TEST_APPS_DOMAIN"),
            ),
            (
                "PAASPORTAL_DNS_RESOLVERS",
                require_env("PAASPORTAL_TEST_DNS_SERVER"),
            ),
            ("PAASPORTAL_DNS_VERIFY_INTERVAL_SECS", "0.25".to_owned()),
            (
                "PAASPORTAL_DNS_VERIFY_MAX_WAIT_SECS",
                format!("{}", propagation + 30.0),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Gives `w` what the standard pipeline's every stage acts on: repositories of each
    /// scope from the fake git server (the project's private one with its token) and
    /// the organization's DNS provider on the fake Cloudflare (written to the store:
    /// the API has no endpoint for it).
    pub async fn equip(
        &mut self,
        api: &Api,
        store: &Store,
        secrets: &paasportal_core::SecretBox,
        w: &World,
    ) {
        let git = require_env("PAASPORTAL_TEST_GIT_URL");
        let token = require_env("PAASPORTAL_TEST_GIT_TOKEN");
        let repos = [
            json!({"scope": "platform", "url": format!("{git}/platform-reporting.git"),
                   "branch": "main", "name": "platform-reporting"}),
            json!({"scope": "platform", "url": format!("{git}/platform-integrations.git"),
                   "branch": "main", "name": "platform-integrations"}),
            json!({"scope": "organization", "organization_id": w.org,
                   "url": format!("{git}/org-custom-modules.git"), "branch": "main",
                   "name": "org-custom-modules"}),
            json!({"scope": "project", "project_id": w.project,
                   "url": format!("{git}/my-project.git"), "branch": "main",
                   "name": "my-project", "is_primary": true}),
            json!({"scope": "project", "project_id": w.project,
                   "url": format!("{git}/private-repo.git"), "branch": "main",
                   "name": "private-repo", "token": token}),
        ];
        for r in repos {
            api.post_ok("/repositories", r).await;
        }
        store
            .set_dns_provider(&DnsProvider {
                organization_id: w.org.parse::<Uuid>().unwrap(),
                provider: "cloudflare".into(),
                zone_id: require_env("PAASPORTAL_TEST_CLOUDFLARE_ZONE_ID"),
                api_token_enc: secrets.seal(&require_env("PAASPORTAL_TEST_CLOUDFLARE_TOKEN")),
                api_base_url: Some(require_env("PAASPORTAL_TEST_CLOUDFLARE_URL")),
            })
            .await
            .unwrap();
        self.environments.push(w.environment.clone());
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        for u in &self.environments {
            let (_, ids) = sh(&[
                "docker",
                "ps",
                "-aq",
                "--filter",
                &format!("label=paasportal.environment={u}"),
            ]);
            for id in ids.lines().filter(|l| !l.trim().is_empty()) {
                let _ = sh(&["docker", "rm", "-f", "-v", id.trim()]);
            }
            let _ = sh(&["docker", "network", "rm", &format!("paasportal_net_{u}")]);
            let (_, images) = sh(&[
                "docker",
                "images",
                "--format",
                "{{.Repository}}:{{.Tag}}",
                &format!("paasportal/deps-{u}"),
            ]);
            for image in images.lines().filter(|l| !l.trim().is_empty()) {
                let _ = sh(&["docker", "rmi", "-f", image.trim()]);
            }
            let _ = sh(&[
                "docker",
                "volume",
                "rm",
                "-f",
                &format!("paasportal_pgdata_{u}"),
                &format!("paasportal_pgdata_{u}_replica"),
            ]);
        }
        // data/ belongs to the container's user: remove as root, whatever is left.
        let _ = sh(&["rm", "-rf", self.base.path().to_str().unwrap()]);
    }
}
