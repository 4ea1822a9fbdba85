//! The one shell-quoting function, and command lines built from quoted arguments.
//!
//! Every argument that reaches a remote (or local) shell goes through [`quote`]: POSIX
//! single quotes, inside which a shell interprets nothing, with each `'` written as
//! `'\''`. This holds for any byte except NUL, which no argument can carry (argv is a
//! list of C strings); [`ShellCommand::check`] refuses it instead of truncating silently.

use std::fmt;

/// Why a command line cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    /// An argument contained a NUL byte, which a shell argument cannot hold.
    #[error(
        "argument {index} of the command contains a NUL byte, which a shell argument cannot hold"
    )]
    NulByte { index: usize },
}

/// Quotes `arg` so that a POSIX shell reads it back as exactly these bytes, as one word.
///
/// The result is `'…'` with every `'` replaced by `'\''`; the empty argument is `''`.
/// NUL bytes are passed through unchanged; [`ShellCommand`] refuses them before running.
pub fn quote(arg: impl AsRef<[u8]>) -> Vec<u8> {
    let arg = arg.as_ref();
    let mut out = Vec::with_capacity(arg.len() + 2);
    out.push(b'\'');
    for &b in arg {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
    out
}

/// A complete command line for `sh -c`, built from trusted shell syntax and quoted arguments.
///
/// `ShellCommand::new("docker").arg("network").arg("create").arg(name)` quotes every
/// argument; [`ShellCommand::raw`] appends trusted syntax (`&&`, `|`, `2>&1`) verbatim.
#[derive(Clone, PartialEq, Eq)]
pub struct ShellCommand {
    line: Vec<u8>,
    args: usize,
    invalid: Option<ShellError>,
}

impl ShellCommand {
    /// Starts a command with a trusted program name or shell snippet, written verbatim.
    pub fn new(program: &str) -> Self {
        ShellCommand {
            line: program.as_bytes().to_vec(),
            args: 0,
            invalid: None,
        }
    }

    /// A whole trusted script, written verbatim (no user data may be interpolated into it).
    pub fn script(script: &str) -> Self {
        Self::new(script)
    }

    /// Appends one quoted argument.
    pub fn arg(mut self, arg: impl AsRef<[u8]>) -> Self {
        let arg = arg.as_ref();
        self.args += 1;
        if self.invalid.is_none() && arg.contains(&0) {
            self.invalid = Some(ShellError::NulByte { index: self.args });
        }
        if !self.line.is_empty() {
            self.line.push(b' ');
        }
        self.line.extend_from_slice(&quote(arg));
        self
    }

    /// Appends several quoted arguments.
    pub fn args<I, A>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    /// Appends trusted shell syntax verbatim, separated by a space.
    pub fn raw(mut self, syntax: &str) -> Self {
        if !self.line.is_empty() {
            self.line.push(b' ');
        }
        self.line.extend_from_slice(syntax.as_bytes());
        self
    }

    /// Errors when an argument cannot be passed to a shell (it holds a NUL byte).
    pub fn check(&self) -> Result<(), ShellError> {
        match &self.invalid {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// The command line's bytes, as sent to `sh -c`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.line
    }

    /// The command line for display (non-UTF-8 bytes replaced); redact before logging.
    pub fn display(&self) -> String {
        String::from_utf8_lossy(&self.line).into_owned()
    }
}

impl fmt::Debug for ShellCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShellCommand({:?})", self.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_posix_single_quotes() {
        assert_eq!(quote("abc"), b"'abc'");
        assert_eq!(quote(""), b"''");
        assert_eq!(quote("it's"), b"'it'\\''s'");
        assert_eq!(quote("$(rm -rf /)"), b"'$(rm -rf /)'");
        assert_eq!(quote([0xff, b'\n']), [b'\'', 0xff, b'\n', b'\'']);
    }

    #[test]
    fn commands_join_quoted_arguments() {
        let c = ShellCommand::new("docker")
            .arg("network")
            .arg("create")
            .arg("net; rm -rf /")
            .raw("2>&1");
        assert_eq!(
            c.display(),
            "docker 'network' 'create' 'net; rm -rf /' 2>&1"
        );
        assert!(c.check().is_ok());
        let bad = ShellCommand::new("echo").arg("ok").arg(b"a\0b");
        assert_eq!(bad.check(), Err(ShellError::NulByte { index: 2 }));
    }
}
