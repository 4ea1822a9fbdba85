//! `apt.txt` and `requirements.txt`: parsed, validated against strict patterns before
//! anything can reach a shell, merged across repositories, hashed so an unchanged set
//! is not installed twice, and turned into the installers' argument vectors.
//!
//! Installed packages live in the Odoo container, which every deployment replaces.
//! So after installing, the stage commits the container as the image
//! `paasportal/deps-{env_uuid}:{hash}` (see [`crate::naming::EnvNames::deps_image`]);
//! a redeploy whose dependency hash names an existing image starts Odoo from it, and the
//! installation is skipped ("Dependencies unchanged, skipped"). The hash covers the
//! base image id too, so a new Odoo image reinstalls.

use sha2::{Digest, Sha256};

use crate::docker_args::odoo::exec_root;
use crate::docker_args::{Argv, argv};
use crate::naming::EnvNames;

/// The dependency file names looked for at the top of every cloned repository.
pub const APT_FILE: &str = "apt.txt";
/// See [`APT_FILE`].
pub const PIP_FILE: &str = "requirements.txt";

const MAX_SPEC_LEN: usize = 200;

/// A dependency line that was refused, naming the file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} line {line}: {reason}: {text:?}")]
pub struct DependencyError {
    /// The repository and file, e.g. `my-project/requirements.txt`.
    pub file: String,
    /// 1-based.
    pub line: usize,
    pub text: String,
    pub reason: &'static str,
}

/// One validated package requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// As written (without comments or surrounding blanks): what the installer receives.
    pub spec: String,
    /// The normalised name: two specs with the same name are the same package.
    pub name: String,
}

/// Strips a `#` comment: at the start of the line or after a blank, as pip does.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

fn err(file: &str, line: usize, text: &str, reason: &'static str) -> DependencyError {
    DependencyError {
        file: file.to_owned(),
        line,
        text: text.to_owned(),
        reason,
    }
}

/// Parses `apt.txt`: Debian package names, blank-separated, one or more per line,
/// optionally `:arch` and `=version`; `#` comments and blank lines ignored.
pub fn parse_apt(file: &str, content: &str) -> Result<Vec<Package>, DependencyError> {
    let mut out = Vec::new();
    for (i, raw) in content.lines().enumerate() {
        for word in strip_comment(raw).split_whitespace() {
            let name = apt_name(word).ok_or_else(|| {
                err(
                    file,
                    i + 1,
                    word,
                    "not a Debian package name (expected e.g. libldap2-dev or pkg=1.2-3)",
                )
            })?;
            out.push(Package {
                spec: word.to_owned(),
                name,
            });
        }
    }
    Ok(out)
}

/// The lower-case package name of a valid apt spec `name[:arch][=version]`.
fn apt_name(word: &str) -> Option<String> {
    if word.len() > MAX_SPEC_LEN {
        return None;
    }
    let (head, version) = match word.split_once('=') {
        Some((h, v)) => (h, Some(v)),
        None => (word, None),
    };
    let (name, arch) = match head.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (head, None),
    };
    let b = name.as_bytes();
    let name_ok = b.len() >= 2
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'+' | b'.' | b'-')
        });
    let arch_ok = arch.is_none_or(|a| {
        !a.is_empty()
            && a.as_bytes()[0].is_ascii_alphanumeric()
            && a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    });
    let version_ok = version.is_none_or(|v| {
        !v.is_empty()
            && v.as_bytes()[0].is_ascii_alphanumeric()
            && v.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'~' | b':' | b'-'))
    });
    (name_ok && arch_ok && version_ok).then(|| name.to_owned())
}

/// Parses `requirements.txt`: one requirement per line,
/// `name[extras] specifiers[; marker]`, `#` comments and blank lines ignored. Options
/// (`-r`, `-e`, `--hash`), URLs and line continuations are refused.
pub fn parse_requirements(file: &str, content: &str) -> Result<Vec<Package>, DependencyError> {
    let mut out = Vec::new();
    for (i, raw) in content.lines().enumerate() {
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let e = |reason| err(file, i + 1, line, reason);
        if line.starts_with('-') {
            return Err(e(
                "pip options (-r, -e, --index-url, --hash …) are not supported",
            ));
        }
        if line.ends_with('\\') {
            return Err(e("line continuations are not supported"));
        }
        if line.len() > MAX_SPEC_LEN {
            return Err(e("requirement is too long"));
        }
        let name = pip_requirement(line).map_err(e)?;
        out.push(Package {
            spec: line.to_owned(),
            name,
        });
    }
    Ok(out)
}

/// Validates one requirement; returns its PEP 503 normalised name.
fn pip_requirement(line: &str) -> Result<String, &'static str> {
    let (req, marker) = match line.split_once(';') {
        Some((r, m)) => (r.trim(), Some(m.trim())),
        None => (line, None),
    };
    if let Some(m) = marker {
        let ok = !m.is_empty()
            && m.bytes().all(|c| {
                c.is_ascii_alphanumeric()
                    || matches!(
                        c,
                        b' ' | b'_'
                            | b'.'
                            | b'<'
                            | b'>'
                            | b'='
                            | b'!'
                            | b'~'
                            | b'\''
                            | b'"'
                            | b'('
                            | b')'
                            | b'-'
                    )
            });
        if !ok {
            return Err("environment marker has characters outside the allowed set");
        }
    }
    if req.contains("://") || req.contains(" @ ") || req.contains('@') {
        return Err("direct references (URLs) are not supported; name a package and a version");
    }
    let b = req.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'.' | b'_' | b'-')) {
        i += 1;
    }
    let name = &req[..i];
    if name.is_empty()
        || !b[0].is_ascii_alphanumeric()
        || !name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
    {
        return Err("not a Python package name");
    }
    let mut rest = req[i..].trim_start();
    if let Some(after) = rest.strip_prefix('[') {
        let (extras, tail) = after.split_once(']').ok_or("unclosed extras bracket")?;
        let ok = extras.split(',').map(str::trim).all(|x| {
            !x.is_empty()
                && x.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
        });
        if !ok {
            return Err("extras must be package-like names separated by commas");
        }
        rest = tail.trim_start();
    }
    if !rest.is_empty() {
        for clause in rest.split(',') {
            let clause = clause.trim();
            let op_len = ["===", "~=", "==", "!=", "<=", ">=", "<", ">"]
                .iter()
                .find(|op| clause.starts_with(**op))
                .map(|op| op.len())
                .ok_or("version specifier must start with ==, >=, <=, ~=, !=, <, > or ===")?;
            let version = clause[op_len..].trim();
            let ok = !version.is_empty()
                && version.as_bytes()[0].is_ascii_alphanumeric()
                && version.bytes().all(|c| {
                    c.is_ascii_alphanumeric()
                        || matches!(c, b'.' | b'*' | b'+' | b'!' | b'_' | b'-')
                });
            if !ok {
                return Err("not a version");
            }
        }
    }
    Ok(normalize_pip(name))
}

/// PEP 503: lower case, runs of `-`, `_`, `.` become one `-`.
fn normalize_pip(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The dependency files found in one repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoDeps {
    /// The repository's directory name.
    pub repo: String,
    pub apt: Vec<Package>,
    pub pip: Vec<Package>,
}

/// Every repository's dependencies merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergedDeps {
    pub apt: Vec<String>,
    pub pip: Vec<String>,
    /// Repositories that contributed at least one package, in scan order.
    pub sources: Vec<String>,
    /// `name: spec from repo overrides spec from repo`, for each conflict resolved.
    pub conflicts: Vec<String>,
}

/// Merges repositories given in scan order (platform, organization, project primary,
/// project additional). A package keeps its first position; when two repositories
/// ask for it differently, the later one wins, as a later repository also wins in
/// `addons_path`.
pub fn merge(repos: &[RepoDeps]) -> MergedDeps {
    fn add(
        list: &mut Vec<(Package, String)>,
        conflicts: &mut Vec<String>,
        p: &Package,
        repo: &str,
    ) {
        match list.iter_mut().find(|(q, _)| q.name == p.name) {
            Some((q, from)) if q.spec != p.spec => {
                conflicts.push(format!(
                    "{}: {} from {repo} overrides {} from {from}",
                    p.name, p.spec, q.spec
                ));
                *q = p.clone();
                *from = repo.to_owned();
            }
            Some(_) => {}
            None => list.push((p.clone(), repo.to_owned())),
        }
    }
    let mut apt = Vec::new();
    let mut pip = Vec::new();
    let mut m = MergedDeps::default();
    for r in repos {
        if r.apt.is_empty() && r.pip.is_empty() {
            continue;
        }
        m.sources.push(r.repo.clone());
        for p in &r.apt {
            add(&mut apt, &mut m.conflicts, p, &r.repo);
        }
        for p in &r.pip {
            add(&mut pip, &mut m.conflicts, p, &r.repo);
        }
    }
    m.apt = apt.into_iter().map(|(p, _)| p.spec).collect();
    m.pip = pip.into_iter().map(|(p, _)| p.spec).collect();
    m
}

impl MergedDeps {
    /// True when no repository asks for anything.
    pub fn is_empty(&self) -> bool {
        self.apt.is_empty() && self.pip.is_empty()
    }

    /// A stable hex SHA-256 of the merged lists and the base image id: equal exactly
    /// when the same packages would be installed into the same image.
    pub fn content_hash(&self, base_image_id: &str) -> String {
        let mut h = Sha256::new();
        h.update(b"paasportal-deps-v1\0");
        h.update(base_image_id.as_bytes());
        h.update(b"\0apt\0");
        for s in &self.apt {
            h.update(s.as_bytes());
            h.update(b"\0");
        }
        h.update(b"\0pip\0");
        for s in &self.pip {
            h.update(s.as_bytes());
            h.update(b"\0");
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// `cat -- FILE` for each dependency file of a repository: the stage reads them on
/// the server; a missing file (exit 1, "No such file") means none.
pub fn read_files(names: &EnvNames, slug: &str) -> [(&'static str, Argv); 2] {
    let dir = names.repo_dir(slug);
    [
        (
            APT_FILE,
            argv([
                "cat".to_owned(),
                "--".to_owned(),
                format!("{dir}/{APT_FILE}"),
            ]),
        ),
        (
            PIP_FILE,
            argv([
                "cat".to_owned(),
                "--".to_owned(),
                format!("{dir}/{PIP_FILE}"),
            ]),
        ),
    ]
}

/// `apt-get update` as root in the Odoo container (the image ships without package lists).
pub fn apt_update(names: &EnvNames) -> Argv {
    exec_root(
        names,
        &[("DEBIAN_FRONTEND", "noninteractive")],
        &["apt-get", "update"],
    )
}

/// `apt-get install -y --no-install-recommends PKG…` as root in the Odoo container.
pub fn apt_install(names: &EnvNames, packages: &[String]) -> Argv {
    let mut cmd = vec!["apt-get", "install", "-y", "--no-install-recommends"];
    cmd.extend(packages.iter().map(String::as_str));
    exec_root(names, &[("DEBIAN_FRONTEND", "noninteractive")], &cmd)
}

/// `pip3 install --no-cache-dir REQ…` as root in the Odoo container, allowed to install
/// into the system Python of images that follow PEP 668 (Odoo 18 on Ubuntu 24.04).
pub fn pip_install(names: &EnvNames, requirements: &[String]) -> Argv {
    let mut cmd = vec!["pip3", "install", "--no-cache-dir"];
    cmd.extend(requirements.iter().map(String::as_str));
    exec_root(names, &[("PIP_BREAK_SYSTEM_PACKAGES", "1")], &cmd)
}

/// `docker commit CONTAINER paasportal/deps-{env_uuid}:{hash}`: keeps the installed
/// packages for the next deployment.
pub fn commit_image(names: &EnvNames, hash: &str) -> Argv {
    argv([
        "docker".to_owned(),
        "commit".to_owned(),
        names.odoo_container(),
        names.deps_image(hash),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::BaseDir;

    #[test]
    fn apt_files() {
        let p = parse_apt(
            "r/apt.txt",
            "# system packages\npostgresql-client\n\nlibldap2-dev libsasl2-dev # ldap\nlibfoo:amd64=1.2-3~bpo1 \n",
        )
        .unwrap();
        let specs: Vec<_> = p.iter().map(|p| p.spec.as_str()).collect();
        assert_eq!(
            specs,
            [
                "postgresql-client",
                "libldap2-dev",
                "libsasl2-dev",
                "libfoo:amd64=1.2-3~bpo1"
            ]
        );
        assert_eq!(p[3].name, "libfoo");
        for bad in [
            "-o=APT::x",
            "$(id)",
            "foo;bar",
            "Foo",
            "a",
            "foo=",
            "foo|bar",
            "pkg`x`",
            "x:=1",
        ] {
            let e = parse_apt("r/apt.txt", &format!("ok-pkg\n{bad}\n")).unwrap_err();
            assert_eq!(e.line, 2, "{bad}");
            assert_eq!(e.file, "r/apt.txt");
        }
    }

    #[test]
    fn requirements_files() {
        let p = parse_requirements(
            "r/requirements.txt",
            "python-ldap==3.4.3\nrequests-oauthlib==1.3.1  # oauth\n\n# c\nstripe==5.4.0\n\
             Pillow[tiff, webp] >= 9.0, <11\nphonenumbers ; python_version < \"3.12\"\nzope.interface~=6.0\n",
        )
        .unwrap();
        let names: Vec<_> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "python-ldap",
                "requests-oauthlib",
                "stripe",
                "pillow",
                "phonenumbers",
                "zope-interface"
            ]
        );
        assert_eq!(p[3].spec, "Pillow[tiff, webp] >= 9.0, <11");
        let cases = [
            "-r other.txt",
            "--index-url http://evil",
            "-e git+https://x/y.git",
            "pkg @ https://x/y.whl",
            "https://x/y.whl",
            "foo==1.0 \\",
            "foo==$(id)",
            "foo; os.system('x') && `y`",
            "foo bar",
            "foo==",
            "foo[a b]",
            ".foo",
            "foo=1",
        ];
        for bad in cases {
            let e = parse_requirements("r/requirements.txt", &format!("ok\n{bad}\n")).unwrap_err();
            assert_eq!(e.line, 2, "{bad}: {e}");
        }
        let e = parse_requirements("my-project/requirements.txt", "foo==$(id)").unwrap_err();
        assert_eq!(
            e.to_string(),
            "my-project/requirements.txt line 1: not a version: \"foo==$(id)\""
        );
    }

    fn pkgs(specs: &[&str], pip: bool) -> Vec<Package> {
        let text = specs.join("\n");
        if pip {
            parse_requirements("f", &text).unwrap()
        } else {
            parse_apt("f", &text).unwrap()
        }
    }

    #[test]
    fn merge_dedupes_and_later_wins() {
        let repos = [
            RepoDeps {
                repo: "platform-integrations".into(),
                apt: pkgs(&["libldap2-dev", "wkhtmltopdf"], false),
                pip: pkgs(&["python-ldap==3.4.3", "stripe==5.4.0"], true),
            },
            RepoDeps {
                repo: "org-theme".into(),
                ..Default::default()
            },
            RepoDeps {
                repo: "my-project".into(),
                apt: pkgs(&["libldap2-dev", "postgresql-client"], false),
                pip: pkgs(&["Stripe==6.0.0", "requests-oauthlib==1.3.1"], true),
            },
        ];
        let m = merge(&repos);
        assert_eq!(m.sources, ["platform-integrations", "my-project"]);
        assert_eq!(m.apt, ["libldap2-dev", "wkhtmltopdf", "postgresql-client"]);
        assert_eq!(
            m.pip,
            [
                "python-ldap==3.4.3",
                "Stripe==6.0.0",
                "requests-oauthlib==1.3.1"
            ]
        );
        assert_eq!(
            m.conflicts,
            [
                "stripe: Stripe==6.0.0 from my-project overrides stripe==5.4.0 from platform-integrations"
            ]
        );
        let h = m.content_hash("sha256:abc");
        assert_eq!(h.len(), 64);
        assert_eq!(h, merge(&repos).content_hash("sha256:abc"));
        assert_ne!(h, m.content_hash("sha256:def"));
        let mut other = m.clone();
        other.pip.pop();
        assert_ne!(h, other.content_hash("sha256:abc"));
        // Moving a package between lists changes the hash.
        let a = MergedDeps {
            apt: vec!["x1".into()],
            ..Default::default()
        };
        let b = MergedDeps {
            pip: vec!["x1".into()],
            ..Default::default()
        };
        assert_ne!(a.content_hash(""), b.content_hash(""));
        assert!(merge(&[]).is_empty());
    }

    #[test]
    fn installer_commands() {
        let n = EnvNames::new(uuid::Uuid::nil(), BaseDir::default(), false);
        let c = n.odoo_container();
        assert_eq!(
            apt_install(&n, &["libldap2-dev".into(), "libsasl2-dev".into()]),
            [
                "docker",
                "exec",
                "--user",
                "root",
                "-e",
                "DEBIAN_FRONTEND=noninteractive",
                &c,
                "apt-get",
                "install",
                "-y",
                "--no-install-recommends",
                "libldap2-dev",
                "libsasl2-dev"
            ]
        );
        let pip = pip_install(&n, &["stripe==5.4.0".into()]);
        assert!(pip.contains(&"PIP_BREAK_SYSTEM_PACKAGES=1".to_owned()));
        assert_eq!(
            &pip[pip.len() - 4..],
            ["pip3", "install", "--no-cache-dir", "stripe==5.4.0"]
        );
        assert_eq!(apt_update(&n).last().unwrap(), "update");
        let [(f1, a1), (f2, _)] = read_files(&n, "my-project");
        assert_eq!((f1, f2), ("apt.txt", "requirements.txt"));
        assert_eq!(
            a1[2],
            format!("/opt/paasportal/{}/addons/my-project/apt.txt", n.env_uuid())
        );
        assert_eq!(
            commit_image(&n, "ab")[3],
            format!("paasportal/deps-{}:ab", n.env_uuid())
        );
    }
}
