//! Argument vectors for every `docker` command the stages run: lists of arguments,
//! never shell strings. The engine quotes each one when it builds the command line.
//!
//! Some vectors carry secrets (a database password in `-e`); the engine registers
//! every such secret with its redactor before the deployment starts, so they are
//! masked wherever a command or its output is logged.

pub mod database;
pub mod image;
pub mod odoo;
pub mod traefik;

use crate::naming::{ENVIRONMENT_LABEL, EnvNames, TRAEFIK_NETWORK};

/// One command as a list of arguments, program first.
pub type Argv = Vec<String>;

/// Builds an [`Argv`] from string-like pieces.
pub(crate) fn argv<I, S>(parts: I) -> Argv
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    parts.into_iter().map(Into::into).collect()
}

/// `--log-driver json-file --log-opt max-size=10m --log-opt max-file=3`: the spec's log rotation.
pub(crate) fn log_rotation() -> Argv {
    argv([
        "--log-driver",
        "json-file",
        "--log-opt",
        "max-size=10m",
        "--log-opt",
        "max-file=3",
    ])
}

/// `--label paasportal.environment={env_uuid}`: marks what belongs to the environment.
pub(crate) fn env_label(names: &EnvNames) -> Argv {
    argv([
        "--label".to_owned(),
        format!("{ENVIRONMENT_LABEL}={}", names.env_uuid()),
    ])
}

/// A CPU limit as `docker --cpus` reads it: `1.4`, `2`.
pub(crate) fn cpus(c: f64) -> String {
    format!("{}", (c * 100.0).round() / 100.0)
}

/// `docker network create --driver bridge …`: the environment's isolated network.
pub fn network_create(names: &EnvNames) -> Argv {
    let mut a = argv(["docker", "network", "create", "--driver", "bridge"]);
    a.extend(env_label(names));
    a.push(names.network());
    a
}

/// `docker network inspect --format {{.Id}} NAME`: succeeds when the network exists.
pub fn network_inspect(name: &str) -> Argv {
    argv(["docker", "network", "inspect", "--format", "{{.Id}}", name])
}

/// `docker network connect traefik-public CONTAINER`.
pub fn network_connect_traefik(container: &str) -> Argv {
    argv(["docker", "network", "connect", TRAEFIK_NETWORK, container])
}

/// `docker inspect --format {{.State.Status}} NAME`: `running`, `exited`, …; fails when absent.
pub fn container_status(name: &str) -> Argv {
    argv([
        "docker",
        "inspect",
        "--type",
        "container",
        "--format",
        "{{.State.Status}}",
        name,
    ])
}

/// `docker inspect --format {{.Id}} NAME`: the full container id.
pub fn container_id(name: &str) -> Argv {
    argv([
        "docker",
        "inspect",
        "--type",
        "container",
        "--format",
        "{{.Id}}",
        name,
    ])
}

/// `docker start NAME`.
pub fn container_start(name: &str) -> Argv {
    argv(["docker", "start", name])
}

/// `docker stop --time SECS NAME`: a graceful stop.
pub fn container_stop(name: &str, grace_secs: u32) -> Argv {
    argv([
        "docker".to_owned(),
        "stop".to_owned(),
        "--time".to_owned(),
        grace_secs.to_string(),
        name.to_owned(),
    ])
}

/// `docker rm --force NAME`: removes a container; bind mounts and named volumes stay.
pub fn container_remove(name: &str) -> Argv {
    argv(["docker", "rm", "--force", name])
}

/// `docker logs --tail N NAME`: the container's last lines, for a failed health check.
pub fn logs_tail(name: &str, lines: u32) -> Argv {
    argv([
        "docker".to_owned(),
        "logs".to_owned(),
        "--tail".to_owned(),
        lines.to_string(),
        name.to_owned(),
    ])
}

/// Whether a `docker` error says the object does not exist.
pub fn is_not_found(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("no such container")
        || s.contains("no such object")
        || s.contains("no such image")
        || s.contains("no such network")
        || (s.contains("network") && s.contains("not found"))
}

/// Whether a `docker network create` error says the network exists already.
pub fn is_already_exists(stderr: &str) -> bool {
    stderr.to_ascii_lowercase().contains("already exists")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::BaseDir;

    #[test]
    fn network_commands() {
        let n = EnvNames::new(uuid::Uuid::nil(), BaseDir::default(), false);
        let u = n.env_uuid();
        assert_eq!(
            network_create(&n),
            [
                "docker",
                "network",
                "create",
                "--driver",
                "bridge",
                "--label",
                &format!("paasportal.environment={u}"),
                &format!("paasportal_net_{u}")
            ]
        );
        assert_eq!(
            network_connect_traefik("x_odoo"),
            ["docker", "network", "connect", "traefik-public", "x_odoo"]
        );
        assert_eq!(cpus(1.4), "1.4");
        assert_eq!(cpus(2.0), "2");
        assert_eq!(cpus(0.6000000001), "0.6");
    }

    #[test]
    fn docker_errors() {
        assert!(is_not_found("Error: No such container: abc_odoo"));
        assert!(is_not_found(
            "Error response from daemon: network paasportal_net_x not found"
        ));
        assert!(is_not_found("Error: No such object: x"));
        assert!(!is_not_found("permission denied"));
        assert!(is_already_exists(
            "Error response from daemon: network with name paasportal_net_x already exists"
        ));
    }
}
