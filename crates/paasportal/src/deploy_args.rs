//! Settings of the repository, DNS and database stages: clone concurrency, DNS
//! verification, and the migration backups' storage.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use paasportal_engine::EngineConfig;
use paasportal_engine::config::DnsVerifySettings;
use paasportal_odoo::backup::StorageConfig;

/// Flags and `PAASPORTAL_*` variables of the deployment stages.
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// Repositories of one scope cloned at the same time.
    #[arg(long, env = "PAASPORTAL_CLONE_CONCURRENCY", default_value_t = 4)]
    pub clone_concurrency: usize,
    /// Resolvers asked by `verifying_dns`, comma-separated `ip:port`.
    #[arg(
        long,
        env = "PAASPORTAL_DNS_RESOLVERS",
        default_value = "1.1.1.1:53,8.8.8.8:53"
    )]
    pub dns_resolvers: String,
    /// Seconds between two DNS verification attempts.
    #[arg(
        long,
        env = "PAASPORTAL_DNS_VERIFY_INTERVAL_SECS",
        default_value_t = 10.0
    )]
    pub dns_verify_interval_secs: f64,
    /// Seconds DNS verification keeps trying before it warns and moves on.
    #[arg(
        long,
        env = "PAASPORTAL_DNS_VERIFY_MAX_WAIT_SECS",
        default_value_t = 180.0
    )]
    pub dns_verify_max_wait_secs: f64,
    /// S3-compatible endpoint of migration backups (Cloudflare R2 in production).
    #[arg(long, env = "PAASPORTAL_BACKUP_S3_ENDPOINT")]
    pub backup_s3_endpoint: Option<String>,
    /// Bucket of migration backups.
    #[arg(long, env = "PAASPORTAL_BACKUP_S3_BUCKET")]
    pub backup_s3_bucket: Option<String>,
    /// Region of the bucket (`auto` for R2).
    #[arg(long, env = "PAASPORTAL_BACKUP_S3_REGION", default_value = "auto")]
    pub backup_s3_region: String,
    /// Access key id for the bucket.
    #[arg(
        long,
        env = "PAASPORTAL_BACKUP_S3_ACCESS_KEY_ID",
        hide_env_values = true
    )]
    pub backup_s3_access_key_id: Option<String>,
    /// Secret access key for the bucket.
    #[arg(
        long,
        env = "PAASPORTAL_BACKUP_S3_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub backup_s3_secret_access_key: Option<String>,
}

fn positive(name: &str, v: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(v)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| anyhow::anyhow!("{name} must be a positive number of seconds, got {v}"))
}

impl DeployArgs {
    /// Writes these settings into `config`.
    pub fn apply(&self, config: &mut EngineConfig) -> anyhow::Result<()> {
        if self.clone_concurrency == 0 {
            anyhow::bail!("PAASPORTAL_CLONE_CONCURRENCY must be at least 1");
        }
        config.clone_concurrency = self.clone_concurrency;
        let resolvers = self
            .dns_resolvers
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<SocketAddr>().map_err(|_| {
                    anyhow::anyhow!("PAASPORTAL_DNS_RESOLVERS: {s:?} is not an ip:port address")
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if resolvers.is_empty() {
            anyhow::bail!("PAASPORTAL_DNS_RESOLVERS names no resolver");
        }
        config.dns_verify = DnsVerifySettings {
            resolvers,
            interval: positive(
                "PAASPORTAL_DNS_VERIFY_INTERVAL_SECS",
                self.dns_verify_interval_secs,
            )?,
            max_wait: positive(
                "PAASPORTAL_DNS_VERIFY_MAX_WAIT_SECS",
                self.dns_verify_max_wait_secs,
            )?,
        };
        config.backups = match (
            &self.backup_s3_endpoint,
            &self.backup_s3_bucket,
            &self.backup_s3_access_key_id,
            &self.backup_s3_secret_access_key,
        ) {
            (None, None, None, None) => None,
            (Some(endpoint), Some(bucket), Some(key), Some(secret)) => Some(StorageConfig {
                endpoint: endpoint.clone(),
                bucket: bucket.clone(),
                region: self.backup_s3_region.clone(),
                access_key_id: key.clone(),
                secret_access_key: secret.clone(),
            }),
            _ => anyhow::bail!(
                "migration backups need all of PAASPORTAL_BACKUP_S3_ENDPOINT, _BUCKET, \
                 _ACCESS_KEY_ID and _SECRET_ACCESS_KEY, or none of them"
            ),
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        d: DeployArgs,
    }

    #[test]
    fn settings_parse_and_are_checked() {
        let mut c = EngineConfig::default();
        T::parse_from(["t"]).d.apply(&mut c).unwrap();
        assert_eq!(c.dns_verify, DnsVerifySettings::default());
        assert!(c.backups.is_none());

        T::parse_from([
            "t",
            "--dns-resolvers",
            "127.0.0.1:5353",
            "--dns-verify-interval-secs",
            "0.5",
            "--backup-s3-endpoint",
            "http://127.0.0.1:9000",
            "--backup-s3-bucket",
            "b",
            "--backup-s3-access-key-id",
            "k",
            "--backup-s3-secret-access-key",
            "s",
        ])
        .d
        .apply(&mut c)
        .unwrap();
        assert_eq!(c.dns_verify.resolvers, ["127.0.0.1:5353".parse().unwrap()]);
        assert_eq!(c.dns_verify.interval, Duration::from_millis(500));
        assert_eq!(c.backups.as_ref().unwrap().region, "auto");

        for bad in [
            vec!["t", "--dns-resolvers", "1.1.1.1"],
            vec!["t", "--clone-concurrency", "0"],
            vec!["t", "--backup-s3-bucket", "only-a-bucket"],
        ] {
            assert!(
                T::parse_from(bad.clone()).d.apply(&mut c).is_err(),
                "{bad:?}"
            );
        }
    }
}
