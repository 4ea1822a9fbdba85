//! One-line summaries of failures: what a deployment's `error_message` says.
//!
//! `error_message` is read in tables and notifications, so it is one line of at most
//! [`MAX_SUMMARY`] characters naming the cause ("Image postgres:15 is not on the server
//! and no registry is reachable"); the command that failed and its output travel in the
//! failure's structured `data`.

/// Longest `error_message`, in characters.
pub const MAX_SUMMARY: usize = 200;

/// `text` as one line of at most `max` characters: its first non-blank line, control
/// characters and runs of white space folded into one space, cut with `…` when longer.
pub fn one_line(text: &str, max: usize) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut out = String::with_capacity(line.len().min(max * 4));
    let mut space = false;
    for c in line.trim().chars() {
        if c.is_whitespace() || c.is_control() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    if out.chars().count() <= max {
        return out;
    }
    let mut cut: String = out.chars().take(max.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

/// A short name for a command line as [`crate::shell::ShellCommand::display`] shows it:
/// its program, plus its first argument when that is a quoted plain word (`docker run`,
/// `git clone`); for a script, its first word.
pub fn command_label(display: &str) -> String {
    let mut words = display.split_whitespace();
    let program = words.next().unwrap_or("").trim_matches('\'');
    let sub = words.next().and_then(|w| {
        let inner = w.strip_prefix('\'')?.strip_suffix('\'')?;
        let plain = !inner.is_empty()
            && !inner.starts_with('-')
            && inner
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
        plain.then_some(inner)
    });
    let label = match sub {
        Some(s) => format!("{program} {s}"),
        None => program.to_owned(),
    };
    label.chars().take(40).collect()
}

/// The cause of a failed command, from its last output lines: a known Docker problem in
/// plain words, else the last line that reads like an error, else the last line.
pub fn cause(output: &[String]) -> Option<String> {
    let lines: Vec<&str> = output
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with("See '") && !l.starts_with("Run '"))
        .collect();
    let all = lines.join("\n");
    if let Some(known) = known_docker_cause(&all) {
        return Some(known);
    }
    let erroneous = |l: &&&str| {
        let lower = l.to_ascii_lowercase();
        [
            "error",
            "fatal",
            "denied",
            "refused",
            "not found",
            "failed",
            "no such",
            "cannot",
            "unable",
        ]
        .iter()
        .any(|w| lower.contains(w))
    };
    let line = lines
        .iter()
        .rev()
        .find(erroneous)
        .or(lines.last())
        .copied()?;
    let line = line.strip_prefix("docker: ").unwrap_or(line);
    let line = line
        .strip_prefix("Error response from daemon: ")
        .unwrap_or(line);
    Some(line.to_owned())
}

/// Docker's words for an image it cannot get, said plainly.
fn known_docker_cause(output: &str) -> Option<String> {
    let image = between(output, "Unable to find image '", "' locally")
        .or_else(|| between(output, "pull access denied for ", ","))
        .or_else(|| between(output, "manifest for ", " not found"))?;
    let lower = output.to_ascii_lowercase();
    let unreachable = [
        "dial tcp",
        "no such host",
        "server misbehaving",
        "i/o timeout",
        "tls handshake timeout",
        "client.timeout",
        "connection refused",
        "network is unreachable",
        "temporary failure in name resolution",
    ];
    if unreachable.iter().any(|w| lower.contains(w)) {
        Some(format!(
            "Image {image} is not on the server and no registry is reachable"
        ))
    } else if lower.contains("pull access denied")
        || lower.contains("unauthorized")
        || lower.contains("denied:")
    {
        Some(format!(
            "Image {image} is not on the server and its registry refused access (missing or wrong credentials, or no such repository)"
        ))
    } else if lower.contains("manifest unknown") || lower.contains("not found") {
        Some(format!("Image {image} does not exist in its registry"))
    } else {
        None
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    let s = &text[from..from + len];
    (!s.is_empty() && !s.contains('\n')).then_some(s)
}

/// The summary of a command that exited unsuccessfully: "`docker run` failed with exit
/// code 125: Image postgres:15 is not on the server and no registry is reachable".
pub fn command_failed(display: &str, status: &str, output: &[String]) -> String {
    let head = format!("`{}` failed with {status}", command_label(display));
    let text = match cause(output) {
        Some(c) => format!("{head}: {c}"),
        None => head,
    };
    one_line(&text, MAX_SUMMARY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_folds_and_cuts() {
        assert_eq!(one_line("  a\tb \r\n second line", 200), "a b");
        assert_eq!(one_line("\n\nfirst\n", 200), "first");
        let long = "x".repeat(500);
        let cut = one_line(&long, 200);
        assert_eq!(cut.chars().count(), 200);
        assert!(cut.ends_with('…'));
        assert_eq!(one_line("é".repeat(300).as_str(), 10).chars().count(), 10);
        assert_eq!(one_line("", 200), "");
        assert_eq!(one_line("a\u{1b}[31mb", 200), "a [31mb");
    }

    #[test]
    fn labels_name_the_program_and_its_subcommand() {
        assert_eq!(
            command_label("docker 'run' '--detach' '--name' 'x'"),
            "docker run"
        );
        assert_eq!(command_label("docker '--host' 'x' 'ps'"), "docker");
        assert_eq!(command_label("echo network exists >&2; exit 7"), "echo");
        assert_eq!(
            command_label("'/usr/bin/git' 'clone'"),
            "/usr/bin/git clone"
        );
        assert_eq!(command_label(""), "");
    }

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_owned).collect()
    }

    #[test]
    fn docker_image_problems_read_plainly() {
        let offline = lines(
            "Unable to find image 'postgres:15' locally\n\
             docker: Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io on 127.0.0.53:53: server misbehaving.\n\
             See 'docker run --help'.",
        );
        assert_eq!(
            command_failed(
                "docker 'run' '--detach' 'postgres:15'",
                "exit code 125",
                &offline
            ),
            "`docker run` failed with exit code 125: Image postgres:15 is not on the server and no registry is reachable"
        );
        let missing = lines(
            "Unable to find image 'paasportal/nope:1' locally\n\
             docker: Error response from daemon: manifest for paasportal/nope:1 not found: manifest unknown: manifest unknown.",
        );
        assert_eq!(
            cause(&missing).unwrap(),
            "Image paasportal/nope:1 does not exist in its registry"
        );
        let denied = lines(
            "Error response from daemon: pull access denied for registry.example.com/odoo, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
        );
        assert!(cause(&denied).unwrap().starts_with(
            "Image registry.example.com/odoo is not on the server and its registry refused access"
        ));
    }

    #[test]
    fn other_failures_take_their_error_line() {
        let out = lines("starting\nError: No such container: x_db\nbye");
        assert_eq!(
            command_failed("docker 'start' 'x_db'", "exit code 1", &out),
            "`docker start` failed with exit code 1: Error: No such container: x_db"
        );
        assert_eq!(
            command_failed("false", "exit code 1", &[]),
            "`false` failed with exit code 1"
        );
        assert_eq!(
            command_failed("sh", "exit code 7", &lines("network exists")),
            "`sh` failed with exit code 7: network exists"
        );
        let huge = vec![format!("error: {}", "y".repeat(10_000))];
        let s = command_failed(
            &format!("docker 'run' {}", "'a' ".repeat(3000)),
            "exit code 1",
            &huge,
        );
        assert!(s.chars().count() <= MAX_SUMMARY);
        assert!(!s.contains('\n'));
    }
}
