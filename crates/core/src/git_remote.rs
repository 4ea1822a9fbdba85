//! A repository's remote: its clean URL, its provider, and the HTTP authorization a
//! private repository's token becomes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use url::Url;

/// Who hosts a repository, for the error's `data.git_provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitProvider {
    Github,
    Gitlab,
    Bitbucket,
    Other,
}

impl GitProvider {
    /// `github`, `gitlab`, `bitbucket` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            GitProvider::Github => "github",
            GitProvider::Gitlab => "gitlab",
            GitProvider::Bitbucket => "bitbucket",
            GitProvider::Other => "other",
        }
    }

    /// The user name the provider expects beside an access token in HTTP basic auth.
    pub fn token_username(self) -> &'static str {
        match self {
            GitProvider::Gitlab => "oauth2",
            GitProvider::Bitbucket => "x-token-auth",
            GitProvider::Github | GitProvider::Other => "x-access-token",
        }
    }

    fn of_host(host: &str) -> Self {
        let h = host.to_ascii_lowercase();
        let is = |domain: &str| h == domain || h.ends_with(&format!(".{domain}"));
        if is("github.com") {
            GitProvider::Github
        } else if is("gitlab.com") || h.starts_with("gitlab.") {
            GitProvider::Gitlab
        } else if is("bitbucket.org") {
            GitProvider::Bitbucket
        } else {
            GitProvider::Other
        }
    }
}

/// Why a repository URL or branch was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    #[error("repository URL {0:?} is not a valid http(s) URL")]
    InvalidUrl(String),
    #[error(
        "repository URL must not contain credentials: set the repository's access token instead"
    )]
    CredentialsInUrl,
    #[error("branch {0:?} is not a valid git branch name")]
    InvalidBranch(String),
}

/// A repository's remote, without credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    url: String,
    provider: GitProvider,
}

impl Remote {
    /// Parses an `https://` (or `http://`) repository URL. URLs with credentials are
    /// refused so that no token is ever stored in one.
    pub fn parse(raw: &str) -> Result<Self, RemoteError> {
        let invalid = || RemoteError::InvalidUrl(strip_userinfo(raw));
        let url = Url::parse(raw.trim()).map_err(|_| invalid())?;
        if !matches!(url.scheme(), "https" | "http") || url.cannot_be_a_base() {
            return Err(invalid());
        }
        let host = url.host_str().ok_or_else(invalid)?.to_owned();
        if !url.username().is_empty() || url.password().is_some() {
            return Err(RemoteError::CredentialsInUrl);
        }
        if url.query().is_some() || url.fragment().is_some() || url.path().len() <= 1 {
            return Err(invalid());
        }
        Ok(Remote {
            url: url.to_string(),
            provider: GitProvider::of_host(&host),
        })
    }

    /// The URL as stored and shown (`data.git_url`): never carries credentials.
    pub fn clean_url(&self) -> &str {
        &self.url
    }

    /// The hosting provider (`data.git_provider`).
    pub fn provider(&self) -> GitProvider {
        self.provider
    }

    /// `Authorization: Basic …` for `token`, with the provider's token user name.
    pub fn auth_header(&self, token: &str) -> String {
        let pair = format!("{}:{token}", self.provider.token_username());
        format!("Authorization: Basic {}", STANDARD.encode(pair))
    }
}

/// `raw` with anything between `://` and `@` removed, for messages about a bad URL.
pub fn strip_userinfo(raw: &str) -> String {
    match (raw.find("://"), raw.rfind('@')) {
        (Some(s), Some(at)) if at > s && !raw[s + 3..at].contains('/') => {
            format!("{}{}", &raw[..s + 3], &raw[at + 1..])
        }
        _ => raw.to_owned(),
    }
}

/// Validates a branch name: git's ref-name rules, plus no leading `-` (it would be
/// read as an option) and a conservative character set.
pub fn validate_branch(branch: &str) -> Result<(), RemoteError> {
    let bad = || RemoteError::InvalidBranch(branch.to_owned());
    let chars_ok = branch
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b'+'));
    if branch.is_empty()
        || branch.len() > 255
        || !chars_ok
        || branch.starts_with(['-', '/', '.'])
        || branch.ends_with(['/', '.'])
        || branch.ends_with(".lock")
        || branch.contains("..")
        || branch.contains("//")
        || branch.contains("/.")
        || branch == "@"
    {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_and_clean_urls() {
        let r = Remote::parse("https://github.com/myorg/private-repo.git").unwrap();
        assert_eq!(r.provider().as_str(), "github");
        assert_eq!(r.clean_url(), "https://github.com/myorg/private-repo.git");
        assert_eq!(
            Remote::parse("https://gitlab.com/a/b").unwrap().provider(),
            GitProvider::Gitlab
        );
        assert_eq!(
            Remote::parse("https://gitlab.example.com/a/b.git")
                .unwrap()
                .provider(),
            GitProvider::Gitlab
        );
        assert_eq!(
            Remote::parse("https://bitbucket.org/a/b")
                .unwrap()
                .provider(),
            GitProvider::Bitbucket
        );
        assert_eq!(
            Remote::parse("http://127.0.0.1:9418/git/p.git")
                .unwrap()
                .provider(),
            GitProvider::Other
        );
        assert_eq!(
            Remote::parse("https://notgithub.com/a/b")
                .unwrap()
                .provider(),
            GitProvider::Other
        );
    }

    #[test]
    fn refused_urls() {
        assert_eq!(
            Remote::parse("https://ghp_secret@github.com/o/r.git"),
            Err(RemoteError::CredentialsInUrl)
        );
        assert_eq!(
            Remote::parse("https://u:p@github.com/o/r.git"),
            Err(RemoteError::CredentialsInUrl)
        );
        for bad in [
            "git@github.com:o/r.git",
            "ssh://github.com/o/r",
            "file:///etc",
            "https://github.com",
            "not a url",
            "https://h/r?x=1",
            "ext::sh -c id",
        ] {
            assert!(
                matches!(Remote::parse(bad), Err(RemoteError::InvalidUrl(_))),
                "{bad}"
            );
        }
        let e = Remote::parse("ftp://tok@h/x").unwrap_err();
        assert!(!e.to_string().contains("tok"), "{e}");
    }

    #[test]
    fn auth_header_uses_the_provider_user() {
        let r = Remote::parse("https://github.com/o/r.git").unwrap();
        assert_eq!(
            r.auth_header("t0k"),
            format!(
                "Authorization: Basic {}",
                STANDARD.encode("x-access-token:t0k")
            )
        );
        let g = Remote::parse("https://gitlab.com/o/r.git").unwrap();
        assert!(g.auth_header("t").ends_with(&STANDARD.encode("oauth2:t")));
    }

    #[test]
    fn branches() {
        for ok in ["main", "17.0", "feature/x-1", "release/17.0+fix", "v1_2"] {
            validate_branch(ok).unwrap();
        }
        for bad in [
            "",
            "-x",
            "--upload-pack=id",
            "a..b",
            "a/",
            "/a",
            "a.lock",
            "a b",
            "a~1",
            "a^",
            "a:b",
            "$(id)",
            ".hidden",
            "a//b",
            "a/.b",
            "@",
        ] {
            assert!(validate_branch(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn userinfo_stripping() {
        assert_eq!(strip_userinfo("https://tok@h/x"), "https://h/x");
        assert_eq!(strip_userinfo("https://h/x@y"), "https://h/x@y");
        assert_eq!(strip_userinfo("plain"), "plain");
    }
}
