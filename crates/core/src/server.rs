//! Servers (VMs) that environments are deployed onto.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text_enum;

text_enum! {
    /// How paasportal authenticates to a server over SSH.
    pub enum AuthMethod: "auth method" {
        Key = "key",
        Password = "password",
    }
}

text_enum! {
    /// How the engine reaches a server: over SSH, or on the control-plane host itself.
    pub enum TransportKind: "transport" {
        Ssh = "ssh",
        Local = "local",
    }
}

/// A server as the API shows it. Credentials are write-only and never part of this type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Server {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub ip: String,
    pub ssh_port: u16,
    pub ssh_user: String,
    pub auth_method: AuthMethod,
    /// SHA-256 fingerprint of the host key pinned on first connect.
    pub host_key_fingerprint: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Decrypted SSH credentials, only ever held in memory by the engine.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerCredentials {
    pub private_key: Option<String>,
    pub key_passphrase: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for ServerCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerCredentials(***)")
    }
}
