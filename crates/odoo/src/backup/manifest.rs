//! `manifest.json`: what the backup holds, with each file's size and SHA-256.
//!
//! ```json
//! {"format": 1, "database": "prod", "odoo_version": "17.0", "created_at": "2025-01-08T14:00:00Z",
//!  "files": {"dump.sql": {"size": 1234, "sha256": "…"},
//!            "filestore.tar.gz": {"size": 5678, "sha256": "…"}}}
//! ```
//! Only `files` is required; every entry of the ZIP other than the manifest must be listed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The manifest's name in the ZIP.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The plain-SQL `pg_dump` (made with `--no-owner`, without `--create`).
pub const DUMP_FILE: &str = "dump.sql";
/// The filestore as a gzip'd tar, relative to the filestore directory (optionally
/// wrapped in one `filestore/` directory).
pub const FILESTORE_FILE: &str = "filestore.tar.gz";

/// One file's expected size and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub size: u64,
    /// Lower-case hex SHA-256 of the file's bytes.
    pub sha256: String,
}

/// The parsed manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(default)]
    pub format: Option<u32>,
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub odoo_version: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    pub files: BTreeMap<String, ManifestEntry>,
}

/// Why a manifest is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest.json is not valid: {0}")]
    Parse(String),
    #[error("manifest.json does not list {0}")]
    Missing(&'static str),
    #[error("manifest.json entry {0:?} has an invalid sha256 (64 hex digits expected)")]
    BadDigest(String),
    #[error("manifest.json lists {0:?}, which is not a plain file name")]
    BadName(String),
}

impl Manifest {
    /// Parses and checks the manifest: both required files listed, digests well formed,
    /// names plain (no directories, no `..`).
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        let m: Manifest =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Parse(e.to_string()))?;
        for required in [DUMP_FILE, FILESTORE_FILE] {
            if !m.files.contains_key(required) {
                return Err(ManifestError::Missing(required));
            }
        }
        for (name, e) in &m.files {
            if name.is_empty()
                || name == MANIFEST_FILE
                || name.contains(['/', '\\'])
                || name.starts_with('.')
            {
                return Err(ManifestError::BadName(name.clone()));
            }
            if e.sha256.len() != 64 || !e.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ManifestError::BadDigest(name.clone()));
            }
        }
        Ok(m)
    }

    /// The total size of the files the manifest lists.
    pub fn total_size(&self) -> u64 {
        self.files.values().map(|e| e.size).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_checks() {
        let ok = format!(
            r#"{{"format":1,"database":"prod","files":{{"dump.sql":{{"size":1,"sha256":"{D}"}},"filestore.tar.gz":{{"size":2,"sha256":"{D}"}}}}}}"#
        );
        let m = Manifest::parse(ok.as_bytes()).unwrap();
        assert_eq!(m.total_size(), 3);
        assert_eq!(m.database.as_deref(), Some("prod"));
        assert!(matches!(
            Manifest::parse(b"{"),
            Err(ManifestError::Parse(_))
        ));
        let missing = format!(r#"{{"files":{{"dump.sql":{{"size":1,"sha256":"{D}"}}}}}}"#);
        assert_eq!(
            Manifest::parse(missing.as_bytes()),
            Err(ManifestError::Missing(FILESTORE_FILE))
        );
        let bad = ok.replacen(D, "xyz", 1);
        assert!(matches!(
            Manifest::parse(bad.as_bytes()),
            Err(ManifestError::BadDigest(_))
        ));
        let traversal = ok.replace(
            "\"dump.sql\":",
            &format!("\"../x\":{{\"size\":1,\"sha256\":\"{D}\"}},\"dump.sql\":"),
        );
        assert!(matches!(
            Manifest::parse(traversal.as_bytes()),
            Err(ManifestError::BadName(_))
        ));
    }
}
