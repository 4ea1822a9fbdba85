//! How the engine runs commands on a server: one trait, two implementations.
//!
//! [`ssh::SshTransport`] runs them on a remote server over one SSH connection per
//! deployment; [`local::LocalTransport`] runs the same commands on the control-plane host.
//! Both stream stdout and stderr line by line, report exit codes, and kill the command
//! (its whole process group) when its timeout passes, its deployment is cancelled, or the
//! future running it is dropped.

pub mod lines;
pub mod local;
pub mod ssh;

use std::time::Duration;

use async_trait::async_trait;
use paasportal_core::shell::{ShellCommand, ShellError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use local::LocalTransport;
pub use ssh::{SshAuth, SshConnectError, SshOptions, SshTarget, SshTransport};

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

impl OutputStream {
    /// `stdout` or `stderr`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputStream::Stdout => "stdout",
            OutputStream::Stderr => "stderr",
        }
    }
}

/// One line of a command's output, without its line ending. Bytes, as the command wrote them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    pub stream: OutputStream,
    pub bytes: Vec<u8>,
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExitStatus {
    /// The exit code, when the command exited by itself.
    pub code: Option<u32>,
    /// The signal's name, when a signal ended it.
    pub signal: Option<String>,
}

impl ExitStatus {
    /// True for exit code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// "exit code 2" or "signal KILL".
    pub fn describe(&self) -> String {
        match (&self.code, &self.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("signal {s}"),
            (None, None) => "no exit status".into(),
        }
    }
}

/// What a command reads on its stdin.
pub type Stdin<'a> = dyn AsyncRead + Send + Unpin + 'a;

/// Bounds for one command: a timeout and a cancel token. Either one kills it.
#[derive(Debug, Clone)]
pub struct ExecLimits {
    pub timeout: Duration,
    pub cancel: CancellationToken,
}

/// Why a command did not run to its own end.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExecError {
    #[error("command timed out after {:.1}s and was killed", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("command was cancelled and killed")]
    Cancelled,
    #[error("{0}")]
    Invalid(#[from] ShellError),
    #[error("connection to the server lost while the command ran: {0}")]
    ConnectionLost(String),
    #[error("the command could not be started: {0}")]
    Spawn(String),
    #[error("the command's input could not be read, so it was killed: {0}")]
    Input(String),
}

/// Runs commands on one server.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Where commands run, for messages: `ppdeploy@10.0.0.5:22` or `local`.
    fn describe(&self) -> String;

    /// Runs `cmd` with `sh -c`, sending each output line to `output` as it arrives.
    /// Returns the exit status; a non-zero exit is not an error here. Its stdin is empty.
    async fn exec(
        &self,
        cmd: &ShellCommand,
        output: mpsc::Sender<OutputLine>,
        limits: &ExecLimits,
    ) -> Result<ExitStatus, ExecError> {
        self.exec_with_input(cmd, &[], output, limits).await
    }

    /// Like [`Transport::exec`], with `input` written to the command's stdin, then closed.
    /// Content (a configuration file, a password for `--password-stdin`) travels this way
    /// so that it never appears on a command line.
    async fn exec_with_input(
        &self,
        cmd: &ShellCommand,
        input: &[u8],
        output: mpsc::Sender<OutputLine>,
        limits: &ExecLimits,
    ) -> Result<ExitStatus, ExecError> {
        let mut reader = input;
        let stdin: Option<&mut Stdin<'_>> = if input.is_empty() {
            None
        } else {
            Some(&mut reader)
        };
        self.exec_streaming(cmd, stdin, output, limits).await
    }

    /// Like [`Transport::exec_with_input`], with the command's stdin read from `input`
    /// while the command runs (a backup of any size, never held in memory whole), then
    /// closed. `None`: the command's stdin is empty.
    async fn exec_streaming(
        &self,
        cmd: &ShellCommand,
        input: Option<&mut Stdin<'_>>,
        output: mpsc::Sender<OutputLine>,
        limits: &ExecLimits,
    ) -> Result<ExitStatus, ExecError>;

    /// Closes the connection (a no-op for the local transport).
    async fn close(&self);
}

/// Sends a line unless the command's limits end first; false when they did.
pub(crate) async fn send_line(
    output: &mpsc::Sender<OutputLine>,
    line: OutputLine,
    deadline: &mut std::pin::Pin<&mut tokio::time::Sleep>,
    cancel: &CancellationToken,
) -> Result<(), Stop> {
    tokio::select! {
        r = output.send(line) => { let _ = r; Ok(()) }
        _ = deadline.as_mut() => Err(Stop::Timeout),
        _ = cancel.cancelled() => Err(Stop::Cancelled),
    }
}

/// Why a running command is being stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    Timeout,
    Cancelled,
    /// Reading its stdin failed: it must not take a truncated input for a whole one.
    Input(String),
}

impl Stop {
    pub(crate) fn into_error(self, timeout: Duration) -> ExecError {
        match self {
            Stop::Timeout => ExecError::Timeout(timeout),
            Stop::Cancelled => ExecError::Cancelled,
            Stop::Input(why) => ExecError::Input(why),
        }
    }
}

/// Bytes read from a command's input per write.
const FEED_CHUNK: usize = 64 * 1024;

/// Copies `input` into a command's stdin `pipe`, then closes it. A failed write (the
/// command stopped reading or ended) ends the copy quietly, its exit status telling
/// what happened; a failed read is returned.
pub(crate) async fn feed(
    input: Option<&mut Stdin<'_>>,
    mut pipe: impl AsyncWrite + Unpin,
) -> Result<(), Stop> {
    if let Some(reader) = input {
        let mut buf = vec![0u8; FEED_CHUNK];
        loop {
            let n = reader
                .read(&mut buf)
                .await
                .map_err(|e| Stop::Input(e.to_string()))?;
            if n == 0 {
                break;
            }
            if pipe.write_all(&buf[..n]).await.is_err() {
                return Ok(());
            }
        }
    }
    let _ = pipe.shutdown().await;
    Ok(())
}
