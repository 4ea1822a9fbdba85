//! Test support shared by every crate's integration tests.
//!
//! Tests that need PostgreSQL, Redis or sshd read their addresses from the
//! `PAASPORTAL_TEST_*` variables that `scripts/test` exports. When one is missing the
//! test fails with a message saying so: a missing component is never a silent skip.

mod backends;
pub mod fixtures;
mod pg_cluster;
mod redis_server;
mod tmpfs;

pub use backends::{TestBackend, TestStore};
pub use pg_cluster::PgCluster;
pub use redis_server::RedisServer;
pub use tmpfs::Tmpfs;

/// The value of a required test variable; panics naming the variable and the fix.
pub fn require_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{name} is not set: this test needs a component that scripts/test starts. \
             Run the suite with `scripts/test` (or source scripts/lib/services.sh and start it)."
        ),
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}
