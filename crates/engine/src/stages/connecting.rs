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
        // Lines name the server, never its address, SSH user, port or host key: every
        // viewer of the project reads them, and only the organization's admins may see
        // the server. Those details go to the operator's log.
        cx.info(&format!("Connecting to {}...", server.name)).await;
        let sealed = cx
            .store()
            .get_server_secrets(server.id)
            .await
            .map_err(internal)?;
        let auth = credentials::ssh_auth(server, &sealed, cx.secrets(), cx.redactor())?;
        let details = json!({
            "server": server.name,
            "ssh_method": auth.method(),
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
            tracing::warn!(
                deployment_id = %cx.deployment().id,
                server_id = %server.id,
                error_code = %e.code,
                error = %e.message,
                "SSH connection failed"
            );
            let mut d = details.clone();
            d["error"] = json!(e.public);
            StageError::problem(SSH_FAILED, Problem::SshConnection, e.code, d)
        })?;
        if sealed.host_key.is_none() {
            let key = transport.host_key();
            cx.store()
                .pin_host_key(server.id, &key.openssh, &key.fingerprint)
                .await
                .map_err(internal)?;
            tracing::info!(
                server_id = %server.id,
                fingerprint = %key.fingerprint,
                "pinned the server's host key on first connection"
            );
            cx.info("Pinned the server's host key on first connection (its fingerprint is in Server Settings)")
                .await;
        }
        cx.set_transport(Arc::new(transport));
        Ok(StageOutcome::completed("SSH connection established"))
    }

    fn alters_environment(&self) -> bool {
        false
    }
}
