//! Odoo versions a portal admin offers, and the image each one runs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An Odoo version and its Docker image. Registry credentials are write-only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OdooVersion {
    pub id: Uuid,
    /// e.g. "18.0".
    pub version: String,
    /// e.g. "odoo:18.0" or "registry.example.com/namespace/odoo:18.0".
    pub image: String,
    pub registry_username: Option<String>,
    pub has_registry_password: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OdooVersion {
    /// The major version number, e.g. 18 for "18.0"; 0 when unparsable.
    pub fn major(&self) -> u32 {
        major_of(&self.version)
    }
}

/// The major version number of a version string such as "18.0".
pub fn major_of(version: &str) -> u32 {
    version
        .split('.')
        .next()
        .and_then(|m| m.trim().parse().ok())
        .unwrap_or(0)
}
