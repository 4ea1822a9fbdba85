//! Environments: one Odoo instance of a project on one server.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text_enum;

text_enum! {
    /// Lifecycle of an environment.
    pub enum EnvironmentStatus: "environment status" {
        Pending = "pending",
        Deploying = "deploying",
        Running = "running",
        Failed = "failed",
        Stopped = "stopped",
    }
}

/// An environment and its resource allocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Environment {
    pub id: Uuid,
    pub project_id: Uuid,
    pub server_id: Uuid,
    pub name: String,
    pub branch: String,
    pub subdomain: String,
    pub apps_domain: String,
    pub odoo_version: String,
    pub cpu_cores: f64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    /// User odoo.conf overrides: `{"section": {"key": value}}` or `{"key": value}`.
    pub config_overrides: serde_json::Value,
    pub read_replica: bool,
    pub migration_id: Option<Uuid>,
    pub migration_restore_completed: bool,
    pub migration_restore_completed_at: Option<DateTime<Utc>>,
    pub status: EnvironmentStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Environment {
    /// The public host name, `{subdomain}.{apps_domain}`.
    pub fn hostname(&self) -> String {
        format!("{}.{}", self.subdomain, self.apps_domain)
    }

    /// How the allocation splits between Odoo (70 %) and PostgreSQL (30 %).
    pub fn resources(&self) -> ResourceSplit {
        ResourceSplit::of(self.cpu_cores, self.ram_mb)
    }
}

/// CPU and RAM for the Odoo and PostgreSQL containers of one environment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResourceSplit {
    pub odoo_cpus: f64,
    pub odoo_ram_mb: i64,
    pub db_cpus: f64,
    pub db_ram_mb: i64,
}

impl ResourceSplit {
    /// 70 % of CPU and RAM to Odoo, 30 % to PostgreSQL, CPU rounded to 0.1 core.
    pub fn of(cpu_cores: f64, ram_mb: i64) -> Self {
        let round1 = |x: f64| (x * 10.0).round() / 10.0;
        ResourceSplit {
            odoo_cpus: round1(cpu_cores * 0.7).max(0.1),
            odoo_ram_mb: ((ram_mb as f64) * 0.7).round() as i64,
            db_cpus: round1(cpu_cores * 0.3).max(0.1),
            db_ram_mb: ((ram_mb as f64) * 0.3).round() as i64,
        }
    }

    /// Odoo worker processes: `max(1, int(odoo_cpu × 2))`.
    pub fn odoo_workers(&self) -> u32 {
        ((self.odoo_cpus * 2.0) as u32).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_matches_the_spec_example() {
        let s = ResourceSplit::of(2.0, 2048);
        assert_eq!(s.odoo_cpus, 1.4);
        assert_eq!(s.odoo_ram_mb, 1434);
        assert_eq!(s.db_cpus, 0.6);
        assert_eq!(s.db_ram_mb, 614);
        assert_eq!(s.odoo_workers(), 2);
        assert_eq!(ResourceSplit::of(0.5, 512).odoo_workers(), 1);
    }
}
