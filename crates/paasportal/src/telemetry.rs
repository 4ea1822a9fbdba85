//! Process-wide log output.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber: `level` is a level or tracing directives.
pub fn init(level: &str, format: LogFormat) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(level).map_err(|e| {
        anyhow::anyhow!("invalid PAASPORTAL_LOG_LEVEL '{level}': {e} (use e.g. info or debug)")
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Pretty => builder.compact().init(),
    }
    Ok(())
}
