//! The Odoo container: its directories, the spec's `docker run`, the health check run
//! on the target server, and commands run inside the container.

use paasportal_core::ResourceSplit;

use super::traefik::labels;
use super::{Argv, argv, cpus, env_label, log_rotation};
use crate::naming::{EnvNames, ODOO_GID, ODOO_UID, container};

/// The port Odoo serves HTTP on inside the container.
pub const HTTP_PORT: u16 = 8069;
/// The health endpoint.
pub const HEALTH_PATH: &str = "/web/health";

/// What the Odoo container needs.
#[derive(Debug, Clone)]
pub struct OdooRun<'a> {
    pub names: &'a EnvNames,
    /// The image to run: the Odoo version's image, or the environment's image with
    /// its dependencies installed.
    pub image: &'a str,
    /// The public host name, `{subdomain}.{apps_domain}`.
    pub hostname: &'a str,
    pub resources: ResourceSplit,
}

/// Creates `addons/`, `data/` and `logs/` under the environment's directory and gives
/// `data/` and `logs/` to the Odoo user (uid 100, gid 101). Runs as root in a throwaway
/// container of `image`, since the SSH user need not be root on the server; `addons/`
/// stays the SSH user's, who clones into it.
pub fn prepare_dirs(names: &EnvNames, image: &str) -> [Argv; 2] {
    dirs_for(names, image, false)
}

/// [`prepare_dirs`], and odoo.conf (already written, mode 0600) given to the Odoo user
/// too, so that only it can read the database password inside.
pub fn prepare_dirs_and_conf(names: &EnvNames, image: &str) -> [Argv; 2] {
    dirs_for(names, image, true)
}

fn dirs_for(names: &EnvNames, image: &str, conf: bool) -> [Argv; 2] {
    let mkdir = argv([
        "mkdir".to_owned(),
        "-p".to_owned(),
        names.addons_dir(),
        names.data_dir(),
        names.logs_dir(),
    ]);
    let owner = format!("{ODOO_UID}:{ODOO_GID}");
    let mut chown = argv([
        "docker".to_owned(),
        "run".to_owned(),
        "--rm".to_owned(),
        "--user".to_owned(),
        "root".to_owned(),
        "--network".to_owned(),
        "none".to_owned(),
        "--entrypoint".to_owned(),
        "chown".to_owned(),
        "--volume".to_owned(),
        format!("{}:/env/data", names.data_dir()),
        "--volume".to_owned(),
        format!("{}:/env/logs", names.logs_dir()),
    ]);
    if conf {
        chown.push("--volume".to_owned());
        chown.push(format!("{}:/env/odoo.conf", names.conf_path()));
    }
    chown.extend(argv([
        image.to_owned(),
        "-R".to_owned(),
        owner,
        "/env/data".to_owned(),
        "/env/logs".to_owned(),
    ]));
    if conf {
        chown.push("/env/odoo.conf".to_owned());
    }
    [mkdir, chown]
}

/// The spec's `docker run` for `{env_uuid}_odoo`: 70 % of CPU and RAM, restart policy,
/// json-file log rotation, the four mounts (odoo.conf and addons read-only), `ODOO_RC`,
/// and the Traefik labels; on the environment's internal network.
pub fn run(r: &OdooRun<'_>) -> Argv {
    let n = r.names;
    let mut a = argv([
        "docker".to_owned(),
        "run".to_owned(),
        "-d".to_owned(),
        "--name".to_owned(),
        n.odoo_container(),
        "--network".to_owned(),
        n.network(),
        "--restart".to_owned(),
        "unless-stopped".to_owned(),
        "--memory".to_owned(),
        format!("{}m", r.resources.odoo_ram_mb),
        "--cpus".to_owned(),
        cpus(r.resources.odoo_cpus),
    ]);
    a.extend(log_rotation());
    a.extend(argv([
        "-v".to_owned(),
        format!("{}:{}:ro", n.conf_path(), container::CONF),
        "-v".to_owned(),
        format!("{}:{}:ro", n.addons_dir(), container::ADDONS),
        "-v".to_owned(),
        format!("{}:{}", n.data_dir(), container::DATA),
        "-v".to_owned(),
        format!("{}:{}", n.logs_dir(), container::LOGS),
        "-e".to_owned(),
        format!("ODOO_RC={}", container::CONF),
    ]));
    a.extend(env_label(n));
    for (k, v) in labels(n, r.hostname) {
        a.push("-l".to_owned());
        a.push(format!("{k}={v}"));
    }
    a.push(r.image.to_owned());
    a
}

/// The health check, run *on the target server* inside the container (the control
/// plane cannot reach container addresses): prints the HTTP status code of
/// `GET http://localhost:8069/web/health`, `000` when nothing answered.
pub fn health_check(names: &EnvNames, timeout_secs: u32) -> Argv {
    argv([
        "docker".to_owned(),
        "exec".to_owned(),
        names.odoo_container(),
        "curl".to_owned(),
        "--silent".to_owned(),
        "--output".to_owned(),
        "/dev/null".to_owned(),
        "--write-out".to_owned(),
        "%{http_code}".to_owned(),
        "--max-time".to_owned(),
        timeout_secs.to_string(),
        format!("http://localhost:{HTTP_PORT}{HEALTH_PATH}"),
    ])
}

/// The HTTP status the health check printed, if it printed one.
pub fn parse_health_status(stdout: &str) -> Option<u16> {
    stdout.trim().parse().ok().filter(|c| *c != 0)
}

/// `docker exec --user root [-e K=V…] CONTAINER CMD…`: a command as root inside the
/// Odoo container (package installation).
pub fn exec_root(names: &EnvNames, env: &[(&str, &str)], cmd: &[&str]) -> Argv {
    let mut a = argv(["docker", "exec", "--user", "root"]);
    for (k, v) in env {
        a.push("-e".to_owned());
        a.push(format!("{k}={v}"));
    }
    a.push(names.odoo_container());
    a.extend(cmd.iter().map(|s| (*s).to_owned()));
    a
}

/// Initialises the database: `odoo -d {db} -i base --stop-after-init` in the running
/// container, reading its odoo.conf. The admin password travels in the environment of
/// `env` and `docker exec -e NAME` (no value on any command line of the container).
pub fn init_database(names: &EnvNames, admin_password: &str) -> Argv {
    argv([
        "env".to_owned(),
        format!("ODOO_ADMIN_PASSWORD={admin_password}"),
        "docker".to_owned(),
        "exec".to_owned(),
        "-e".to_owned(),
        "ODOO_ADMIN_PASSWORD".to_owned(),
        names.odoo_container(),
        "odoo".to_owned(),
        "-c".to_owned(),
        container::CONF.to_owned(),
        "-d".to_owned(),
        names.db_name(),
        "-i".to_owned(),
        "base".to_owned(),
        "--stop-after-init".to_owned(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::BaseDir;

    fn names() -> EnvNames {
        EnvNames::new(
            "3f4a5e2b-9c1d-4e8a-b2c3-7d6e5f4a3b2c".parse().unwrap(),
            BaseDir::default(),
            false,
        )
    }

    #[test]
    fn spec_docker_run() {
        let n = names();
        let a = run(&OdooRun {
            names: &n,
            image: "odoo:18.0",
            hostname: "staging-myproject.oecsh.com",
            resources: ResourceSplit::of(2.0, 2048),
        });
        insta::assert_snapshot!("spec_docker_run", a.join("\n"));
    }

    #[test]
    fn dirs_and_probes() {
        let n = names();
        let [mkdir, chown] = prepare_dirs(&n, "odoo:18.0");
        assert_eq!(mkdir[0], "mkdir");
        assert_eq!(mkdir.len(), 5);
        assert!(chown.contains(&"100:101".to_owned()));
        assert!(!chown.iter().any(|a| a.contains("odoo.conf")));
        let [_, with_conf] = prepare_dirs_and_conf(&n, "odoo:18.0");
        assert_eq!(with_conf.last().unwrap(), "/env/odoo.conf");
        assert!(with_conf.contains(&format!("{}:/env/odoo.conf", n.conf_path())));
        assert_eq!(with_conf.len(), chown.len() + 3);
        assert_eq!(
            health_check(&n, 10).last().unwrap(),
            "http://localhost:8069/web/health"
        );
        assert_eq!(parse_health_status("200"), Some(200));
        assert_eq!(parse_health_status("503\n"), Some(503));
        assert_eq!(parse_health_status("000"), None);
        assert_eq!(parse_health_status(""), None);
        let e = exec_root(
            &n,
            &[("DEBIAN_FRONTEND", "noninteractive")],
            &["apt-get", "update"],
        );
        assert_eq!(
            e,
            [
                "docker",
                "exec",
                "--user",
                "root",
                "-e",
                "DEBIAN_FRONTEND=noninteractive",
                &n.odoo_container(),
                "apt-get",
                "update"
            ]
        );
        let init = init_database(&n, "pw");
        assert_eq!(&init[..2], ["env", "ODOO_ADMIN_PASSWORD=pw"]);
        assert_eq!(init.iter().filter(|a| a.contains("pw")).count(), 1);
        assert!(init.ends_with(&["-i".into(), "base".into(), "--stop-after-init".into()]));
    }
}
