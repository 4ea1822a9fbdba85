//! The saved session: server URL and tokens, in a 0600 file under the user's config dir.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::CliError;

/// What `login` saves and every other command reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub server: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// `$PAASPORTAL_CONFIG_DIR`, else `$XDG_CONFIG_HOME/paasportal`, else `~/.config/paasportal`.
pub fn config_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("PAASPORTAL_CONFIG_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("paasportal");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".config/paasportal")
}

fn path() -> PathBuf {
    config_dir().join("credentials.json")
}

impl Credentials {
    /// The saved session, if any.
    pub fn load() -> Result<Option<Credentials>, CliError> {
        let p = path();
        match std::fs::read(&p) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                CliError::Invalid(format!(
                    "{} is corrupt ({e}); run `paasportal login` again",
                    p.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(CliError::File {
                path: p.display().to_string(),
                source,
            }),
        }
    }

    /// Writes the session, readable by the owner only.
    pub fn save(&self) -> Result<(), CliError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let p = path();
        let file_err = |source| CliError::File {
            path: p.display().to_string(),
            source,
        };
        std::fs::create_dir_all(config_dir()).map_err(file_err)?;
        let tmp = p.with_extension("json.tmp");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(file_err)?;
        f.write_all(&serde_json::to_vec_pretty(self).expect("credentials serialize"))
            .map_err(file_err)?;
        std::fs::rename(&tmp, &p).map_err(file_err)
    }

    /// Forgets the session.
    pub fn remove() -> Result<(), CliError> {
        match std::fs::remove_file(path()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(CliError::File {
                path: path().display().to_string(),
                source,
            }),
        }
    }
}
