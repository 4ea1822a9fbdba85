//! What can go wrong in the client, worded for the person at the terminal.

/// A client failure.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("not logged in: run `paasportal login --server URL --email EMAIL` first")]
    NotLoggedIn,
    #[error("session expired: run `paasportal login` again")]
    SessionExpired,
    #[error("{status}: {detail}")]
    Api { status: u16, detail: String },
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error("cannot read or write {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

impl CliError {
    /// Maps a transport error, naming the server.
    pub fn unreachable(url: &str, e: reqwest::Error) -> CliError {
        CliError::Unreachable {
            url: url.to_owned(),
            reason: root_cause(&e),
        }
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
