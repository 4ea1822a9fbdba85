//! Process-wide log output.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber: `level` is a level or tracing directives.
pub fn init(level: &str, format: LogFormat) -> anyhow::Result<()> {
    let filter = parse_filter(level)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(use_colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        ))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Pretty => builder.compact().init(),
    }
    Ok(())
}

/// Colour codes only for a terminal, and not when `NO_COLOR` is set (no-color.org): a
/// file, a pipe or journald gets plain text.
fn use_colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
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
    use super::{parse_filter, use_colour};

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some(OsStr::new(""))));
        assert!(!use_colour(false, None));
        assert!(!use_colour(true, Some(OsStr::new("1"))));
    }

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
