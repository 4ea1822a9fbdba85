//! PGTune for the database container, and the PgBouncer settings in front of it.
//!
//! The formulas are PGTune's "web application" profile on SSD storage
//! (le0pard/pgtune), applied to the memory and CPUs of the PostgreSQL container
//! (30 % of the environment), since that is all the server process may use.

/// PostgreSQL settings computed from the database container's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTune {
    settings: Vec<(&'static str, String)>,
}

const KB_PER_MB: u64 = 1024;
const KB_PER_GB: u64 = 1024 * 1024;

/// PGTune's "web" profile: 200 connections.
pub const MAX_CONNECTIONS: u64 = 200;

impl PgTune {
    /// Settings for a container with `ram_mb` of memory and `cpus` cores.
    /// `replication` adds what a streaming read replica needs on the primary.
    pub fn for_container(ram_mb: i64, cpus: f64, replication: bool) -> Self {
        let mem_kb = (ram_mb.max(64) as u64) * KB_PER_MB;
        let cores = (cpus.ceil() as u64).max(1);

        // Settings counted in 8 kB pages are rounded down to whole pages, as
        // PostgreSQL would round them, so the values shown are the values in force.
        let page = |kb: u64| kb / 8 * 8;
        let shared_buffers = page(mem_kb / 4);
        let effective_cache_size = page(mem_kb * 3 / 4);
        let maintenance_work_mem = (mem_kb / 16).min(2 * KB_PER_GB);
        // 3 % of shared_buffers, between 32 kB and 16 MB; "an even 16MB if near it".
        let mut wal_buffers = (shared_buffers * 3 / 100).clamp(32, 16 * KB_PER_MB);
        if wal_buffers > 14 * KB_PER_MB {
            wal_buffers = 16 * KB_PER_MB;
        }
        let wal_buffers = page(wal_buffers);
        let parallel_per_gather = if cores >= 4 {
            (cores.div_ceil(2)).min(4)
        } else {
            1
        };
        let work_mem =
            ((mem_kb - shared_buffers) / (MAX_CONNECTIONS * 3) / parallel_per_gather).max(64);

        let mut settings = vec![
            ("max_connections", MAX_CONNECTIONS.to_string()),
            ("shared_buffers", size(shared_buffers)),
            ("effective_cache_size", size(effective_cache_size)),
            ("maintenance_work_mem", size(maintenance_work_mem)),
            ("checkpoint_completion_target", "0.9".to_owned()),
            ("wal_buffers", size(wal_buffers)),
            ("default_statistics_target", "100".to_owned()),
            ("random_page_cost", "1.1".to_owned()),
            ("effective_io_concurrency", "200".to_owned()),
            ("work_mem", size(work_mem)),
            ("huge_pages", "off".to_owned()),
            ("min_wal_size", "1GB".to_owned()),
            ("max_wal_size", "4GB".to_owned()),
        ];
        if cores >= 4 {
            settings.extend([
                ("max_worker_processes", cores.to_string()),
                (
                    "max_parallel_workers_per_gather",
                    parallel_per_gather.to_string(),
                ),
                ("max_parallel_workers", cores.to_string()),
                (
                    "max_parallel_maintenance_workers",
                    cores.div_ceil(2).min(4).to_string(),
                ),
            ]);
        }
        if replication {
            settings.extend([
                ("wal_level", "replica".to_owned()),
                ("max_wal_senders", "10".to_owned()),
                ("hot_standby", "on".to_owned()),
            ]);
        }
        PgTune { settings }
    }

    /// The settings as `(name, value)` pairs, in a stable order.
    pub fn settings(&self) -> &[(&'static str, String)] {
        &self.settings
    }

    /// One setting's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The settings as `postgres` arguments: `-c`, `name=value`, … .
    pub fn args(&self) -> Vec<String> {
        self.settings
            .iter()
            .flat_map(|(k, v)| ["-c".to_owned(), format!("{k}={v}")])
            .collect()
    }
}

/// A size in kB as PostgreSQL reads it, in the largest unit that divides it exactly.
fn size(kb: u64) -> String {
    if kb.is_multiple_of(KB_PER_GB) {
        format!("{}GB", kb / KB_PER_GB)
    } else if kb.is_multiple_of(KB_PER_MB) {
        format!("{}MB", kb / KB_PER_MB)
    } else {
        format!("{kb}kB")
    }
}

/// PgBouncer's port in front of the primary.
pub const PGBOUNCER_PORT: u16 = 6432;
/// PgBouncer's port in front of the read replica.
pub const PGBOUNCER_REPLICA_PORT: u16 = 6433;

/// PgBouncer settings: transaction pooling, client connections 50 per GB of the
/// environment's memory (at least 50), server pool sized below PostgreSQL's limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBouncerSettings {
    pub pool_mode: &'static str,
    pub listen_port: u16,
    pub max_client_conn: u32,
    pub default_pool_size: u32,
}

impl PgBouncerSettings {
    /// Settings for an environment with `env_ram_mb` of memory in total.
    pub fn for_environment(env_ram_mb: i64, replica: bool) -> Self {
        let per_gb = (env_ram_mb.max(0) as u64 * 50 / 1024) as u32;
        PgBouncerSettings {
            pool_mode: "transaction",
            listen_port: if replica {
                PGBOUNCER_REPLICA_PORT
            } else {
                PGBOUNCER_PORT
            },
            max_client_conn: per_gb.max(50),
            // Leave PostgreSQL headroom for superuser, replication and maintenance.
            default_pool_size: 20.min(MAX_CONNECTIONS as u32 - 10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_database_container() {
        // 2 cores / 2048 MB environment: the database gets 0.6 cores and 614 MB.
        let t = PgTune::for_container(614, 0.6, false);
        assert_eq!(t.get("shared_buffers"), Some("157184kB"));
        assert_eq!(t.get("effective_cache_size"), Some("471552kB"));
        assert_eq!(t.get("maintenance_work_mem"), Some("39296kB"));
        assert_eq!(t.get("wal_buffers"), Some("4712kB"));
        assert_eq!(t.get("work_mem"), Some("785kB"));
        assert_eq!(t.get("max_connections"), Some("200"));
        assert_eq!(t.get("max_worker_processes"), None);
        assert_eq!(t.get("wal_level"), None);
    }

    #[test]
    fn large_container_matches_pgtune() {
        // PGTune web/SSD, 16 GB, 8 CPUs, 200 connections.
        let t = PgTune::for_container(16 * 1024, 8.0, true);
        assert_eq!(t.get("shared_buffers"), Some("4GB"));
        assert_eq!(t.get("effective_cache_size"), Some("12GB"));
        assert_eq!(t.get("maintenance_work_mem"), Some("1GB"));
        assert_eq!(t.get("wal_buffers"), Some("16MB"));
        assert_eq!(t.get("work_mem"), Some("5242kB"));
        assert_eq!(t.get("max_worker_processes"), Some("8"));
        assert_eq!(t.get("max_parallel_workers_per_gather"), Some("4"));
        assert_eq!(t.get("max_parallel_maintenance_workers"), Some("4"));
        assert_eq!(t.get("wal_level"), Some("replica"));
        assert_eq!(t.get("hot_standby"), Some("on"));
    }

    #[test]
    fn args_are_pairs() {
        let args = PgTune::for_container(1024, 1.0, false).args();
        assert_eq!(args.len(), 2 * 13);
        assert_eq!(args[0], "-c");
        assert_eq!(args[1], "max_connections=200");
        assert!(args.contains(&"shared_buffers=256MB".to_owned()));
        assert!(args.chunks(2).all(|p| p[0] == "-c" && p[1].contains('=')));
    }

    #[test]
    fn maintenance_work_mem_is_capped() {
        let t = PgTune::for_container(64 * 1024, 16.0, false);
        assert_eq!(t.get("maintenance_work_mem"), Some("2GB"));
    }

    #[test]
    fn pgbouncer_scales_with_memory() {
        let b = PgBouncerSettings::for_environment(2048, false);
        assert_eq!(b.pool_mode, "transaction");
        assert_eq!(b.listen_port, 6432);
        assert_eq!(b.max_client_conn, 100);
        assert_eq!(
            PgBouncerSettings::for_environment(8192, true).max_client_conn,
            400
        );
        assert_eq!(
            PgBouncerSettings::for_environment(8192, true).listen_port,
            6433
        );
        assert_eq!(
            PgBouncerSettings::for_environment(512, false).max_client_conn,
            50
        );
        assert!(b.default_pool_size < MAX_CONNECTIONS as u32);
    }
}
