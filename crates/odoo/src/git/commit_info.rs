//! The project repository's commit, captured onto the deployment (the spec's `git_*` fields).

use chrono::{DateTime, Utc};
use paasportal_core::GitInfo;

/// Why `git log` output could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected `git log` output: {0:?}")]
pub struct CommitInfoError(pub String);

/// Parses the output of [`super::commands::last_commit`] for a checkout of `branch`.
pub fn parse(output: &str, branch: &str) -> Result<GitInfo, CommitInfoError> {
    let line = output.trim_end_matches(['\n', '\r']);
    let fields: Vec<&str> = line.split('\u{1f}').collect();
    let [sha, subject, name, email, date] = fields[..] else {
        return Err(CommitInfoError(output.to_owned()));
    };
    if sha.len() < 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CommitInfoError(output.to_owned()));
    }
    let commit_date = DateTime::parse_from_rfc3339(date)
        .map(|d| d.with_timezone(&Utc))
        .ok();
    Ok(GitInfo {
        git_commit: sha.to_owned(),
        git_message: subject.to_owned(),
        git_branch: branch.to_owned(),
        committer_name: name.to_owned(),
        committer_email: email.to_owned(),
        commit_date,
    })
}

/// The spec's line: "Commit: a3b2c1d by John Doe - Add customer portal module".
pub fn log_line(info: &GitInfo) -> String {
    let short: String = info.git_commit.chars().take(7).collect();
    format!(
        "Commit: {short} by {} - {}",
        info.committer_name, info.git_message
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_git_log() {
        let out = "a3b2c1d4e5f60718293a4b5c6d7e8f9012345678\u{1f}Add customer portal module\u{1f}John Doe\u{1f}john@example.com\u{1f}2025-01-08T16:32:15+02:00\n";
        let i = parse(out, "main").unwrap();
        assert_eq!(i.git_commit, "a3b2c1d4e5f60718293a4b5c6d7e8f9012345678");
        assert_eq!(i.git_message, "Add customer portal module");
        assert_eq!(i.git_branch, "main");
        assert_eq!(i.committer_name, "John Doe");
        assert_eq!(i.committer_email, "john@example.com");
        assert_eq!(
            i.commit_date.unwrap().to_rfc3339(),
            "2025-01-08T14:32:15+00:00"
        );
        assert_eq!(
            log_line(&i),
            "Commit: a3b2c1d by John Doe - Add customer portal module"
        );
        assert!(parse("garbage", "main").is_err());
        assert!(parse("zz\u{1f}a\u{1f}b\u{1f}c\u{1f}d", "main").is_err());
    }
}
