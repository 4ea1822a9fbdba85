//! Process-wide log output.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber: `level` is a level or tracing directives.
pub fn init(level: &str, format: LogFormat) -> anyhow::Result<()> {
    let filter = parse_filter(level)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Pretty => builder.compact().init(),
    }
    Ok(())
}

const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// A plain level, or tracing directives such as `info,paasportal_store=debug`.
/// A bare word that is not a level is refused rather than read as a target name.
fn parse_filter(level: &str) -> anyhow::Result<EnvFilter> {
    let invalid = |why: String| {
        anyhow::anyhow!(
            "invalid PAASPORTAL_LOG_LEVEL '{level}': {why} (use one of {} or directives like info,paasportal_store=debug)",
            LEVELS.join(", ")
        )
    };
    let plain = !level.contains(['=', ',']);
    if plain && !LEVELS.contains(&level.trim().to_ascii_lowercase().as_str()) {
        return Err(invalid("not a level".into()));
    }
    EnvFilter::try_new(level).map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::parse_filter;

    #[test]
    fn levels_and_directives() {
        for ok in [
            "info",
            "DEBUG",
            "warn",
            "info,paasportal_store=debug",
            "paasportal=trace",
        ] {
            assert!(parse_filter(ok).is_ok(), "{ok}");
        }
        for bad in ["loud!!", "verbose", ""] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }
}
