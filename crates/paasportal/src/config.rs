//! Command-line flags and their `PAASPORTAL_*` environment variables, parsed once
//! into typed structs. `paasportal serve --help` lists every setting.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::bench::BenchCommand;
use crate::worker::{EngineArgs, WorkerArgs};

/// Deployment control plane for Odoo hosting.
#[derive(Debug, Parser)]
#[command(name = "paasportal", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to run.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API, the event stream, the web UI and a deployment worker.
    Serve(Box<ServeArgs>),
    /// Run a deployment worker alone: it claims queued deployments and runs them.
    Worker(Box<WorkerArgs>),
    /// Register the machine `scripts/testbed up` prepared as a server with an environment.
    RegisterTestbed(Box<crate::register::RegisterArgs>),
    /// Measure paasportal's performance.
    #[command(subcommand)]
    Bench(BenchCommand),
    #[command(flatten)]
    Client(paasportal_cli::ClientCommand),
}

/// How log output is formatted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Settings shared by every long-running process.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Directory for the SQLite database and generated keys.
    #[arg(long, env = "PAASPORTAL_DATA_DIR", default_value_os_t = default_data_dir())]
    pub data_dir: PathBuf,
    /// Database URL: `sqlite:PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`
    /// [default: sqlite in the data dir]
    #[arg(long, env = "PAASPORTAL_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Redis URL for fan-out across replicas, e.g. `redis://127.0.0.1:6379`
    /// [default: none, in-process event bus]
    #[arg(long, env = "PAASPORTAL_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Log filter: a level (error, warn, info, debug, trace) or tracing directives.
    #[arg(long, env = "PAASPORTAL_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Log output format.
    #[arg(
        long,
        env = "PAASPORTAL_LOG_FORMAT",
        value_enum,
        default_value = "pretty"
    )]
    pub log_format: LogFormat,
    /// Master key for secrets at rest, 32 bytes in base64 [default: generated into the data dir]
    #[arg(long, env = "PAASPORTAL_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
}

impl CommonArgs {
    /// The database URL, defaulting to `sqlite:{data_dir}/paasportal.db`.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.data_dir.join("paasportal.db").display()))
    }
}

/// Settings of `paasportal serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Address to listen on.
    #[arg(long, env = "PAASPORTAL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// E-mail of the portal admin created on first start.
    #[arg(
        long,
        env = "PAASPORTAL_ADMIN_EMAIL",
        default_value = "admin@localhost"
    )]
    pub admin_email: String,
    /// Password of the portal admin created on first start [default: generated and printed once]
    #[arg(long, env = "PAASPORTAL_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Seconds of silence after which the event stream sends `: keepalive`.
    #[arg(long, env = "PAASPORTAL_SSE_KEEPALIVE_SECS", default_value_t = 30)]
    pub sse_keepalive_secs: u64,
    /// Events an event-stream client may fall behind by before it is disconnected
    /// (it then resumes from its last event id).
    #[arg(long, env = "PAASPORTAL_SSE_BUFFER_FRAMES", default_value_t = 4096)]
    pub sse_buffer_frames: usize,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "PAASPORTAL_BODY_LIMIT_BYTES", default_value_t = 1024 * 1024)]
    pub body_limit_bytes: usize,
    /// Largest database connection pool.
    #[arg(long, env = "PAASPORTAL_DB_MAX_CONNECTIONS", default_value_t = 32)]
    pub db_max_connections: u32,
    /// Days deployment logs are kept (unset: forever); `LOG_RETENTION_DAYS` is also read.
    #[arg(long, env = "PAASPORTAL_LOG_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub log_retention_days: Option<u32>,
    /// Time of day (UTC, HH:MM) of the daily log retention run.
    #[arg(long, env = "PAASPORTAL_LOG_RETENTION_AT", default_value = "03:00", value_parser = parse_time_of_day)]
    pub log_retention_at: chrono::NaiveTime,
    /// Domain under which environments are served as `{subdomain}.{apps_domain}`.
    #[arg(long, env = "PAASPORTAL_APPS_DOMAIN", default_value = "apps.localhost")]
    pub apps_domain: String,
    /// Reverse proxies (addresses or CIDR ranges, comma-separated) whose
    /// `X-Forwarded-For` names the client for login throttling [default: none: the header
    /// is ignored]
    #[arg(long, env = "PAASPORTAL_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<paasportal_server::client_addr::IpRange>,
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Run a deployment worker in this process (`false` to leave deployments to
    /// separate `paasportal worker` processes).
    #[arg(long, env = "PAASPORTAL_WORKER", default_value_t = true, action = ArgAction::Set,
          value_parser = BoolishValueParser::new())]
    pub worker: bool,
    /// Do not run a deployment worker in this process (same as PAASPORTAL_WORKER=false).
    #[arg(long)]
    pub no_worker: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

impl ServeArgs {
    /// The retention period: the flag or `PAASPORTAL_LOG_RETENTION_DAYS`, else the spec's
    /// `LOG_RETENTION_DAYS`; `None` keeps logs forever.
    pub fn retention_days(&self) -> anyhow::Result<Option<u32>> {
        if self.log_retention_days.is_some() {
            return Ok(self.log_retention_days);
        }
        match std::env::var("LOG_RETENTION_DAYS") {
            Ok(v) if !v.trim().is_empty() => match v.trim().parse::<u32>() {
                Ok(d) if d > 0 => Ok(Some(d)),
                _ => anyhow::bail!(
                    "LOG_RETENTION_DAYS must be a whole number of days above 0, got {v:?}"
                ),
            },
            _ => Ok(None),
        }
    }

    /// Whether `serve` runs a deployment worker.
    pub fn runs_worker(&self) -> bool {
        self.worker && !self.no_worker
    }
}

/// Settings of authentication.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// JWT signing key, 32 or more bytes in base64 [default: generated into the data dir]
    #[arg(long, env = "PAASPORTAL_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "PAASPORTAL_ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh token, in seconds (renewed at each use).
    #[arg(long, env = "PAASPORTAL_REFRESH_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl_secs: u64,
}

/// `$XDG_DATA_HOME/paasportal`, else `~/.local/share/paasportal`, else `./paasportal-data`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("paasportal");
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/share/paasportal"),
        None => PathBuf::from("paasportal-data"),
    }
}

/// Parses `HH:MM` (24 h).
fn parse_time_of_day(s: &str) -> Result<chrono::NaiveTime, String> {
    chrono::NaiveTime::parse_from_str(s, "%H:%M")
        .map_err(|_| format!("expected a time of day as HH:MM, got {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_runs_a_worker_unless_told_not_to() {
        let parse = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
            Command::Serve(s) => s.runs_worker(),
            _ => unreachable!(),
        };
        assert!(parse(&["paasportal", "serve"]));
        assert!(!parse(&["paasportal", "serve", "--no-worker"]));
        assert!(!parse(&["paasportal", "serve", "--worker", "false"]));
        let mut cmd = Cli::command();
        let help = cmd
            .find_subcommand_mut("worker")
            .unwrap()
            .render_long_help()
            .to_string();
        for var in [
            "PAASPORTAL_WORKER_CONCURRENCY",
            "PAASPORTAL_WORKER_LEASE_SECS",
            "PAASPORTAL_STAGE_TIMEOUTS",
            "PAASPORTAL_COMMAND_TIMEOUT_SECS",
            "PAASPORTAL_SSH_CONNECT_TIMEOUT_SECS",
            "PAASPORTAL_MASTER_KEY",
            "PAASPORTAL_DATABASE_URL",
        ] {
            assert!(help.contains(var), "worker --help does not mention {var}");
        }
    }

    #[test]
    fn serve_help_lists_every_setting() {
        let mut cmd = Cli::command();
        let serve = cmd.find_subcommand_mut("serve").unwrap();
        let help = serve.render_long_help().to_string();
        for var in [
            "PAASPORTAL_LISTEN",
            "PAASPORTAL_DATABASE_URL",
            "PAASPORTAL_REDIS_URL",
            "PAASPORTAL_DATA_DIR",
            "PAASPORTAL_LOG_LEVEL",
            "PAASPORTAL_LOG_FORMAT",
            "PAASPORTAL_ADMIN_EMAIL",
            "PAASPORTAL_ADMIN_PASSWORD",
            "PAASPORTAL_MASTER_KEY",
            "PAASPORTAL_SSE_KEEPALIVE_SECS",
            "PAASPORTAL_JWT_SECRET",
            "PAASPORTAL_ACCESS_TOKEN_TTL_SECS",
            "PAASPORTAL_REFRESH_TOKEN_TTL_SECS",
            "PAASPORTAL_LOG_RETENTION_DAYS",
            "PAASPORTAL_LOG_RETENTION_AT",
            "PAASPORTAL_APPS_DOMAIN",
        ] {
            assert!(help.contains(var), "serve --help does not mention {var}");
        }
    }
}
