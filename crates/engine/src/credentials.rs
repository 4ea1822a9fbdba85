//! Opening a server's encrypted SSH credentials with the master key. Every secret opened
//! is registered with the deployment's redactor before anything else sees it.

use paasportal_core::diagnostics::ErrorCode;
use paasportal_core::redact::Redactor;
use paasportal_core::{AuthMethod, SecretBox, Server};
use paasportal_store::servers::ServerSecrets;
use serde_json::json;

use crate::stage::StageError;
use crate::transport::SshAuth;

/// The SSH authentication of `server`, decrypted; every secret is registered with `redactor`.
pub fn ssh_auth(
    server: &Server,
    sealed: &ServerSecrets,
    secrets: &SecretBox,
    redactor: &Redactor,
) -> Result<SshAuth, StageError> {
    let open = |what: &str, field: &Option<Vec<u8>>| -> Result<Option<String>, StageError> {
        let Some(bytes) = field else { return Ok(None) };
        let plain = secrets.open(bytes).map_err(|e| {
            StageError::new(
                format!("The server's {what} cannot be decrypted: {e}"),
                ErrorCode::CredentialsUnreadable,
                json!({"server_id": server.id, "credential": what}),
            )
        })?;
        redactor.register(&plain);
        Ok(Some(plain))
    };
    let key = open("SSH private key", &sealed.ssh_private_key_enc)?;
    let passphrase = open("SSH key passphrase", &sealed.ssh_key_passphrase_enc)?;
    let password = open("SSH password", &sealed.ssh_password_enc)?;
    let missing = |what: &str| {
        StageError::new(
            format!(
                "Server {} uses {} authentication but has no {what} configured",
                server.name, server.auth_method
            ),
            ErrorCode::ConfigInvalid,
            json!({"server_id": server.id, "ssh_method": server.auth_method.as_str()}),
        )
    };
    match server.auth_method {
        AuthMethod::Key => Ok(SshAuth::Key {
            private_key: key.ok_or_else(|| missing("SSH private key"))?,
            passphrase,
        }),
        AuthMethod::Password => Ok(SshAuth::Password(
            password.ok_or_else(|| missing("SSH password"))?,
        )),
    }
}
