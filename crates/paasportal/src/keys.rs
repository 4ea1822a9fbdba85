//! Keys that must survive restarts: from configuration, else generated once into the
//! data directory with 0600 permissions.

use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use paasportal_core::SecretBox;

/// Loads `configured` (base64) or the key file `name` in `data_dir`, creating it if absent.
pub fn load_or_generate(
    data_dir: &Path,
    name: &str,
    configured: Option<&str>,
    env: &str,
) -> anyhow::Result<Vec<u8>> {
    if let Some(b64) = configured {
        let key = STANDARD
            .decode(b64.trim())
            .with_context(|| format!("{env} is not valid base64"))?;
        if key.len() != 32 {
            bail!("{env} must decode to 32 bytes, got {}", key.len());
        }
        return Ok(key);
    }
    from_file(data_dir, name)
}

/// Like [`load_or_generate`], but a configured key may be longer than 32 bytes (HMAC keys).
pub fn load_or_generate_at_least_32(
    data_dir: &Path,
    name: &str,
    configured: Option<&str>,
    env: &str,
) -> anyhow::Result<Vec<u8>> {
    if let Some(b64) = configured {
        let key = STANDARD
            .decode(b64.trim())
            .with_context(|| format!("{env} is not valid base64"))?;
        if key.len() < 32 {
            bail!("{env} must decode to at least 32 bytes, got {}", key.len());
        }
        return Ok(key);
    }
    from_file(data_dir, name)
}

fn from_file(data_dir: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let key = STANDARD.decode(text.trim()).with_context(|| {
                format!(
                    "{} is not valid base64; delete it to generate a new key",
                    path.display()
                )
            })?;
            if key.len() != 32 {
                bail!(
                    "{} must hold 32 bytes of base64, got {}",
                    path.display(),
                    key.len()
                );
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretBox::generate_key().to_vec();
            write_private(&path, &STANDARD.encode(&key))?;
            tracing::info!(path = %path.display(), "generated a new key; back it up with the database");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_once_then_reused_with_0600() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_generate(dir.path(), "master.key", None, "X").unwrap();
        let b = load_or_generate(dir.path(), "master.key", None, "X").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        let mode = std::fs::metadata(dir.path().join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let configured = STANDARD.encode([7u8; 32]);
        assert_eq!(
            load_or_generate(dir.path(), "master.key", Some(&configured), "X").unwrap(),
            vec![7u8; 32]
        );
        assert!(load_or_generate(dir.path(), "master.key", Some("short"), "X").is_err());
        let long = STANDARD.encode([9u8; 48]);
        assert_eq!(
            load_or_generate_at_least_32(dir.path(), "jwt.key", Some(&long), "X").unwrap(),
            vec![9u8; 48]
        );
        assert!(
            load_or_generate_at_least_32(dir.path(), "jwt.key", Some(&configured[..20]), "X")
                .is_err()
        );
        let jwt = load_or_generate_at_least_32(dir.path(), "jwt.key", None, "X").unwrap();
        assert_eq!(jwt.len(), 32);
        assert_ne!(jwt, a);
    }
}
