//! What the standard pipeline needs on the testbed: the deployment settings with DNS
//! verification against the testbed's DNS server and backups on its S3, and an
//! environment with repositories of every scope and a DNS provider.

use std::time::Duration;

use paasportal_core::RepoScope;
use paasportal_engine::EngineConfig;
use paasportal_engine::config::DnsVerifySettings;
use paasportal_odoo::backup::StorageConfig;
use paasportal_testkit::require_env;

use super::harness::Harness;
use super::odoo_world::World;
use super::testbed::{BaseDirGuard, deploy_config};

/// Platform repositories the environments get.
pub const PLATFORM: [&str; 2] = ["platform-reporting", "platform-integrations"];
/// The organization's repository.
pub const ORGANIZATION: &str = "org-custom-modules";
/// The project's repositories: the primary one, then the private one.
pub const PROJECT: [&str; 2] = ["my-project", "private-repo"];

/// The testbed's settings, DNS verification against its DNS server, backups on moto.
pub fn settings(base: &BaseDirGuard) -> EngineConfig {
    let propagation: f64 = require_env("PAASPORTAL_TEST_DNS_PROPAGATION_SECS")
        .parse()
        .unwrap();
    EngineConfig {
        dns_verify: DnsVerifySettings {
            resolvers: vec![require_env("PAASPORTAL_TEST_DNS_SERVER").parse().unwrap()],
            interval: Duration::from_millis(250),
            max_wait: Duration::from_secs_f64(propagation + 30.0),
        },
        backups: Some(StorageConfig {
            endpoint: require_env("PAASPORTAL_TEST_S3_ENDPOINT"),
            bucket: require_env("PAASPORTAL_TEST_S3_BUCKET"),
            region: require_env("PAASPORTAL_TEST_S3_REGION"),
            access_key_id: require_env("PAASPORTAL_TEST_S3_ACCESS_KEY"),
            secret_access_key: require_env("PAASPORTAL_TEST_S3_SECRET_KEY"),
        }),
        ..deploy_config(base)
    }
}

/// Adds the platform repositories (once per store: every environment gets them).
pub async fn platform_repos(h: &Harness, w: &World) {
    for name in PLATFORM {
        w.repo(h, RepoScope::Platform, name, false, None).await;
    }
}

/// Adds the platform repositories, the organization's and the project's (the private
/// one with `token`), and the organization's DNS provider on the fake Cloudflare.
pub async fn equip(h: &Harness, w: &World, token: &str) {
    platform_repos(h, w).await;
    equip_organization(h, w, token).await;
}

/// [`equip`] without the platform repositories.
pub async fn equip_organization(h: &Harness, w: &World, token: &str) {
    w.repo(h, RepoScope::Organization, ORGANIZATION, false, None)
        .await;
    w.repo(h, RepoScope::Project, PROJECT[0], true, None).await;
    w.repo(h, RepoScope::Project, PROJECT[1], false, Some(token))
        .await;
    w.dns_provider(h, &require_env("PAASPORTAL_TEST_CLOUDFLARE_TOKEN"))
        .await;
}
