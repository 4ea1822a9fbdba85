//! `testbed-fakes`: the outside world of a deployment, on loopback ports.
//!
//! - a git smart-HTTP server (`git http-backend` as CGI) over a directory of bare
//!   repositories, some of them private behind HTTP basic auth with a token;
//! - the part of Cloudflare's DNS API paasportal uses (list, create, update, delete A
//!   records in one zone, bearer-token auth, Cloudflare's envelope and error codes);
//! - a DNS server answering A queries for the zone from those records, each record
//!   visible only after a configurable propagation delay.
//!
//! One process serves all three; `scripts/lib/services.sh` starts it.

mod cloudflare;
mod dns;
mod git;
mod records;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

/// Command-line configuration.
#[derive(Debug, Parser)]
#[command(
    name = "testbed-fakes",
    about = "git over HTTP, a fake Cloudflare DNS API and a DNS server, for tests"
)]
struct Args {
    /// Address of the git HTTP server.
    #[arg(long, default_value = "127.0.0.1:0")]
    git_listen: SocketAddr,
    /// Directory holding the bare repositories (`NAME.git`).
    #[arg(long)]
    git_root: PathBuf,
    /// A repository (`NAME.git`) that needs the token; repeatable.
    #[arg(long = "git-private")]
    git_private: Vec<String>,
    /// The token private repositories accept as the basic-auth password (any user name).
    #[arg(long, env = "FAKES_GIT_TOKEN")]
    git_token: String,
    /// Milliseconds added before each git HTTP response: one network round trip's worth,
    /// to measure clones as a server far from its git host sees them (0: loopback speed).
    #[arg(long, default_value_t = 0)]
    git_latency_ms: u64,
    /// Address of the Cloudflare API.
    #[arg(long, default_value = "127.0.0.1:0")]
    cloudflare_listen: SocketAddr,
    /// The API token the Cloudflare API accepts.
    #[arg(long, env = "FAKES_CLOUDFLARE_TOKEN")]
    cloudflare_token: String,
    /// The zone id.
    #[arg(long)]
    zone_id: String,
    /// The zone's domain: records must be inside it, the DNS server answers for it.
    #[arg(long)]
    zone_name: String,
    /// Address of the DNS server (UDP and TCP).
    #[arg(long, default_value = "127.0.0.1:0")]
    dns_listen: SocketAddr,
    /// Seconds before a created or updated record is answered by the DNS server.
    #[arg(long, default_value_t = 0.0)]
    propagation_delay: f64,
    /// Where to write the bound addresses as `KEY=VALUE` lines once listening.
    #[arg(long)]
    ready_file: Option<PathBuf>,
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Args::parse()).await {
        eprintln!("testbed-fakes: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> std::io::Result<()> {
    let zone = records::Zone::new(
        &args.zone_id,
        &args.zone_name,
        Duration::from_secs_f64(args.propagation_delay.max(0.0)),
    );
    let zone = Arc::new(zone);

    let git_listener = tokio::net::TcpListener::bind(args.git_listen).await?;
    let cf_listener = tokio::net::TcpListener::bind(args.cloudflare_listen).await?;
    let dns_udp = tokio::net::UdpSocket::bind(args.dns_listen).await?;
    let dns_addr = dns_udp.local_addr()?;
    let dns_tcp = tokio::net::TcpListener::bind(dns_addr).await?;

    let git_addr = git_listener.local_addr()?;
    let cf_addr = cf_listener.local_addr()?;
    let ready = format!(
        "GIT_URL=http://{git_addr}/git\nCLOUDFLARE_URL=http://{cf_addr}/client/v4\nDNS_ADDR={dns_addr}\n"
    );
    if let Some(path) = &args.ready_file {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &ready)?;
        std::fs::rename(&tmp, path)?;
    }
    eprint!("{ready}");

    let git_app = git::router(git::GitConfig {
        root: args.git_root,
        private: args.git_private,
        token: args.git_token,
        latency: Duration::from_millis(args.git_latency_ms),
    });
    let cf_app = cloudflare::router(zone.clone(), args.cloudflare_token);
    tokio::select! {
        r = axum::serve(git_listener, git_app) => r,
        r = axum::serve(cf_listener, cf_app) => r,
        r = dns::serve_udp(dns_udp, zone.clone()) => r,
        r = dns::serve_tcp(dns_tcp, zone) => r,
        _ = shutdown() => Ok(()),
    }
}

async fn shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
