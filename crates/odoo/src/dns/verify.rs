//! DNS verification before SSL: ask each configured nameserver for the host's A
//! records every `interval`, for up to `timeout`, until every one of them answers
//! with exactly the server's IP. Nothing is cached between attempts.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;

use super::hostname::{HostnameError, validate_hostname};

/// Where and how patiently to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyConfig {
    /// The resolvers asked (e.g. `1.1.1.1:53`, `8.8.8.8:53`; a loopback server in tests).
    pub nameservers: Vec<SocketAddr>,
    /// The pause between two attempts: the spec's 10 s.
    pub interval: Duration,
    /// How long to keep trying: the spec's 3 minutes.
    pub timeout: Duration,
    /// Upper bound for one query.
    pub query_timeout: Duration,
}

impl VerifyConfig {
    /// The spec's schedule (every 10 s for up to 3 min) against `nameservers`.
    pub fn spec(nameservers: Vec<SocketAddr>) -> Self {
        VerifyConfig {
            nameservers,
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(180),
            query_timeout: Duration::from_secs(3),
        }
    }
}

/// Why verification could not even start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("no DNS resolvers configured for verification")]
    NoNameservers,
    #[error(transparent)]
    InvalidHostname(#[from] HostnameError),
    #[error("cannot set up a resolver for {0}: {1}")]
    Resolver(SocketAddr, String),
}

/// What one nameserver said in one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The A records it returned (possibly none).
    Addresses(Vec<IpAddr>),
    /// The query failed: timeout, refused, SERVFAIL….
    Failed(String),
}

/// The result of verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// Every nameserver answered exactly the expected IP.
    Verified { elapsed: Duration, attempts: u32 },
    /// The timeout passed first; `last` is what each nameserver said last.
    TimedOut {
        elapsed: Duration,
        attempts: u32,
        last: Vec<(SocketAddr, Answer)>,
    },
}

fn resolver_for(
    ns: SocketAddr,
    query_timeout: Duration,
) -> Result<Resolver<TokioRuntimeProvider>, VerifyError> {
    let mut server = NameServerConfig::udp_and_tcp(ns.ip());
    for c in &mut server.connections {
        c.port = ns.port();
    }
    let config = ResolverConfig::from_parts(None, vec![], vec![server]);
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    opts.timeout = query_timeout;
    opts.attempts = 1;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.ndots = 0;
    Resolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(opts)
        .build()
        .map_err(|e| VerifyError::Resolver(ns, e.to_string()))
}

async fn ask(resolver: &Resolver<TokioRuntimeProvider>, fqdn: &str) -> Answer {
    match resolver.ipv4_lookup(fqdn).await {
        Ok(lookup) => {
            let mut ips: Vec<IpAddr> = lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    _ => None,
                })
                .collect();
            ips.sort();
            ips.dedup();
            Answer::Addresses(ips)
        }
        Err(e) if e.is_no_records_found() || e.is_nx_domain() => Answer::Addresses(vec![]),
        Err(e) => Answer::Failed(e.to_string()),
    }
}

/// Checks until `hostname` resolves to exactly `expected` at every nameserver, or the
/// timeout passes. `on_attempt` sees each attempt's number and answers (for debug logs).
pub async fn verify_a_record(
    config: &VerifyConfig,
    hostname: &str,
    expected: IpAddr,
    mut on_attempt: impl FnMut(u32, &[(SocketAddr, Answer)]),
) -> Result<VerifyOutcome, VerifyError> {
    validate_hostname(hostname)?;
    if config.nameservers.is_empty() {
        return Err(VerifyError::NoNameservers);
    }
    let resolvers = config
        .nameservers
        .iter()
        .map(|ns| resolver_for(*ns, config.query_timeout).map(|r| (*ns, r)))
        .collect::<Result<Vec<_>, _>>()?;
    let fqdn = format!("{hostname}.");
    let start = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let answers: Vec<(SocketAddr, Answer)> = futures::future::join_all(
            resolvers
                .iter()
                .map(|(ns, r)| async { (*ns, ask(r, &fqdn).await) }),
        )
        .await;
        on_attempt(attempts, &answers);
        let good = answers
            .iter()
            .all(|(_, a)| matches!(a, Answer::Addresses(ips) if ips.as_slice() == [expected]));
        if good {
            return Ok(VerifyOutcome::Verified {
                elapsed: start.elapsed(),
                attempts,
            });
        }
        let elapsed = start.elapsed();
        if elapsed + config.interval > config.timeout {
            if elapsed < config.timeout {
                tokio::time::sleep(config.timeout - elapsed).await;
            }
            return Ok(VerifyOutcome::TimedOut {
                elapsed: start.elapsed(),
                attempts,
                last: answers,
            });
        }
        tokio::time::sleep(config.interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_bad_input() {
        let cfg = VerifyConfig::spec(vec![]);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(
            verify_a_record(&cfg, "a.example.com", ip, |_, _| {}).await,
            Err(VerifyError::NoNameservers)
        );
        assert!(matches!(
            verify_a_record(&cfg, "bad name", ip, |_, _| {}).await,
            Err(VerifyError::InvalidHostname(_))
        ));
    }

    #[tokio::test]
    async fn silent_nameserver_times_out_on_schedule() {
        // A bound UDP socket that never answers: every query times out.
        let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let cfg = VerifyConfig {
            nameservers: vec![sock.local_addr().unwrap()],
            interval: Duration::from_millis(200),
            timeout: Duration::from_millis(900),
            query_timeout: Duration::from_millis(100),
        };
        let mut seen = 0;
        let out = verify_a_record(
            &cfg,
            "a.example.com",
            "127.0.0.1".parse().unwrap(),
            |n, _| seen = n,
        )
        .await
        .unwrap();
        let VerifyOutcome::TimedOut {
            elapsed,
            attempts,
            last,
        } = out
        else {
            panic!("verified against a silent server");
        };
        assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
        assert!(attempts >= 2, "{attempts}");
        assert_eq!(seen, attempts);
        assert!(matches!(last[0].1, Answer::Failed(_)), "{last:?}");
    }
}
