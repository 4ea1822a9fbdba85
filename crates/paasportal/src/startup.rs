//! Start-up checks that turn common mistakes into one-line errors naming the fix.

use std::path::Path;

use anyhow::anyhow;
use paasportal_store::db::redact_url;
use paasportal_store::{ConnectOptions, Store, StoreError};

/// Makes every file this process creates private to its user (umask 077): the SQLite
/// database and its `-wal`/`-shm` files, generated keys, lock files.
pub fn private_files() {
    // SAFETY: umask only swaps the process's file-mode creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Creates the data directory if needed (0700), tightens what an older version left
/// readable to others in it (files to 0600), and proves it is writable.
pub fn ensure_data_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let fail = |e: std::io::Error| {
        anyhow!(
            "data directory {} is not writable: {e} (set PAASPORTAL_DATA_DIR or --data-dir to a writable directory)",
            dir.display()
        )
    };
    private_files();
    std::fs::create_dir_all(dir).map_err(fail)?;
    let private = |path: &Path, mode: u32| {
        if let Ok(meta) = std::fs::symlink_metadata(path)
            && meta.permissions().mode() & 0o077 != 0
            && let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        {
            tracing::warn!(path = %path.display(), error = %e, "cannot make private");
        }
    };
    private(dir, 0o700);
    for entry in std::fs::read_dir(dir).map_err(fail)?.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            private(&entry.path(), 0o600);
        }
    }
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"ok").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(())
}

/// Connects (retrying with backoff while unreachable) and migrates, or explains why not.
pub async fn open_store(url: &str, opts: &ConnectOptions) -> anyhow::Result<Store> {
    let e = match Store::open(url, opts).await {
        Ok(store) => return Ok(store),
        Err(e) => e,
    };
    Err(match e {
        StoreError::InvalidUrl { url, reason } => anyhow!(
            "invalid database URL '{url}': {reason} (set PAASPORTAL_DATABASE_URL to sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB)"
        ),
        e @ StoreError::SchemaTooNew { .. } => anyhow!("{e}"),
        e if e.is_unavailable() => {
            // The pool reports "pool timed out" whatever kept it from connecting: ask the
            // network what the cause is.
            let cause = match unreachable_cause(url).await {
                Some(cause) => cause,
                None => e.to_string(),
            };
            anyhow!(
                "cannot reach the database at {} after {} attempts: {cause} (is it running? check PAASPORTAL_DATABASE_URL)",
                redact_url(url),
                opts.attempts
            )
        }
        e => anyhow!("cannot open the database at {}: {e}", redact_url(url)),
    })
}

/// Why a PostgreSQL server's address cannot be reached ("connection refused", "no such
/// host", …), or `None` when it accepts TCP connections (or the URL names no host).
async fn unreachable_cause(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return None;
    }
    let host = parsed.host_str().filter(|h| !h.is_empty())?.to_owned();
    let addr = format!("{host}:{}", parsed.port().unwrap_or(5432));
    let connect = tokio::net::TcpStream::connect(addr.as_str());
    match tokio::time::timeout(std::time::Duration::from_secs(5), connect).await {
        Ok(Ok(_)) => None,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Some(format!("connection refused by {addr}"))
        }
        Ok(Err(e)) => Some(format!("cannot connect to {addr}: {e}")),
        Err(_) => Some(format!("connecting to {addr} timed out")),
    }
}

/// Binds the listen address, explaining the usual failures.
pub async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => anyhow!(
            "cannot listen on {addr}: address already in use (stop the other process or set PAASPORTAL_LISTEN / --listen)"
        ),
        std::io::ErrorKind::PermissionDenied => anyhow!(
            "cannot listen on {addr}: permission denied (use a port above 1024 or set PAASPORTAL_LISTEN / --listen)"
        ),
        _ => anyhow!("cannot listen on {addr}: {e} (set PAASPORTAL_LISTEN / --listen)"),
    })
}
