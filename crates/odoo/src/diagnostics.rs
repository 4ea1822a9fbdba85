//! The spec's structured `data` for each failure and warning of the Odoo stages, as
//! JSON values the engine attaches to the log line. Git clone failures are built in
//! [`crate::git::failure::error_data`]. Every text placed here comes from a command's
//! output, which the engine redacts before storing it.

use serde_json::{Value, json};

/// A command's output as its non-empty lines, trailing blanks removed.
pub fn non_empty_lines(output: &str) -> Vec<&str> {
    output
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// The last `n` non-empty lines of a command's output, for warnings that carry the
/// installer's or the container's own words.
pub fn last_lines(output: &str, n: usize) -> Vec<String> {
    let lines = non_empty_lines(output);
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| (*l).to_owned())
        .collect()
}

/// "Database initialization failed: …": the spec's `db_name`, `elapsed_seconds`,
/// `max_retries`, `last_error`.
pub fn database_init(
    db_name: &str,
    elapsed_seconds: f64,
    max_retries: u32,
    last_error: &str,
) -> Value {
    json!({
        "db_name": db_name,
        "elapsed_seconds": (elapsed_seconds * 10.0).round() / 10.0,
        "max_retries": max_retries,
        "last_error": last_error,
        "error_code": "TIMEOUT",
    })
}

/// "Failed to pull Docker image: …": the image, its registry and the registry's message.
pub fn image_pull(image: &str, registry: &str, registry_message: &str) -> Value {
    let lower = registry_message.to_ascii_lowercase();
    let code = if lower.contains("not found")
        || lower.contains("manifest unknown")
        || lower.contains("does not exist")
    {
        "IMAGE_NOT_FOUND"
    } else if lower.contains("denied")
        || lower.contains("unauthorized")
        || lower.contains("authentication")
    {
        "AUTH_FAILED"
    } else {
        "COMMAND_FAILED"
    };
    json!({
        "image": image,
        "registry": registry,
        "error": registry_message,
        "error_code": code,
    })
}

/// The pull failure's message: "Failed to pull Docker image: Authentication required"
/// when the registry refused access, else the registry's own words.
pub fn image_pull_message(registry_message: &str) -> String {
    let lower = registry_message.to_ascii_lowercase();
    if lower.contains("denied")
        || lower.contains("unauthorized")
        || lower.contains("require 'docker login'")
    {
        "Failed to pull Docker image: Authentication required".to_owned()
    } else {
        format!("Failed to pull Docker image: {registry_message}")
    }
}

/// A failed health check (a warning): the HTTP status if any, and the container's last lines.
pub fn health_check(container: &str, status: Option<u16>, container_log_tail: &[String]) -> Value {
    json!({
        "container": container,
        "http_status": status,
        "container_logs": container_log_tail,
        "error_code": "HEALTH_CHECK_FAILED",
    })
}

/// A DNS verification that timed out (a warning).
pub fn dns_not_propagated(
    hostname: &str,
    expected_ip: &str,
    seen: &[String],
    elapsed_seconds: f64,
) -> Value {
    json!({
        "hostname": hostname,
        "expected_ip": expected_ip,
        "resolved": seen,
        "elapsed_seconds": (elapsed_seconds * 10.0).round() / 10.0,
        "error_code": "DNS_NOT_PROPAGATED",
    })
}

/// A failed dependency installation (a warning): which installer and its last lines.
pub fn dependency_install(installer: &str, packages: &[String], output_tail: &[String]) -> Value {
    json!({
        "installer": installer,
        "packages": packages,
        "output": output_tail,
        "error_code": "COMMAND_FAILED",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_database_timeout_data() {
        assert_eq!(
            database_init(
                "3f4a5e2b-9c1d-4e8a-b2c3-7d6e5f4a3b2c",
                120.04,
                30,
                "FATAL: the database system is starting up"
            ),
            json!({
                "db_name": "3f4a5e2b-9c1d-4e8a-b2c3-7d6e5f4a3b2c",
                "elapsed_seconds": 120.0,
                "max_retries": 30,
                "last_error": "FATAL: the database system is starting up",
                "error_code": "TIMEOUT"
            })
        );
    }

    #[test]
    fn image_pull_messages() {
        let denied = "pull access denied for registry.example.com/odoo, repository does not exist or may require 'docker login'";
        assert_eq!(
            image_pull_message(denied),
            "Failed to pull Docker image: Authentication required"
        );
        assert_eq!(
            image_pull(
                "registry.example.com/odoo:18.0",
                "registry.example.com",
                denied
            )["error_code"],
            "IMAGE_NOT_FOUND"
        );
        assert_eq!(
            image_pull(
                "x",
                "docker.io",
                "unauthorized: incorrect username or password"
            )["error_code"],
            "AUTH_FAILED"
        );
        assert_eq!(
            image_pull_message("manifest for odoo:99 not found: manifest unknown"),
            "Failed to pull Docker image: manifest for odoo:99 not found: manifest unknown"
        );
    }

    #[test]
    fn tails() {
        assert_eq!(last_lines("a\n\nb\nc\n  \n", 2), ["b", "c"]);
        assert_eq!(last_lines("", 5), Vec::<String>::new());
        let h = health_check("x_odoo", Some(500), &last_lines("boot\nerror: db", 50));
        assert_eq!(h["http_status"], 500);
        assert_eq!(h["container_logs"][1], "error: db");
        assert_eq!(
            dns_not_propagated("a.b", "1.2.3.4", &[], 180.04)["elapsed_seconds"],
            180.0
        );
        assert_eq!(
            dependency_install("pip3", &["x".into()], &["E".into()])["installer"],
            "pip3"
        );
    }
}
