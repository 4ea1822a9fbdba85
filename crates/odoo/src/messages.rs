//! The log lines of the Odoo stages, worded as the spec words them. Durations are
//! seconds with one decimal, as in "Network created (0.3s)".

/// `0.3s`.
fn secs(s: f64) -> String {
    format!("{s:.1}s")
}

/// Stage 3: "Creating network paasportal_net_….".
pub fn creating_network(name: &str) -> String {
    format!("Creating network {name}...")
}
/// Stage 3: "Network created (0.3s)".
pub fn network_created(s: f64) -> String {
    format!("Network created ({})", secs(s))
}
/// Stage 3, redeploy: the network is reused.
pub fn network_exists(name: &str, s: f64) -> String {
    format!("Network {name} already exists ({})", secs(s))
}

/// Stage 4.
pub const CONFIGURING_DNS: &str = "Configuring DNS record (early for propagation)...";
/// Stage 4: "DNS configured: staging-myproject.oecsh.com -> 165.22.65.97 (1.2s)".
pub fn dns_configured(host: &str, ip: &str, s: f64) -> String {
    format!("DNS configured: {host} -> {ip} ({})", secs(s))
}
/// Stage 4: "DNS setup skipped (1.0s): No DNS provider configured".
pub fn dns_skipped(s: f64) -> String {
    format!(
        "DNS setup skipped ({}): No DNS provider configured",
        secs(s)
    )
}
/// Stage 4, a warning: the record could not be set.
pub fn dns_failed(s: f64, reason: &str) -> String {
    format!("DNS setup failed ({}): {reason}", secs(s))
}

/// Stage 5: "Creating PostgreSQL container …_db...".
pub fn creating_postgres(name: &str) -> String {
    format!("Creating PostgreSQL container {name}...")
}
/// Stage 5: "PostgreSQL container running (3.5s)".
pub fn postgres_running(s: f64) -> String {
    format!("PostgreSQL container running ({})", secs(s))
}
/// Stage 5.
pub const WAITING_FOR_POSTGRES: &str = "Waiting for PostgreSQL to accept connections...";
/// Stage 5.
pub const POSTGRES_READY: &str = "PostgreSQL is ready and accepting connections";
/// Stage 5: "PostgreSQL optimized (2.1s)".
pub fn postgres_optimized(s: f64) -> String {
    format!("PostgreSQL optimized ({})", secs(s))
}
/// Stage 5: the pooler is up.
pub fn pgbouncer_running(name: &str, port: u16) -> String {
    format!("PgBouncer {name} running on port {port} (transaction mode)")
}
/// Stage 5: the replica streams.
pub fn replica_streaming(name: &str, s: f64) -> String {
    format!(
        "Read replica {name} streaming from the primary ({})",
        secs(s)
    )
}

/// Which repositories a cloning stage handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloneScope {
    Platform,
    Organization,
}

impl CloneScope {
    fn word(self) -> &'static str {
        match self {
            CloneScope::Platform => "platform",
            CloneScope::Organization => "organization",
        }
    }
}

/// Stages 6–7: "Cloning 3 platform addon repositories...".
pub fn cloning_repos(scope: CloneScope, n: usize) -> String {
    format!("Cloning {n} {} addon repositories...", scope.word())
}
/// Stages 6–7 when there are none.
pub fn no_repos(scope: CloneScope) -> String {
    format!("No {} addon repositories configured", scope.word())
}
/// Stages 6–7: "[1/3] Cloning platform-reporting (17.0)...".
pub fn cloning_one(i: usize, n: usize, slug: &str, branch: &str) -> String {
    format!("[{i}/{n}] Cloning {slug} ({branch})...")
}
/// Stages 6–7: "[1/3] platform-reporting ready (2.3s)".
pub fn one_ready(i: usize, n: usize, slug: &str, s: f64) -> String {
    format!("[{i}/{n}] {slug} ready ({})", secs(s))
}
/// Stages 6–7, a warning: one repository failed.
pub fn one_failed(i: usize, n: usize, slug: &str, s: f64, reason: &str) -> String {
    format!("[{i}/{n}] {slug} failed ({}): {reason}", secs(s))
}
/// Stages 6–7: "All 3 platform repos ready (5.6s)".
pub fn all_ready(scope: CloneScope, n: usize, s: f64) -> String {
    format!("All {n} {} repos ready ({})", scope.word(), secs(s))
}
/// Stages 6–7 when some failed.
pub fn some_ready(scope: CloneScope, ready: usize, n: usize, s: f64) -> String {
    format!("{ready} of {n} {} repos ready ({})", scope.word(), secs(s))
}

/// Stage 8.
pub const CLONING_PROJECT: &str = "Cloning project repository...";
/// Stage 8: "Project repository cloned (4.2s)".
pub fn project_cloned(s: f64) -> String {
    format!("Project repository cloned ({})", secs(s))
}

/// Stage 9: "Pulling Odoo 18.0 image...".
pub fn pulling_image(version: &str) -> String {
    format!("Pulling Odoo {version} image...")
}
/// Stage 9: "Image ready (12.4s)".
pub fn image_ready(s: f64) -> String {
    format!("Image ready ({})", secs(s))
}

/// Stage 10.
pub const GENERATING_CONFIG: &str = "Generating Odoo configuration...";
/// Stage 10.
pub const CONFIG_GENERATED: &str = "Configuration generated";
/// Stage 10: "Generated odoo.conf with 8 custom overrides".
pub fn config_overrides(n: usize) -> String {
    format!("Generated odoo.conf with {n} custom overrides")
}

/// Stage 11: "Starting Odoo container …_odoo...".
pub fn starting_container(name: &str) -> String {
    format!("Starting Odoo container {name}...")
}
/// Stage 11: "Applying Odoo resource limits: CPU=1.4 cores, RAM=1434m (70% of allocated)".
pub fn resource_limits(cpus: f64, ram_mb: i64) -> String {
    format!("Applying Odoo resource limits: CPU={cpus} cores, RAM={ram_mb}m (70% of allocated)")
}
/// Stage 11: "Container started: f2e3d4c5b6a7 (3.2s)".
pub fn container_started(id: &str, s: f64) -> String {
    let short: String = id.chars().take(12).collect();
    format!("Container started: {short} ({})", secs(s))
}
/// Stage 11: "Odoo container started on internal network: paasportal_net_…".
pub fn on_internal_network(network: &str) -> String {
    format!("Odoo container started on internal network: {network}")
}
/// Stage 11.
pub const CONNECTED_TO_TRAEFIK: &str = "Container connected to traefik-public network";

/// Stage 12.
pub const CHECKING_DEPENDENCIES: &str =
    "Checking ALL repositories for dependencies (apt.txt, requirements.txt)...";
/// Stage 12.
pub const SCANNING_DEPENDENCIES: &str = "Scanning all repos for apt.txt and requirements.txt...";
/// Stage 12: "Dependencies installed from: platform-integrations, my-project".
pub fn dependencies_from(sources: &[String]) -> String {
    format!("Dependencies installed from: {}", sources.join(", "))
}
/// Stage 12: "Total apt packages: 5".
pub fn total_apt(n: usize) -> String {
    format!("Total apt packages: {n}")
}
/// Stage 12: "Total pip packages: 12".
pub fn total_pip(n: usize) -> String {
    format!("Total pip packages: {n}")
}
/// Stage 12: "All dependencies installed (8.3s)".
pub fn dependencies_installed(s: f64) -> String {
    format!("All dependencies installed ({})", secs(s))
}
/// Stage 12, on a redeploy with the same files.
pub const DEPENDENCIES_UNCHANGED: &str = "Dependencies unchanged, skipped";
/// Stage 12 when no repository has dependency files.
pub const NO_DEPENDENCIES: &str = "No apt.txt or requirements.txt found";

/// Stage 13, fresh database.
pub const INITIALIZING_DATABASE: &str = "Initializing Odoo database (this may take 1-2 minutes)...";
/// Stage 13: "Database initialization complete (94.3s)".
pub fn database_initialized(s: f64) -> String {
    format!("Database initialization complete ({})", secs(s))
}
/// Stage 13, migration.
pub const RESTORING_MIGRATION: &str = "Restoring from migration backup...";
/// Stage 13, migration.
pub const RESTORING_DATABASE: &str = "Restoring database from migration backup...";
/// Stage 13: "Migration restore complete (127.5s)".
pub fn migration_restored(s: f64) -> String {
    format!("Migration restore complete ({})", secs(s))
}
/// Stage 13, failure: "Database initialization failed: Connection timeout".
pub fn database_failed(reason: &str) -> String {
    format!("Database initialization failed: {reason}")
}

/// Stage 14.
pub const VERIFYING_DNS: &str = "Verifying DNS propagation before SSL...";
/// Stage 14: "Verifying DNS propagation (may take up to 3 minutes)...".
pub fn verifying_dns_for(timeout_secs: u64) -> String {
    if timeout_secs.is_multiple_of(60) {
        format!(
            "Verifying DNS propagation (may take up to {} minutes)...",
            timeout_secs / 60
        )
    } else {
        format!("Verifying DNS propagation (may take up to {timeout_secs} seconds)...")
    }
}
/// Stage 14: "DNS verified - safe to proceed with SSL (28.5s)".
pub fn dns_verified(s: f64) -> String {
    format!("DNS verified - safe to proceed with SSL ({})", secs(s))
}
/// Stage 14, a warning: "DNS verification timed out (180.0s) - proceeding anyway".
pub fn dns_timed_out(s: f64) -> String {
    format!(
        "DNS verification timed out ({}) - proceeding anyway",
        secs(s)
    )
}
/// Stage 14, after the timeout.
pub const SSL_MAY_TAKE_LONGER: &str = "SSL may take longer to provision";

/// Stage 15.
pub const CONFIGURING_TRAEFIK: &str = "Configuring Traefik routing...";
/// Stage 15: "Traefik configured (0.5s)".
pub fn traefik_configured(s: f64) -> String {
    format!("Traefik configured ({})", secs(s))
}

/// Stage 16.
pub const PERFORMING_HEALTH_CHECK: &str = "Performing health check...";
/// Stage 16: "Health check passed! (5.2s)".
pub fn health_passed(s: f64) -> String {
    format!("Health check passed! ({})", secs(s))
}
/// Stage 16, a warning: "Health check failed (15.2s), but container is running".
pub fn health_failed(s: f64) -> String {
    format!(
        "Health check failed ({}), but container is running",
        secs(s)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_like_the_spec() {
        let u = "3f4a5e2b-9c1d-4e8a-b2c3-7d6e5f4a3b2c";
        let cases = [
            (
                creating_network(&format!("paasportal_net_{u}")),
                format!("Creating network paasportal_net_{u}..."),
            ),
            (network_created(0.31), "Network created (0.3s)".into()),
            (
                dns_configured("staging-myproject.oecsh.com", "165.22.65.97", 1.2),
                "DNS configured: staging-myproject.oecsh.com -> 165.22.65.97 (1.2s)".into(),
            ),
            (
                dns_skipped(1.0),
                "DNS setup skipped (1.0s): No DNS provider configured".into(),
            ),
            (
                creating_postgres(&format!("{u}_db")),
                format!("Creating PostgreSQL container {u}_db..."),
            ),
            (
                postgres_running(3.5),
                "PostgreSQL container running (3.5s)".into(),
            ),
            (
                postgres_optimized(2.1),
                "PostgreSQL optimized (2.1s)".into(),
            ),
            (
                cloning_repos(CloneScope::Platform, 3),
                "Cloning 3 platform addon repositories...".into(),
            ),
            (
                cloning_one(1, 3, "platform-reporting", "17.0"),
                "[1/3] Cloning platform-reporting (17.0)...".into(),
            ),
            (
                one_ready(1, 3, "platform-reporting", 2.3),
                "[1/3] platform-reporting ready (2.3s)".into(),
            ),
            (
                all_ready(CloneScope::Platform, 3, 5.6),
                "All 3 platform repos ready (5.6s)".into(),
            ),
            (
                cloning_repos(CloneScope::Organization, 2),
                "Cloning 2 organization addon repositories...".into(),
            ),
            (
                all_ready(CloneScope::Organization, 2, 5.0),
                "All 2 organization repos ready (5.0s)".into(),
            ),
            (
                project_cloned(4.2),
                "Project repository cloned (4.2s)".into(),
            ),
            (pulling_image("18.0"), "Pulling Odoo 18.0 image...".into()),
            (image_ready(12.4), "Image ready (12.4s)".into()),
            (
                config_overrides(8),
                "Generated odoo.conf with 8 custom overrides".into(),
            ),
            (
                starting_container(&format!("{u}_odoo")),
                format!("Starting Odoo container {u}_odoo..."),
            ),
            (
                resource_limits(1.4, 1434),
                "Applying Odoo resource limits: CPU=1.4 cores, RAM=1434m (70% of allocated)".into(),
            ),
            (
                container_started("f2e3d4c5b6a7890abc", 3.2),
                "Container started: f2e3d4c5b6a7 (3.2s)".into(),
            ),
            (
                on_internal_network(&format!("paasportal_net_{u}")),
                format!("Odoo container started on internal network: paasportal_net_{u}"),
            ),
            (
                dependencies_from(&["platform-integrations".into(), "my-project".into()]),
                "Dependencies installed from: platform-integrations, my-project".into(),
            ),
            (total_apt(5), "Total apt packages: 5".into()),
            (total_pip(12), "Total pip packages: 12".into()),
            (
                dependencies_installed(8.3),
                "All dependencies installed (8.3s)".into(),
            ),
            (
                database_initialized(94.3),
                "Database initialization complete (94.3s)".into(),
            ),
            (
                migration_restored(127.5),
                "Migration restore complete (127.5s)".into(),
            ),
            (
                database_failed("Connection timeout"),
                "Database initialization failed: Connection timeout".into(),
            ),
            (
                verifying_dns_for(180),
                "Verifying DNS propagation (may take up to 3 minutes)...".into(),
            ),
            (
                verifying_dns_for(5),
                "Verifying DNS propagation (may take up to 5 seconds)...".into(),
            ),
            (
                dns_verified(28.5),
                "DNS verified - safe to proceed with SSL (28.5s)".into(),
            ),
            (
                dns_timed_out(180.0),
                "DNS verification timed out (180.0s) - proceeding anyway".into(),
            ),
            (traefik_configured(0.5), "Traefik configured (0.5s)".into()),
            (health_passed(5.2), "Health check passed! (5.2s)".into()),
            (
                health_failed(15.2),
                "Health check failed (15.2s), but container is running".into(),
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }
}
