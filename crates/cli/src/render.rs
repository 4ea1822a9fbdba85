//! Terminal output: colours (off when not a terminal or when `NO_COLOR` is set),
//! log lines, step icons, durations.

use std::io::IsTerminal;

use serde_json::Value;

/// Whether to colour standard output.
pub fn colour() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

/// Wraps `s` in an ANSI style when colour is on.
pub fn paint(s: &str, code: &str, on: bool) -> String {
    if on {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_owned()
    }
}

/// The style of a log level.
pub fn level_style(level: &str) -> &'static str {
    match level {
        "error" => "1;31",
        "warning" => "33",
        "debug" => "2",
        _ => "32",
    }
}

/// One log line: `14:32:15 INFO    pulling_image       Image ready (12.4s)`, then its
/// structured data indented below when there is any (troubleshooting steps as a list).
pub fn log_line(
    timestamp: &str,
    level: &str,
    step: Option<&str>,
    message: &str,
    data: &Value,
    on: bool,
) -> String {
    let time = timestamp.get(11..19).unwrap_or(timestamp);
    let mut out = format!(
        "{} {} {} {}",
        paint(time, "2", on),
        paint(
            &format!("{:<7}", level.to_uppercase()),
            level_style(level),
            on
        ),
        paint(&format!("{:<23}", step.unwrap_or("-")), "36", on),
        message
    );
    if let Value::Object(map) = data {
        for (k, v) in map {
            match (k.as_str(), v) {
                ("troubleshooting", Value::Array(items)) => {
                    out.push_str(&format!("\n{}", paint("      what to try:", "1", on)));
                    for item in items {
                        out.push_str(&format!(
                            "\n        • {}",
                            item.as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| item.to_string())
                        ));
                    }
                }
                (_, Value::String(s)) => {
                    out.push_str(&format!("\n      {}: {s}", paint(k, "2", on)))
                }
                _ => out.push_str(&format!("\n      {}: {v}", paint(k, "2", on))),
            }
        }
    }
    out
}

/// The spec's step icons: ✓ completed, ⟳ running, ✗ failed, ○ pending (plus ! warning, – skipped).
pub fn step_icon(status: &str, on: bool) -> String {
    match status {
        "completed" => paint("✓", "32", on),
        "running" => paint("⟳", "36", on),
        "failed" => paint("✗", "1;31", on),
        "warning" => paint("!", "33", on),
        "skipped" => paint("–", "2", on),
        _ => paint("○", "2", on),
    }
}

/// A deployment status, coloured, padded to `width`.
pub fn status_padded(status: &str, width: usize, on: bool) -> String {
    let padded = format!("{status:<width$}");
    paint(&padded, status_code(status), on)
}

/// A deployment status, coloured.
pub fn status(status: &str, on: bool) -> String {
    paint(status, status_code(status), on)
}

fn status_code(status: &str) -> &'static str {
    match status {
        "success" => "1;32",
        "failed" => "1;31",
        "cancelled" => "33",
        "running" => "36",
        _ => "2",
    }
}

/// `12.4s`, or `3.1 min` past a minute.
pub fn seconds(s: Option<f64>) -> String {
    match s {
        Some(s) if s >= 60.0 => format!("{:.1} min", s / 60.0),
        Some(s) => format!("{s:.1}s"),
        None => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_show_data_and_troubleshooting() {
        let data = serde_json::json!({
            "error_code": "AUTH_FAILED",
            "troubleshooting": ["Verify server IP and SSH port", "Test SSH manually"],
        });
        let s = log_line(
            "2025-01-08T14:33:12Z",
            "error",
            Some("connecting"),
            "Failed to connect",
            &data,
            false,
        );
        assert!(s.starts_with("14:33:12 ERROR   connecting"));
        assert!(s.contains("error_code: AUTH_FAILED"));
        assert!(s.contains("• Test SSH manually"));
        assert_eq!(seconds(Some(187.3)), "3.1 min");
        assert_eq!(seconds(Some(12.44)), "12.4s");
        assert_eq!(step_icon("completed", false), "✓");
    }
}
