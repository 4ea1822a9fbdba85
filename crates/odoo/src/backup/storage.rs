//! Migration backups in S3-compatible storage (Cloudflare R2 in production, any S3
//! endpoint in tests), read with `object_store`'s S3 client: SigV4 signing, retries,
//! path-style requests to a custom endpoint, and streaming with progress.
//!
//! `object_store` 0.14 shares `reqwest` 0.13 and rustls with the rest of the tree,
//! so it costs only its own code; a hand-written SigV4 client would duplicate signing,
//! retry and error handling that this one has already proven against S3 and R2.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};
use tokio::io::AsyncWriteExt;

/// How long a download may wait for its next bytes before it is abandoned.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Where backups are kept. The secret key never appears in `Debug` output or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct StorageConfig {
    /// e.g. `https://<account>.r2.cloudflarestorage.com`, or `http://127.0.0.1:9000` in tests.
    pub endpoint: String,
    pub bucket: String,
    /// `auto` for R2.
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageConfig")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .finish()
    }
}

/// Why a backup could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    #[error("backup storage is misconfigured: {0}")]
    Config(String),
    #[error("backup {key:?} does not exist in bucket {bucket:?}")]
    NotFound { bucket: String, key: String },
    #[error("cannot read backup {key:?} from storage: {detail}")]
    Read { key: String, detail: String },
    #[error("backup download stalled: no data for {}s", IDLE_TIMEOUT.as_secs())]
    Stalled,
    #[error("cannot write the downloaded backup: {0}")]
    Local(String),
}

/// A bucket of backups.
#[derive(Debug, Clone)]
pub struct BackupStorage {
    store: Arc<dyn ObjectStore>,
    bucket: String,
}

impl BackupStorage {
    /// A client for `config`. Plain `http://` endpoints are allowed (local test servers).
    pub fn new(config: &StorageConfig) -> Result<Self, StorageError> {
        let options = ClientOptions::new()
            .with_allow_http(config.endpoint.starts_with("http://"))
            .with_connect_timeout(Duration::from_secs(10))
            .with_timeout_disabled();
        let store = AmazonS3Builder::new()
            .with_endpoint(&config.endpoint)
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_virtual_hosted_style_request(false)
            .with_client_options(options)
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
                ..RetryConfig::default()
            })
            .build()
            .map_err(|e| StorageError::Config(e.to_string()))?;
        Ok(BackupStorage {
            store: Arc::new(store),
            bucket: config.bucket.clone(),
        })
    }

    /// Downloads `key` to `dest`, calling `progress(done, total)` as bytes arrive.
    /// Returns the number of bytes written.
    pub async fn download(
        &self,
        key: &str,
        dest: &Path,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64, StorageError> {
        let path = ObjectPath::parse(key).map_err(|e| StorageError::Read {
            key: key.to_owned(),
            detail: e.to_string(),
        })?;
        let read_err = |e: object_store::Error| match e {
            object_store::Error::NotFound { .. } => StorageError::NotFound {
                bucket: self.bucket.clone(),
                key: key.to_owned(),
            },
            other => StorageError::Read {
                key: key.to_owned(),
                detail: other.to_string(),
            },
        };
        let result = self.store.get(&path).await.map_err(read_err)?;
        let total = result.meta.size;
        let mut stream = result.into_stream();
        let local = |e: std::io::Error| StorageError::Local(e.to_string());
        let mut file = tokio::fs::File::create(dest).await.map_err(local)?;
        let mut done = 0u64;
        progress(0, total);
        loop {
            let next = tokio::time::timeout(IDLE_TIMEOUT, stream.next())
                .await
                .map_err(|_| StorageError::Stalled)?;
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(read_err)?;
            file.write_all(&chunk).await.map_err(local)?;
            done += chunk.len() as u64;
            progress(done, total);
        }
        file.sync_all().await.map_err(local)?;
        Ok(done)
    }
}

/// Where a backup for migration `id` is downloaded: `{dir}/{id}.zip`.
pub fn download_path(dir: &Path, migration_id: uuid::Uuid) -> PathBuf {
    dir.join(format!("{migration_id}.zip"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret() {
        let c = StorageConfig {
            endpoint: "http://127.0.0.1:9000".into(),
            bucket: "b".into(),
            region: "auto".into(),
            access_key_id: "AKIA".into(),
            secret_access_key: "very-secret".into(),
        };
        assert!(!format!("{c:?}").contains("very-secret"));
        BackupStorage::new(&c).unwrap();
    }

    #[tokio::test]
    async fn unreachable_storage_is_a_read_error() {
        let port = paasportal_testkit::free_port();
        let c = StorageConfig {
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: "b".into(),
            region: "auto".into(),
            access_key_id: "AKIA".into(),
            secret_access_key: "very-secret".into(),
        };
        let s = BackupStorage::new(&c).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let e = s
            .download("m/backup.zip", &dir.path().join("x.zip"), |_, _| {})
            .await
            .unwrap_err();
        assert!(matches!(e, StorageError::Read { .. }), "{e}");
        assert!(!e.to_string().contains("very-secret"));
    }
}
