//! The one-time migration restore: the backup ZIP (`dump.sql`, `filestore.tar.gz`,
//! `manifest.json`) fetched from S3-compatible storage, checked against its manifest
//! on the control plane before anything touches the server, and the restore steps
//! run on the server as argument vectors whose input is streamed from the checked files.

pub mod archive;
pub mod manifest;
pub mod progress;
pub mod restore;
pub mod storage;

pub use archive::{ArchiveError, CheckedBackup, check_and_extract};
pub use manifest::{DUMP_FILE, FILESTORE_FILE, MANIFEST_FILE, Manifest, ManifestEntry};
pub use progress::RestorePhase;
pub use restore::{RestoreInput, RestoreStep, StdinSource, restore_steps, sanitize_sql};
pub use storage::{BackupStorage, StorageConfig, StorageError};
