//! The Odoo image: its reference, whether it must be pulled, and the pull with an
//! optional registry login that leaves no credentials on the server.
//!
//! With credentials the stage logs in with `docker --config DIR login
//! --password-stdin` into a fresh temporary directory, pulls with the same
//! `--config`, then removes the directory: the password never appears in an argument
//! and the server's own Docker configuration never holds it.

use super::{Argv, argv};

/// Why an image reference was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error(
        "image reference {0:?} is not valid (expected e.g. odoo:18.0 or registry.example.com/namespace/odoo:18.0)"
    )]
    Invalid(String),
}

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The registry host (with port), `None` for Docker Hub.
    pub registry: Option<String>,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses `[registry/]repository[:tag][@digest]`.
    pub fn parse(image: &str) -> Result<Self, ImageError> {
        let bad = || ImageError::Invalid(image.to_owned());
        let ok_chars = image.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b':' | b'@')
        });
        if image.is_empty()
            || image.len() > 512
            || !ok_chars
            || !image.as_bytes()[0].is_ascii_alphanumeric()
        {
            return Err(bad());
        }
        let (rest, digest) = match image.split_once('@') {
            Some((r, d)) if d.contains(':') && !d.contains('/') => (r, Some(d.to_owned())),
            Some(_) => return Err(bad()),
            None => (image, None),
        };
        let (name, tag) = match rest.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, Some(t.to_owned())),
            _ => (rest, None),
        };
        if tag.as_deref() == Some("") || name.is_empty() || name.ends_with('/') {
            return Err(bad());
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, repo))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_owned()), repo.to_owned())
            }
            _ => (None, name.to_owned()),
        };
        if repository.is_empty()
            || repository.split('/').any(|c| c.is_empty())
            || repository.bytes().any(|b| b.is_ascii_uppercase())
        {
            return Err(bad());
        }
        Ok(ImageRef {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The registry to log in to: its host, or `docker.io`.
    pub fn registry_host(&self) -> &str {
        self.registry.as_deref().unwrap_or("docker.io")
    }

    /// True for an untagged, undigested reference or the tag `latest`: such an image
    /// is pulled even when present, since the tag may have moved.
    pub fn is_latest(&self) -> bool {
        self.digest.is_none() && matches!(self.tag.as_deref(), None | Some("latest"))
    }

    /// The version shown in "Pulling Odoo 18.0 image...": the tag, else `latest`.
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }
}

/// Whether the stage pulls: when the image is absent, or its tag is `latest`.
pub fn needs_pull(image: &ImageRef, present: bool) -> bool {
    !present || image.is_latest()
}

/// `docker image inspect --format {{.Id}} IMAGE`: succeeds (printing the id) when present.
pub fn inspect(image: &str) -> Argv {
    argv(["docker", "image", "inspect", "--format", "{{.Id}}", image])
}

/// `mktemp -d`: a private directory for a one-off Docker client configuration.
pub fn config_dir_create() -> Argv {
    argv(["mktemp", "-d", "-t", "paasportal-docker.XXXXXXXXXX"])
}

/// `rm -rf -- DIR`: removes the one-off configuration, and the credentials in it.
pub fn config_dir_remove(dir: &str) -> Argv {
    argv(["rm", "-rf", "--", dir])
}

/// A registry login: the arguments, and the password to write to its standard input.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryLogin {
    pub argv: Argv,
    pub stdin: String,
}

impl std::fmt::Debug for RegistryLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryLogin")
            .field("argv", &self.argv)
            .field("stdin", &"***")
            .finish()
    }
}

/// `docker --config DIR login --username USER --password-stdin REGISTRY`.
pub fn login(config_dir: &str, image: &ImageRef, username: &str, password: &str) -> RegistryLogin {
    RegistryLogin {
        argv: argv([
            "docker",
            "--config",
            config_dir,
            "login",
            "--username",
            username,
            "--password-stdin",
            image.registry_host(),
        ]),
        stdin: password.to_owned(),
    }
}

/// `docker [--config DIR] pull IMAGE`.
pub fn pull(image: &str, config_dir: Option<&str>) -> Argv {
    let mut a = argv(["docker"]);
    if let Some(dir) = config_dir {
        a.extend(argv(["--config", dir]));
    }
    a.extend(argv(["pull", image]));
    a
}

/// The registry's own words from a failed pull's output: the last
/// `Error response from daemon: …` (or `error …`) line, else the last non-empty line.
pub fn pull_error(output: &str) -> String {
    let lines: Vec<&str> = crate::diagnostics::non_empty_lines(output)
        .into_iter()
        .map(str::trim_start)
        .collect();
    lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("Error response from daemon: "))
        .or_else(|| {
            lines
                .iter()
                .rev()
                .find(|l| l.to_ascii_lowercase().starts_with("error"))
                .copied()
        })
        .or_else(|| lines.last().copied())
        .unwrap_or("docker pull failed without output")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r = ImageRef::parse("odoo:18.0").unwrap();
        assert_eq!(r.registry, None);
        assert_eq!(r.repository, "odoo");
        assert_eq!(r.tag.as_deref(), Some("18.0"));
        assert_eq!(r.registry_host(), "docker.io");
        assert!(!r.is_latest());

        let r = ImageRef::parse("registry.example.com:5000/namespace/odoo:18.0").unwrap();
        assert_eq!(r.registry.as_deref(), Some("registry.example.com:5000"));
        assert_eq!(r.repository, "namespace/odoo");
        assert_eq!(r.tag_or_latest(), "18.0");

        let r = ImageRef::parse("paasportal/odoo-standin").unwrap();
        assert_eq!(r.registry, None);
        assert!(r.is_latest());
        assert!(ImageRef::parse("odoo:latest").unwrap().is_latest());
        assert!(!ImageRef::parse("odoo@sha256:abc").unwrap().is_latest());
        assert_eq!(
            ImageRef::parse("localhost/x:1")
                .unwrap()
                .registry
                .as_deref(),
            Some("localhost")
        );

        for bad in [
            "",
            "-odoo",
            "odoo:",
            "odoo;rm -rf /",
            "Odoo:18",
            "a//b",
            "odoo:18.0 --privileged",
            "x/",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pull_policy() {
        let pinned = ImageRef::parse("odoo:18.0").unwrap();
        assert!(!needs_pull(&pinned, true));
        assert!(needs_pull(&pinned, false));
        assert!(needs_pull(&ImageRef::parse("odoo:latest").unwrap(), true));
    }

    #[test]
    fn login_keeps_the_password_off_the_command_line() {
        let r = ImageRef::parse("registry.example.com/ns/odoo:18.0").unwrap();
        let l = login("/tmp/d", &r, "bot", "hunter2");
        assert!(!l.argv.iter().any(|a| a.contains("hunter2")));
        assert_eq!(l.stdin, "hunter2");
        assert_eq!(l.argv.last().unwrap(), "registry.example.com");
        assert!(!format!("{l:?}").contains("hunter2"));
        assert_eq!(
            pull("odoo:18.0", Some("/tmp/d")),
            ["docker", "--config", "/tmp/d", "pull", "odoo:18.0"]
        );
        assert_eq!(pull("odoo:18.0", None), ["docker", "pull", "odoo:18.0"]);
    }

    #[test]
    fn registry_message() {
        let out = "Using default tag: latest\nError response from daemon: pull access denied for registry.example.com/odoo, repository does not exist or may require 'docker login'\n";
        assert_eq!(
            pull_error(out),
            "pull access denied for registry.example.com/odoo, repository does not exist or may require 'docker login'"
        );
        assert_eq!(
            pull_error("foo\nerror pulling image configuration: x\n"),
            "error pulling image configuration: x"
        );
        assert_eq!(pull_error(""), "docker pull failed without output");
    }
}
