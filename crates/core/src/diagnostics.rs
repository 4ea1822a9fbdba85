//! Error diagnostics: machine-readable error codes and the spec's troubleshooting
//! catalogue ("Common Deployment Errors"), attached to a failure's structured `data`
//! so the UI and the CLI can show what to do next.

use serde_json::{Map, Value, json};

use crate::text_enum;

text_enum! {
    /// The `error_code` of a failure's `data`.
    pub enum ErrorCode: "error code" {
        /// The server refused the credentials (SSH), or a registry or git host refused a token.
        AuthFailed = "AUTH_FAILED",
        /// Nothing listens on the address (TCP RST).
        ConnectionRefused = "CONNECTION_REFUSED",
        /// A connection, a command or a wait did not finish in time.
        Timeout = "TIMEOUT",
        /// The server's SSH host key differs from the one pinned on first connect.
        HostKeyMismatch = "HOST_KEY_MISMATCH",
        /// No route to the server, or its name does not resolve.
        HostUnreachable = "HOST_UNREACHABLE",
        /// The private key cannot be read (malformed, or a wrong passphrase).
        KeyInvalid = "KEY_INVALID",
        /// The SSH conversation failed after the connection was made.
        SshProtocol = "SSH_PROTOCOL_ERROR",
        /// The SSH connection dropped while a command ran.
        ConnectionLost = "CONNECTION_LOST",
        /// Stored credentials cannot be decrypted with this process's master key.
        CredentialsUnreadable = "CREDENTIALS_UNREADABLE",
        /// A command exited with a non-zero status.
        CommandFailed = "COMMAND_FAILED",
        /// A command line could not be built (an argument held a NUL byte).
        InvalidCommand = "INVALID_COMMAND",
        /// A whole stage ran past its timeout.
        StageTimeout = "STAGE_TIMEOUT",
        /// This build has no implementation for the stage.
        StageUnavailable = "STAGE_UNAVAILABLE",
        /// The environment or server configuration is unusable.
        ConfigInvalid = "CONFIG_INVALID",
        /// A user cancelled the deployment.
        Cancelled = "CANCELLED",
        /// The worker running the deployment died (its lease expired or the process restarted).
        WorkerLost = "WORKER_LOST",
        /// The worker was shut down before the deployment finished.
        WorkerShutdown = "WORKER_SHUTDOWN",
        /// A git repository or branch does not exist.
        RepositoryNotFound = "REPOSITORY_NOT_FOUND",
        /// A Docker image or tag does not exist.
        ImageNotFound = "IMAGE_NOT_FOUND",
        /// DNS did not resolve to the server in time.
        DnsNotPropagated = "DNS_NOT_PROPAGATED",
        /// The environment did not answer its health check.
        HealthCheckFailed = "HEALTH_CHECK_FAILED",
        /// The control plane itself failed (its database, for instance).
        Internal = "INTERNAL_ERROR",
    }
}

text_enum! {
    /// The spec's "Common Deployment Errors", plus its "Deployment Progress Stuck" problem.
    pub enum Problem: "problem" {
        SshConnection = "ssh_connection",
        GitClone = "git_clone",
        ImagePull = "image_pull",
        DatabaseInitTimeout = "database_init_timeout",
        SslCertificate = "ssl_certificate",
        HealthCheck = "health_check",
        ProgressStuck = "progress_stuck",
    }
}

impl Problem {
    /// The spec's error message for the problem.
    pub fn message(self) -> &'static str {
        match self {
            Problem::SshConnection => "Failed to connect to server via SSH",
            Problem::GitClone => "Failed to clone repository: Authentication failed",
            Problem::ImagePull => "Failed to pull Docker image: Authentication required",
            Problem::DatabaseInitTimeout => "Database initialization failed: Connection timeout",
            Problem::SslCertificate => "SSL certificate request failed: DNS not propagated",
            Problem::HealthCheck => "Health check failed, but container is running",
            Problem::ProgressStuck => "Deployment stopped making progress",
        }
    }

    /// The spec's likely causes.
    pub fn causes(self) -> &'static [&'static str] {
        match self {
            Problem::SshConnection => &[
                "Incorrect SSH credentials",
                "Server IP unreachable",
                "Firewall blocking SSH port (22)",
                "SSH key passphrase incorrect",
            ],
            Problem::GitClone => &[
                "Repository is private and no Git connection configured",
                "OAuth token expired or invalid",
                "Repository URL incorrect",
                "Git provider (GitHub/GitLab) down",
            ],
            Problem::ImagePull => &[
                "Private registry requires authentication",
                "Registry credentials incorrect",
                "Image tag doesn't exist",
                "Registry unreachable",
            ],
            Problem::DatabaseInitTimeout => &[
                "PostgreSQL container crashed",
                "Insufficient server resources (CPU/RAM)",
                "Database migration taking too long",
                "Port conflict on server",
            ],
            Problem::SslCertificate => &[
                "DNS record not created (no DNS provider configured)",
                "DNS propagation delay (can take 5-15 minutes)",
                "Domain points to wrong IP",
                "Let's Encrypt rate limit hit (5 failures per hour)",
            ],
            Problem::HealthCheck => &[
                "Odoo still initializing (database migration in progress)",
                "High CPU load causing slow response",
                "Odoo crashed after container start",
                "Port 8069 not accessible",
            ],
            Problem::ProgressStuck => &[
                "SSH connection lost mid-deployment",
                "Docker daemon unresponsive",
                "Long-running operation (database restore, large Git clone)",
                "Background task crashed",
            ],
        }
    }

    /// The spec's troubleshooting steps, with `{placeholders}` filled from the details
    /// when present (`vm_ip`, `ssh_port`, `ssh_user`, `env_uuid`, `hostname`, `image`,
    /// `registry`, `git_url`, `deployment_id`) and left as written otherwise.
    pub fn troubleshooting(self) -> &'static [&'static str] {
        match self {
            Problem::SshConnection => &[
                "Verify server IP and SSH port in Server Settings",
                "Test SSH manually: ssh -p {ssh_port} {ssh_user}@{vm_ip}",
                "Check server firewall rules: ufw status",
                "Verify SSH key permissions: chmod 600 ~/.ssh/id_rsa",
            ],
            Problem::GitClone => &[
                "For private repos: go to Organization Settings → Git Connections → add a GitHub/GitLab connection",
                "Verify the repository URL is correct",
                "Test Git clone manually: git clone {git_url}",
                "Check the Git provider's status page",
            ],
            Problem::ImagePull => &[
                "For private registries: a portal admin must configure registry credentials in Odoo Versions settings",
                "Verify the image tag exists: docker pull {image}",
                "Check the registry URL format: registry.example.com/namespace/image:tag",
                "Test registry access: docker login {registry}",
            ],
            Problem::DatabaseInitTimeout => &[
                "Check PostgreSQL container logs: docker logs {env_uuid}_db",
                "Verify the server has sufficient resources: free -h, htop",
                "Increase the environment's resource allocation",
                "For migrations: increase the initializing_database stage timeout (PAASPORTAL_STAGE_TIMEOUTS)",
            ],
            Problem::SslCertificate => &[
                "Check DNS resolution: dig {hostname} +short (should return {vm_ip})",
                "Configure a DNS provider: Dashboard → Settings → DNS → add Cloudflare credentials",
                "Wait for propagation: DNS can take 5-15 minutes to propagate globally",
                "Check Let's Encrypt logs: docker logs traefik | grep acme",
                "Verify Traefik labels: docker inspect {env_uuid}_odoo | grep traefik",
            ],
            Problem::HealthCheck => &[
                "Check container status: docker ps | grep {env_uuid}_odoo",
                "View container logs: docker logs {env_uuid}_odoo",
                "Wait 2-3 minutes: Odoo may still be initializing its database",
                "Manual health check: docker exec {env_uuid}_odoo curl http://localhost:8069/web/health (should return HTTP 200)",
                "Check resource usage: docker stats {env_uuid}_odoo",
            ],
            Problem::ProgressStuck => &[
                "Check the deployment's current step: GET /api/v1/deployments/{deployment_id}/progress",
                "Check the server's resources: htop, df -h, systemctl status docker",
                "Inspect the environment on the server: docker ps | grep {env_uuid}; docker logs {env_uuid}_odoo --tail 50",
                "Check whether a git clone is still running: ps aux | grep git",
                "Cancel and retry: POST /api/v1/deployments/{deployment_id}/cancel, then POST /api/v1/deployments",
            ],
        }
    }
}

/// Extra first steps for codes whose fix is specific.
fn code_hints(code: ErrorCode) -> &'static [&'static str] {
    match code {
        ErrorCode::HostKeyMismatch => &[
            "The server presented a different host key than the one pinned on first connect: if the server was reinstalled on purpose, clear its pinned host key in Server Settings and deploy again; otherwise treat it as a possible man-in-the-middle attack",
        ],
        ErrorCode::KeyInvalid => &[
            "Check that the private key is complete (OpenSSH or PEM format) and that its passphrase is correct",
        ],
        ErrorCode::CredentialsUnreadable => &[
            "The server's credentials were encrypted with a different master key: give every paasportal process the same PAASPORTAL_MASTER_KEY, or enter the credentials again",
        ],
        ErrorCode::WorkerLost => &[
            "The worker running this deployment stopped (crash, kill or lost database connection): check the worker's logs, then deploy again",
        ],
        _ => &[],
    }
}

/// The SSH connection steps for what actually went wrong: a refused password, a refused
/// key, a closed port and an unreachable host each have their own checks (no
/// `chmod 600 ~/.ssh/id_rsa` for a server that logs in with a password).
fn ssh_steps(code: ErrorCode, method: Option<&str>) -> Option<&'static [&'static str]> {
    Some(match (code, method) {
        (ErrorCode::AuthFailed, Some("password")) => &[
            "The server refused the password of {ssh_user}: check the SSH user and password in Server Settings",
            "Test SSH manually with the password: ssh -p {ssh_port} -o PubkeyAuthentication=no {ssh_user}@{vm_ip}",
            "Check that the server accepts passwords: PasswordAuthentication yes in /etc/ssh/sshd_config (for root also PermitRootLogin yes), then systemctl reload ssh",
            "Read the server's reason: journalctl -u ssh --since '10 min ago' (or /var/log/auth.log) on the server",
        ],
        (ErrorCode::AuthFailed, Some("key")) => &[
            "The server refused the key of {ssh_user}: check that its public key is in ~{ssh_user}/.ssh/authorized_keys on the server",
            "Test SSH manually with the same key: ssh -i /path/to/private_key -p {ssh_port} {ssh_user}@{vm_ip}",
            "On the server, sshd ignores keys others can change: chmod 700 ~/.ssh; chmod 600 ~/.ssh/authorized_keys (owned by {ssh_user})",
            "Read the server's reason: journalctl -u ssh --since '10 min ago' (or /var/log/auth.log) on the server",
        ],
        (ErrorCode::AuthFailed, _) => &[
            "The server refused the credentials of {ssh_user}: check the SSH user, key or password in Server Settings",
            "Test SSH manually: ssh -p {ssh_port} {ssh_user}@{vm_ip}",
            "Read the server's reason: journalctl -u ssh --since '10 min ago' (or /var/log/auth.log) on the server",
        ],
        (ErrorCode::ConnectionRefused, _) => &[
            "Nothing accepts connections on {vm_ip} port {ssh_port}: check that the SSH server runs: systemctl status ssh",
            "Verify the SSH port in Server Settings: on the server, ss -tlnp | grep sshd shows the port sshd listens on",
            "Check that the firewall allows the port and rejects nothing: ufw status",
            "Test the port from the control plane: nc -vz {vm_ip} {ssh_port}",
        ],
        (ErrorCode::Timeout | ErrorCode::HostUnreachable, _) => &[
            "Verify the server IP and SSH port in Server Settings",
            "Check that the server is up and reachable from the control plane: ping {vm_ip}",
            "A firewall or the cloud provider's security group may drop packets to port {ssh_port}: ufw status, and the provider's firewall rules",
            "Test the port from the control plane: nc -vz -w 5 {vm_ip} {ssh_port}",
        ],
        (ErrorCode::KeyInvalid, _) => &[
            "Test the key where you keep it: ssh-keygen -y -f /path/to/private_key (asks for the passphrase, prints the public key)",
            "Enter the private key and its passphrase again in Server Settings",
        ],
        (ErrorCode::HostKeyMismatch, _) => &[
            "Compare with the key the server presents now: ssh-keyscan -p {ssh_port} {vm_ip} | ssh-keygen -lf -",
        ],
        _ => return None,
    })
}

/// The steps for `problem` failing with `code`: the problem's own list, unless the code
/// (and for SSH the server's `ssh_method`) calls for more specific ones.
fn problem_steps(
    problem: Problem,
    code: ErrorCode,
    details: &Map<String, Value>,
) -> &'static [&'static str] {
    let method = details.get("ssh_method").and_then(Value::as_str);
    match problem {
        Problem::SshConnection => match ssh_steps(code, method) {
            Some(steps) => steps,
            // The spec's list ends with the key-permission step: only for key logins.
            None if method == Some("password") => &problem.troubleshooting()[..3],
            None => problem.troubleshooting(),
        },
        _ => problem.troubleshooting(),
    }
}

/// A failure's structured `data`: `details` plus `error_code` and the `troubleshooting`
/// steps for this problem, this code and (for SSH) this server's login method
/// (code-specific hints first), placeholders filled in.
pub fn error_data(problem: Problem, code: ErrorCode, details: Value) -> Value {
    let mut map = match details {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        other => {
            let mut m = Map::new();
            m.insert("details".into(), other);
            m
        }
    };
    let steps: Vec<String> = code_hints(code)
        .iter()
        .chain(problem_steps(problem, code, &map))
        .map(|s| fill(s, &map))
        .collect();
    map.insert("error_code".into(), json!(code.as_str()));
    map.insert("troubleshooting".into(), json!(steps));
    Value::Object(map)
}

/// A failure's `data` when no problem of the catalogue applies: `details` plus `error_code`.
pub fn code_data(code: ErrorCode, details: Value) -> Value {
    let mut map = match details {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        other => {
            let mut m = Map::new();
            m.insert("details".into(), other);
            m
        }
    };
    let hints = code_hints(code);
    map.insert("error_code".into(), json!(code.as_str()));
    if !hints.is_empty() {
        map.insert("troubleshooting".into(), json!(hints));
    }
    Value::Object(map)
}

/// What a step says where the details do not give a server's address, SSH user or port
/// (they are left out of lines every viewer of a project reads): where to find them.
const SERVER_PLACEHOLDERS: [(&str, &str); 3] = [
    ("{vm_ip}", "SERVER_IP"),
    ("{ssh_port}", "SSH_PORT"),
    ("{ssh_user}", "SSH_USER"),
];

fn fill(template: &str, details: &Map<String, Value>) -> String {
    let mut out = fill_details(template, details);
    for (needle, word) in SERVER_PLACEHOLDERS {
        out = out.replace(needle, word);
    }
    out
}

fn fill_details(template: &str, details: &Map<String, Value>) -> String {
    let mut out = template.to_owned();
    for (key, value) in details {
        let needle = format!("{{{key}}}");
        if out.contains(&needle) {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out = out.replace(&needle, &text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_failure_data_reads_like_the_spec() {
        let d = error_data(
            Problem::SshConnection,
            ErrorCode::AuthFailed,
            json!({"vm_ip": "165.22.65.97", "ssh_port": 22, "ssh_method": "password", "ssh_user": "root"}),
        );
        assert_eq!(d["error_code"], "AUTH_FAILED");
        assert_eq!(d["vm_ip"], "165.22.65.97");
        assert_eq!(d["ssh_port"], 22);
        assert_eq!(d["ssh_method"], "password");
        let steps: Vec<&str> = d["troubleshooting"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            steps[1],
            "Test SSH manually with the password: ssh -p 22 -o PubkeyAuthentication=no root@165.22.65.97"
        );
        assert_eq!(steps.len(), 4);
    }

    fn steps_of(code: ErrorCode, method: &str) -> Vec<String> {
        let d = error_data(
            Problem::SshConnection,
            code,
            json!({"vm_ip": "10.0.0.7", "ssh_port": 2222, "ssh_method": method, "ssh_user": "deploy"}),
        );
        d["troubleshooting"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn ssh_steps_follow_the_error_code_and_the_login_method() {
        let pw_auth = steps_of(ErrorCode::AuthFailed, "password");
        let key_auth = steps_of(ErrorCode::AuthFailed, "key");
        let refused = steps_of(ErrorCode::ConnectionRefused, "password");
        let timeout = steps_of(ErrorCode::Timeout, "key");
        // A password server is never told to fix key permissions.
        for steps in [&pw_auth, &refused] {
            assert!(
                steps
                    .iter()
                    .all(|s| !s.contains("id_rsa") && !s.contains("chmod")),
                "{steps:#?}"
            );
        }
        assert!(pw_auth.iter().any(|s| s.contains("PasswordAuthentication")));
        assert!(key_auth.iter().any(|s| s.contains("authorized_keys")));
        assert!(
            key_auth
                .iter()
                .all(|s| !s.contains("PasswordAuthentication"))
        );
        // Refused credentials and a closed port are different problems.
        assert_ne!(pw_auth, refused);
        assert!(refused[0].contains("Nothing accepts connections on 10.0.0.7 port 2222"));
        assert!(
            refused
                .iter()
                .any(|s| s == "Test the port from the control plane: nc -vz 10.0.0.7 2222")
        );
        assert_ne!(refused, timeout);
        assert!(timeout.iter().any(|s| s.contains("ping 10.0.0.7")));
        // Placeholders are all filled.
        for steps in [&pw_auth, &key_auth, &refused, &timeout] {
            assert!(steps.iter().all(|s| !s.contains('{')), "{steps:#?}");
        }
        // A protocol failure keeps the spec's list, without the key step for passwords.
        let proto_pw = steps_of(ErrorCode::SshProtocol, "password");
        assert_eq!(proto_pw.len(), 3);
        assert!(proto_pw.iter().all(|s| !s.contains("id_rsa")));
        assert_eq!(steps_of(ErrorCode::SshProtocol, "key").len(), 4);
    }

    #[test]
    fn code_hints_come_first_and_unknown_placeholders_stay() {
        let d = error_data(
            Problem::SshConnection,
            ErrorCode::HostKeyMismatch,
            Value::Null,
        );
        let steps = d["troubleshooting"].as_array().unwrap();
        assert!(steps[0].as_str().unwrap().contains("pinned host key"));
        assert!(
            steps[1]
                .as_str()
                .unwrap()
                .contains("ssh-keyscan -p SSH_PORT SERVER_IP")
        );
        let h = error_data(
            Problem::HealthCheck,
            ErrorCode::HealthCheckFailed,
            json!({"env_uuid": "3f4a"}),
        );
        assert_eq!(
            h["troubleshooting"][0],
            "Check container status: docker ps | grep 3f4a_odoo"
        );
        assert_eq!(
            code_data(ErrorCode::CommandFailed, json!({"exit_code": 2}))["exit_code"],
            2
        );
    }

    #[test]
    fn every_problem_has_message_causes_and_steps() {
        for p in Problem::ALL {
            assert!(!p.message().is_empty());
            assert!(p.causes().len() >= 4, "{p}");
            assert!(p.troubleshooting().len() >= 4, "{p}");
        }
    }
}
