//! `connecting`: decrypts the server's credentials and opens the deployment's one
//! connection (SSH, or the local transport), pinning the host key on first connect.

use std::sync::Arc;

use async_trait::async_trait;
use paasportal_core::TransportKind;
use paasportal_core::diagnostics::{ErrorCode, Problem};
use serde_json::{Value, json};

use crate::context::StageContext;
use crate::credentials;
use crate::stage::{StageError, StageHandler, StageOutcome};
use crate::transport::{LocalTransport, SshTarget, SshTransport};

/// The spec's message for every SSH connection failure.
pub const SSH_FAILED: &str = "Failed to connect to server via SSH";

/// Opens the connection every later stage uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct Connecting;

fn internal(e: impl std::fmt::Display) -> StageError {
    StageError::new(
        format!("Cannot load the server's settings: {e}"),
        ErrorCode::Internal,
        Value::Null,
    )
}

#[async_trait]
impl StageHandler for Connecting {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        let server = cx.server();
        let kind = cx
            .store()
            .server_transport(server.id)
            .await
            .map_err(internal)?;
        if kind == TransportKind::Local {
            cx.info("Using the local transport: commands run on the control-plane host")
                .await;
            cx.set_transport(Arc::new(LocalTransport::new()));
            return Ok(StageOutcome::completed("Local transport ready"));
        }
        cx.info(&format!("Connecting to {}...", server.ip)).await;
        let sealed = cx
            .store()
            .get_server_secrets(server.id)
            .await
            .map_err(internal)?;
        let auth = credentials::ssh_auth(server, &sealed, cx.secrets(), cx.redactor())?;
        let details = json!({
            "vm_ip": server.ip,
            "ssh_port": server.ssh_port,
            "ssh_method": auth.method(),
            "ssh_user": server.ssh_user,
        });
        let target = SshTarget {
            host: server.ip.clone(),
            port: server.ssh_port,
            user: server.ssh_user.clone(),
            auth,
            pinned_host_key: sealed.host_key.clone(),
        };
        let connect = tokio::select! {
            r = SshTransport::connect(&target, &cx.config().ssh) => r,
            _ = cx.cancel_token().cancelled() => return Err(StageError::stopped()),
        };
        let transport = connect.map_err(|e| {
            let mut d = details.clone();
            d["error"] = json!(e.message);
            StageError::problem(SSH_FAILED, Problem::SshConnection, e.code, d)
        })?;
        if sealed.host_key.is_none() {
            let key = transport.host_key();
            cx.store()
                .pin_host_key(server.id, &key.openssh, &key.fingerprint)
                .await
                .map_err(internal)?;
            cx.log(
                paasportal_core::LogLevel::Info,
                &format!(
                    "Pinned the server's host key on first connection: {}",
                    key.fingerprint
                ),
                json!({"host_key_fingerprint": key.fingerprint}),
            )
            .await;
        }
        cx.set_transport(Arc::new(transport));
        Ok(StageOutcome::completed("SSH connection established"))
    }

    fn alters_environment(&self) -> bool {
        false
    }
}
