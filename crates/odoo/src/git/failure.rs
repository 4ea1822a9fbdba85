//! A failed clone, classified from git's own output into the spec's message and
//! structured `data` (`git_url`, `branch`, `error`, `git_provider`, `error_code`).

use serde_json::{Value, json};

use super::remote::Remote;

/// Why a clone failed, in the words the log shows after "Failed to clone repository: ".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloneFailure {
    AuthenticationFailed,
    RepositoryNotFound,
    BranchNotFound,
    HostUnreachable,
    TimedOut,
    Other,
}

impl CloneFailure {
    /// Reads git's stderr.
    pub fn classify(output: &str) -> Self {
        let s = output.to_ascii_lowercase();
        if s.contains("authentication failed")
            || s.contains("could not read username")
            || s.contains("could not read password")
            || s.contains("terminal prompts disabled")
            || s.contains("access denied")
            || s.contains("returned error: 401")
            || s.contains("returned error: 403")
        {
            CloneFailure::AuthenticationFailed
        } else if (s.contains("remote branch") && s.contains("not found"))
            || s.contains("couldn't find remote ref")
        {
            CloneFailure::BranchNotFound
        } else if s.contains("repository not found")
            || s.contains("returned error: 404")
            || s.contains("does not appear to be a git repository")
            || (s.contains("repository") && s.contains("not found"))
        {
            CloneFailure::RepositoryNotFound
        } else if s.contains("could not resolve host")
            || s.contains("failed to connect")
            || s.contains("connection refused")
            || s.contains("no route to host")
        {
            CloneFailure::HostUnreachable
        } else if s.contains("timed out") || s.contains("timeout") {
            CloneFailure::TimedOut
        } else {
            CloneFailure::Other
        }
    }

    /// The reason as the log line ends: "Authentication failed", …
    pub fn reason(self) -> &'static str {
        match self {
            CloneFailure::AuthenticationFailed => "Authentication failed",
            CloneFailure::RepositoryNotFound => "Repository not found",
            CloneFailure::BranchNotFound => "Branch not found",
            CloneFailure::HostUnreachable => "Git host unreachable",
            CloneFailure::TimedOut => "Timed out",
            CloneFailure::Other => "git clone failed",
        }
    }

    /// The machine-readable code, as the engine's error codes spell them.
    pub fn error_code(self) -> &'static str {
        match self {
            CloneFailure::AuthenticationFailed => "AUTH_FAILED",
            CloneFailure::RepositoryNotFound | CloneFailure::BranchNotFound => {
                "REPOSITORY_NOT_FOUND"
            }
            CloneFailure::HostUnreachable => "HOST_UNREACHABLE",
            CloneFailure::TimedOut => "TIMEOUT",
            CloneFailure::Other => "COMMAND_FAILED",
        }
    }

    /// "Failed to clone repository: Authentication failed".
    pub fn message(self) -> String {
        format!("Failed to clone repository: {}", self.reason())
    }
}

/// The most telling line of git's output: the last `fatal:` line, else the last
/// non-empty one.
pub fn error_line(output: &str) -> String {
    let lines: Vec<&str> = crate::diagnostics::non_empty_lines(output)
        .into_iter()
        .map(str::trim_start)
        .collect();
    lines
        .iter()
        .rev()
        .find(|l| l.starts_with("fatal:"))
        .or(lines.last())
        .copied()
        .unwrap_or("git exited without output")
        .to_owned()
}

/// The spec's `data` for a failed clone: `git_url` (without credentials), `branch`,
/// `error` (git's own line), `git_provider`, and `error_code`.
pub fn error_data(remote: &Remote, branch: &str, output: &str) -> Value {
    json!({
        "git_url": remote.clean_url(),
        "branch": branch,
        "error": error_line(output),
        "git_provider": remote.provider().as_str(),
        "error_code": CloneFailure::classify(output).error_code(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_git_output() {
        let auth = "Cloning into '/d'...\nremote: Invalid username or password.\nfatal: Authentication failed for 'https://github.com/myorg/private-repo.git/'\n";
        assert_eq!(
            CloneFailure::classify(auth),
            CloneFailure::AuthenticationFailed
        );
        assert_eq!(
            CloneFailure::classify(
                "fatal: could not read Username for 'https://h': terminal prompts disabled"
            ),
            CloneFailure::AuthenticationFailed
        );
        assert_eq!(
            CloneFailure::classify(
                "warning: Could not find remote branch nope to clone.\nfatal: Remote branch nope not found in upstream origin"
            ),
            CloneFailure::BranchNotFound
        );
        assert_eq!(
            CloneFailure::classify(
                "remote: Repository not found.\nfatal: repository 'https://github.com/a/b/' not found"
            ),
            CloneFailure::RepositoryNotFound
        );
        assert_eq!(
            CloneFailure::classify(
                "fatal: unable to access 'https://x/': Could not resolve host: x"
            ),
            CloneFailure::HostUnreachable
        );
        assert_eq!(CloneFailure::classify("something odd"), CloneFailure::Other);
        assert_eq!(
            CloneFailure::AuthenticationFailed.message(),
            "Failed to clone repository: Authentication failed"
        );
    }

    #[test]
    fn spec_error_data() {
        let r = Remote::parse("https://github.com/myorg/private-repo.git").unwrap();
        let out = "Cloning into 'x'...\nfatal: Authentication failed for 'https://github.com/myorg/private-repo.git'\n";
        assert_eq!(
            error_data(&r, "main", out),
            json!({
                "git_url": "https://github.com/myorg/private-repo.git",
                "branch": "main",
                "error": "fatal: Authentication failed for 'https://github.com/myorg/private-repo.git'",
                "git_provider": "github",
                "error_code": "AUTH_FAILED"
            })
        );
        assert_eq!(error_line(""), "git exited without output");
        assert_eq!(error_line("a\nb\n\n"), "b");
    }
}
