//! Clone, fetch and reset as argument vectors, run on the target server.
//!
//! A private repository's token never enters a URL, an argument of `git`, or a file:
//! the commands start with `env`, which puts three variables into git's environment
//! (`GIT_CONFIG_COUNT=1`, `GIT_CONFIG_KEY_0=http.<url>.extraHeader`,
//! `GIT_CONFIG_VALUE_0=Authorization: Basic …`). Git reads configuration from them
//! (git 2.31 and later) and sends the header only to that repository's URL; nothing is
//! written to `.git/config`, so no clean-up step can be forgotten or interrupted. A
//! token in the URL (the spec's `https://{token}@…`) would be stored in
//! `.git/config` by `git clone` and shown by git in its own messages, and
//! `git -c http.extraHeader=…` would keep it on git's command line for the whole clone.
//!
//! `credential.helper` is emptied and `GIT_TERMINAL_PROMPT=0` set, so a wrong or missing
//! token fails at once instead of waiting at a prompt or being stored by a helper.

use super::remote::Remote;
use crate::docker_args::{Argv, argv};

/// The `git log` format [`super::commit_info::parse`] reads: fields separated by 0x1f.
pub const LOG_FORMAT: &str = "--format=%H%x1f%s%x1f%cn%x1f%ce%x1f%cI";

/// `env GIT_TERMINAL_PROMPT=0 [auth…] git -c credential.helper=`: the common prefix.
fn git(remote: &Remote, token: Option<&str>) -> Argv {
    let mut a = argv(["env", "GIT_TERMINAL_PROMPT=0"]);
    if let Some(t) = token.filter(|t| !t.is_empty()) {
        a.push("GIT_CONFIG_COUNT=1".to_owned());
        a.push(format!(
            "GIT_CONFIG_KEY_0=http.{}.extraHeader",
            remote.clean_url()
        ));
        a.push(format!("GIT_CONFIG_VALUE_0={}", remote.auth_header(t)));
    }
    a.extend(argv(["git", "-c", "credential.helper="]));
    a
}

/// `git clone --depth 1 --single-branch --branch BRANCH --no-tags -- URL DEST`.
/// `branch` must have passed [`super::remote::validate_branch`].
pub fn clone(remote: &Remote, branch: &str, dest: &str, token: Option<&str>) -> Argv {
    let mut a = git(remote, token);
    a.extend(argv([
        "clone",
        "--depth",
        "1",
        "--single-branch",
        "--branch",
        branch,
        "--no-tags",
        "--",
        remote.clean_url(),
        dest,
    ]));
    a
}

/// `test -d DEST/.git`: exit 0 when a previous deployment left a clone to update.
pub fn is_clone(dest: &str) -> Argv {
    argv(["test".to_owned(), "-d".to_owned(), format!("{dest}/.git")])
}

/// `rm -rf -- DEST`: clears a directory that is not a usable clone before cloning.
pub fn remove(dest: &str) -> Argv {
    argv(["rm", "-rf", "--", dest])
}

/// Updates an existing clone to the branch's current commit, in order: point `origin`
/// at the configured URL, fetch the branch shallowly, reset to it, remove anything
/// the repository does not track.
pub fn update(remote: &Remote, branch: &str, dest: &str, token: Option<&str>) -> Vec<Argv> {
    let mut fetch = git(remote, token);
    fetch.extend(argv([
        "-C",
        dest,
        "fetch",
        "--depth",
        "1",
        "--no-tags",
        "--",
        remote.clean_url(),
        branch,
    ]));
    vec![
        argv([
            "git",
            "-C",
            dest,
            "remote",
            "set-url",
            "origin",
            remote.clean_url(),
        ]),
        fetch,
        argv([
            "git",
            "-C",
            dest,
            "reset",
            "--hard",
            "--quiet",
            "FETCH_HEAD",
        ]),
        argv(["git", "-C", dest, "clean", "-ffdxq"]),
    ]
}

/// `git -C DEST log -1 --format=…`: the checked-out commit's facts.
pub fn last_commit(dest: &str) -> Argv {
    argv(["git", "-C", dest, "log", "-1", LOG_FORMAT])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote() -> Remote {
        Remote::parse("https://github.com/myorg/private-repo.git").unwrap()
    }

    #[test]
    fn public_clone() {
        let a = clone(
            &remote(),
            "main",
            "/opt/paasportal/x/addons/my-project",
            None,
        );
        assert_eq!(
            a,
            [
                "env",
                "GIT_TERMINAL_PROMPT=0",
                "git",
                "-c",
                "credential.helper=",
                "clone",
                "--depth",
                "1",
                "--single-branch",
                "--branch",
                "main",
                "--no-tags",
                "--",
                "https://github.com/myorg/private-repo.git",
                "/opt/paasportal/x/addons/my-project"
            ]
        );
    }

    #[test]
    fn the_token_goes_only_into_the_environment_of_git() {
        let token = "ghp_SuperSecret123";
        let a = clone(&remote(), "main", "/d", Some(token));
        let git_at = a.iter().position(|x| x == "git").unwrap();
        let env = &a[..git_at];
        assert_eq!(env[2], "GIT_CONFIG_COUNT=1");
        assert_eq!(
            env[3],
            "GIT_CONFIG_KEY_0=http.https://github.com/myorg/private-repo.git.extraHeader"
        );
        assert!(env[4].starts_with("GIT_CONFIG_VALUE_0=Authorization: Basic "));
        let header_b64 = env[4].rsplit(' ').next().unwrap();
        assert!(
            !a[git_at..]
                .iter()
                .any(|x| x.contains(token) || x.contains(header_b64))
        );
        assert!(
            !a.iter().any(|x| x.contains(token)),
            "only its base64 form, in the env"
        );
        for cmd in update(&remote(), "main", "/d", Some(token)) {
            let g = cmd.iter().position(|x| x == "git").unwrap();
            assert!(!cmd[g..].iter().any(|x| x.contains(header_b64)));
        }
        assert_eq!(clone(&remote(), "main", "/d", Some("")).len(), a.len() - 3);
    }

    #[test]
    fn redeploy_updates_in_place() {
        let u = update(&remote(), "17.0", "/d", None);
        assert_eq!(u.len(), 4);
        assert_eq!(
            u[0][3..],
            [
                "remote",
                "set-url",
                "origin",
                "https://github.com/myorg/private-repo.git"
            ]
        );
        assert!(u[1].ends_with(&[
            "--".into(),
            "https://github.com/myorg/private-repo.git".into(),
            "17.0".into()
        ]));
        assert_eq!(u[2][3..], ["reset", "--hard", "--quiet", "FETCH_HEAD"]);
        assert_eq!(is_clone("/d"), ["test", "-d", "/d/.git"]);
        assert_eq!(last_commit("/d")[5], LOG_FORMAT);
    }
}
