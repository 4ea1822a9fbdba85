//! Stand-in `apt-get` and `pip3`: they validate their arguments the way the
//! real tools would, print output in the real tools' shape, and record the
//! package names in `$STANDIN_STATE_DIR` (default `/var/lib/standin`):
//! `installed-apt.txt`, `installed-pip.txt`. Nothing is downloaded.
//!
//! Behaviours of the real images that are kept, because the pipeline must
//! cope with them:
//! - `apt-get install` fails ("Unable to locate package") until `apt-get
//!   update` has run: the official image ships with empty package lists.
//! - both need root (`docker exec --user root`); apt-get fails otherwise.
//! - `apt-get install` without `-y` aborts at the confirmation prompt.
//! - from Odoo 18 on (Ubuntu 24.04 base, Python 3.12 "externally managed",
//!   PEP 668), `pip3 install` fails unless `--break-system-packages` or
//!   `PIP_BREAK_SYSTEM_PACKAGES=1` is given; Odoo 17 (Ubuntu 22.04) accepts it.
//!
//! Test hook: a package whose name contains `nonexistent` or `does-not-exist`
//! is "not found", so failed installations can be tested.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

fn state_dir() -> PathBuf {
    std::env::var_os("STANDIN_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/lib/standin"))
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn is_missing(name: &str) -> bool {
    name.contains("nonexistent") || name.contains("does-not-exist")
}

fn read_set(file: &str) -> BTreeSet<String> {
    std::fs::read_to_string(state_dir().join(file))
        .map(|s| s.lines().map(String::from).collect())
        .unwrap_or_default()
}

fn write_set(file: &str, set: &BTreeSet<String>) -> Result<(), String> {
    let dir = state_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let text: String = set.iter().map(|s| format!("{s}\n")).collect();
    std::fs::write(dir.join(file), text).map_err(|e| format!("{file}: {e}"))
}

/// The Odoo major version of the image (`ODOO_VERSION`, default 18).
fn odoo_major() -> u32 {
    std::env::var("ODOO_VERSION")
        .ok()
        .and_then(|v| v.split('.').next().and_then(|m| m.parse().ok()))
        .unwrap_or(18)
}

/// The official image's base: Ubuntu 24.04 from Odoo 18, 22.04 before.
fn distro() -> (&'static str, &'static str) {
    let suite = if odoo_major() >= 18 { "noble" } else { "jammy" };
    (suite, "http://archive.ubuntu.com/ubuntu")
}

/// A Debian package name, optionally `=version`.
fn valid_deb(arg: &str) -> bool {
    let name = arg.split_once('=').map_or(arg, |(n, _)| n);
    let name = name.split_once(':').map_or(name, |(n, _)| n); // name:arch
    name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
}

/// `apt-get` (and `apt`). Returns the exit code.
pub fn apt_get(args: &[String]) -> i32 {
    let mut yes = false;
    let mut op: Option<&str> = None;
    let mut pkgs = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-y" | "--yes" | "--assume-yes" | "-qy" | "-yq" | "-qqy" | "-yqq" => yes = true,
            "-o" | "-c" | "-t" => {
                it.next();
            }
            s if s.starts_with('-') => {} // -q, -qq, --no-install-recommends, ...
            s if op.is_none() => op = Some(s),
            s => pkgs.push(s.to_string()),
        }
    }
    let Some(op) = op else {
        eprintln!("E: No operation specified (try apt-get update or apt-get install PKG)");
        return 100;
    };
    match op {
        "update" | "install" | "remove" | "purge" | "clean" | "autoremove" => {}
        other => {
            eprintln!("E: Invalid operation {other}");
            return 100;
        }
    }
    if !is_root() {
        eprintln!(
            "E: Could not open lock file /var/lib/apt/lists/lock - open (13: Permission denied)\n\
             E: Unable to lock directory /var/lib/apt/lists/\n\
             (stand-in: apt-get needs root; use docker exec --user root)"
        );
        return 100;
    }
    let (suite, mirror) = distro();
    match op {
        "update" => {
            for (i, part) in ["", "-updates", "-backports", "-security"]
                .iter()
                .enumerate()
            {
                println!("Get:{} {mirror} {suite}{part} InRelease [126 kB]", i + 1);
            }
            println!("Fetched 504 kB in 0s (standin)\nReading package lists... Done");
            if let Err(e) = write_set("apt-lists-updated", &BTreeSet::new()) {
                eprintln!("E: {e}");
                return 100;
            }
            0
        }
        "install" => apt_install(&pkgs, yes),
        "clean" | "autoremove" => 0,
        _ => {
            let mut installed = read_set("installed-apt.txt");
            for p in &pkgs {
                installed.remove(p.split_once('=').map_or(p.as_str(), |(n, _)| n));
            }
            match write_set("installed-apt.txt", &installed) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("E: {e}");
                    100
                }
            }
        }
    }
}

fn apt_install(pkgs: &[String], yes: bool) -> i32 {
    println!(
        "Reading package lists... Done\nBuilding dependency tree... Done\nReading state information... Done"
    );
    let updated = state_dir().join("apt-lists-updated").exists();
    for p in pkgs {
        if !valid_deb(p) {
            eprintln!("E: Invalid package name {p:?}");
            return 100;
        }
        if !updated || is_missing(p) {
            eprintln!("E: Unable to locate package {p}");
            return 100;
        }
    }
    let mut installed = read_set("installed-apt.txt");
    let names: Vec<String> = pkgs
        .iter()
        .map(|p| p.split_once('=').map_or(p.as_str(), |(n, _)| n).to_string())
        .collect();
    let new: Vec<&String> = names.iter().filter(|n| !installed.contains(*n)).collect();
    for n in names.iter().filter(|n| installed.contains(*n)) {
        println!("{n} is already the newest version (standin).");
    }
    if new.is_empty() {
        println!("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.");
        return 0;
    }
    println!(
        "The following NEW packages will be installed:\n  {}",
        new.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
    );
    println!(
        "0 upgraded, {} newly installed, 0 to remove and 0 not upgraded.",
        new.len()
    );
    if !yes {
        // Real apt asks (DEBIAN_FRONTEND only affects debconf); the stand-in
        // behaves as apt does with no terminal to answer.
        println!("Do you want to continue? [Y/n] Abort.");
        return 1;
    }
    for n in &new {
        println!("Selecting previously unselected package {n}.\nSetting up {n} (standin) ...");
    }
    installed.extend(new.into_iter().cloned());
    match write_set("installed-apt.txt", &installed) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("E: {e}");
            100
        }
    }
}

/// A PEP 508 requirement's project name, or `None` if the string is not one.
fn requirement_name(req: &str) -> Option<String> {
    let req = req.split(';').next()?.trim();
    let name_end = req
        .find(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
        .unwrap_or(req.len());
    let (name, mut rest) = req.split_at(name_end);
    if name.is_empty()
        || !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return None;
    }
    if let Some(r) = rest.strip_prefix('[') {
        let close = r.find(']')?;
        if !r[..close]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-, ".contains(c))
        {
            return None;
        }
        rest = &r[close + 1..];
    }
    let spec = rest.trim();
    if !spec.is_empty() {
        for clause in spec.split(',') {
            let clause = clause.trim();
            let op_len = ["===", "==", ">=", "<=", "~=", "!=", ">", "<"]
                .iter()
                .find(|op| clause.starts_with(**op))?
                .len();
            let version = clause[op_len..].trim();
            if version.is_empty()
                || !version
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".*+!_-".contains(c))
            {
                return None;
            }
        }
    }
    Some(name.to_ascii_lowercase().replace(['_', '.'], "-"))
}

/// `pip3` (and `pip`). Returns the exit code.
pub fn pip(args: &[String]) -> i32 {
    let Some(cmd) = args.iter().find(|a| !a.starts_with('-')) else {
        if args.iter().any(|a| a == "--version" || a == "-V") {
            let python = if odoo_major() >= 18 { "3.12" } else { "3.10" };
            println!("pip 24.0 from /usr/lib/python3/dist-packages/pip (python {python})");
            return 0;
        }
        eprintln!("ERROR: You must give a command (use \"pip help\" to see a list of commands)");
        return 1;
    };
    match cmd.as_str() {
        "install" => pip_install(&args[1..]),
        "freeze" | "list" => {
            for r in read_set("installed-pip.txt") {
                println!("{r}");
            }
            0
        }
        other => {
            eprintln!(
                "ERROR: unknown command \"{other}\" (stand-in supports install, freeze, list)"
            );
            1
        }
    }
}

fn pip_install(args: &[String]) -> i32 {
    let mut reqs: Vec<String> = Vec::new();
    let mut break_system = std::env::var("PIP_BREAK_SYSTEM_PACKAGES").as_deref() == Ok("1");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--break-system-packages" => break_system = true,
            "-r" | "--requirement" => {
                let Some(file) = it.next() else {
                    eprintln!("ERROR: -r option requires 1 argument");
                    return 2;
                };
                match std::fs::read_to_string(file) {
                    Ok(text) => reqs.extend(
                        text.lines()
                            .map(|l| l.split(" #").next().unwrap_or("").trim())
                            .filter(|l| !l.is_empty() && !l.starts_with('#'))
                            .map(String::from),
                    ),
                    Err(e) => {
                        eprintln!(
                            "ERROR: Could not open requirements file: [Errno 2] {e}: '{file}'"
                        );
                        return 1;
                    }
                }
            }
            "-i" | "--index-url" | "--extra-index-url" | "-c" | "--constraint" | "-t"
            | "--target" => {
                it.next();
            }
            s if s.starts_with('-') => {} // --no-cache-dir, -U, -q, --user, ...
            s => reqs.push(s.to_string()),
        }
    }
    if reqs.is_empty() {
        eprintln!(
            "ERROR: You must give at least one requirement to install (see \"pip help install\")"
        );
        return 1;
    }
    if odoo_major() >= 18 && !break_system {
        eprintln!(
            "error: externally-managed-environment\n\n\
             × This environment is externally managed\n\
             ╰─> To install Python packages system-wide, try apt install\n    \
             python3-xyz, where xyz is the package you are trying to\n    install.\n\n\
             note: If you believe this is a mistake, please contact your Python installation or OS distribution provider. \
             You can override this, at the risk of breaking your Python installation or OS, by passing --break-system-packages.\n\
             hint: See PEP 668 for the detailed specification."
        );
        return 1;
    }
    if !is_root() {
        println!("Defaulting to user installation because normal site-packages is not writeable");
    }
    for r in &reqs {
        if r.starts_with("-e") || r.contains("://") || r.starts_with("git+") {
            continue; // URLs and editables are recorded as given
        }
        let Some(name) = requirement_name(r) else {
            eprintln!("ERROR: Invalid requirement: '{r}'");
            return 1;
        };
        if is_missing(&name) {
            eprintln!(
                "ERROR: Could not find a version that satisfies the requirement {r} (from versions: none)\n\
                 ERROR: No matching distribution found for {name}"
            );
            return 1;
        }
        println!("Collecting {r}\n  Using cached {name}-standin-py3-none-any.whl");
    }
    let mut installed = read_set("installed-pip.txt");
    installed.extend(reqs.iter().cloned());
    if let Err(e) = write_set("installed-pip.txt", &installed) {
        eprintln!("ERROR: Could not install packages due to an OSError: {e}");
        return 1;
    }
    // pip names what it installed as `name-version`.
    let done: Vec<String> = reqs
        .iter()
        .map(|r| match r.split_once("==") {
            Some((n, v)) => format!("{}-{}", n.trim(), v.trim()),
            None => requirement_name(r).unwrap_or_else(|| r.clone()),
        })
        .collect();
    let names: Vec<String> = reqs
        .iter()
        .map(|r| requirement_name(r).unwrap_or_else(|| r.clone()))
        .collect();
    println!("Installing collected packages: {}", names.join(", "));
    println!("Successfully installed {}", done.join(" "));
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb_names() {
        assert!(valid_deb("libldap2-dev"));
        assert!(valid_deb("postgresql-client=15+248"));
        assert!(valid_deb("g++"));
        assert!(!valid_deb("Bad_Name"));
        assert!(!valid_deb("x"));
        assert!(!valid_deb("a;rm -rf /"));
    }

    #[test]
    fn pip_requirements() {
        assert_eq!(
            requirement_name("python-ldap==3.4.3").as_deref(),
            Some("python-ldap")
        );
        assert_eq!(
            requirement_name("requests[socks]>=2.0,<3").as_deref(),
            Some("requests")
        );
        assert_eq!(
            requirement_name("Stripe_API ; python_version>'3'").as_deref(),
            Some("stripe-api")
        );
        assert_eq!(requirement_name("num2words"), Some("num2words".into()));
        assert_eq!(requirement_name("bad==;rm"), None);
        assert_eq!(requirement_name("x==1 2"), None);
        assert_eq!(requirement_name("-bad"), None);
    }
}
