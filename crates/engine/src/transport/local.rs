//! The local transport: runs commands on the control-plane host, for single-box set-ups.
//!
//! Each command runs as `sh -c` in a process group of its own, with a clean environment
//! (paasportal's own variables, such as its master key, never reach a command), so that
//! a timeout, a cancel or a dropped future kills the command and everything it started.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Stdio;

use async_trait::async_trait;
use paasportal_core::shell::ShellCommand;
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::sync::mpsc;

use super::lines::LineSplitter;
use super::{
    ExecError, ExecLimits, ExitStatus, OutputLine, OutputStream, Stdin, Transport, feed, send_line,
};

const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Runs commands on this host.
#[derive(Debug, Clone, Default)]
pub struct LocalTransport;

impl LocalTransport {
    /// The local transport.
    pub fn new() -> Self {
        LocalTransport
    }
}

/// Kills a process group when dropped, unless disarmed.
struct GroupKiller {
    pgid: Option<i32>,
}

impl GroupKiller {
    fn kill(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            // SAFETY: killpg only sends a signal; a stale group id yields ESRCH, which is fine.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for GroupKiller {
    fn drop(&mut self) {
        self.kill();
    }
}

#[async_trait]
impl Transport for LocalTransport {
    fn describe(&self) -> String {
        "local".into()
    }

    async fn exec_streaming(
        &self,
        cmd: &ShellCommand,
        input: Option<&mut Stdin<'_>>,
        output: mpsc::Sender<OutputLine>,
        limits: &ExecLimits,
    ) -> Result<ExitStatus, ExecError> {
        cmd.check()?;
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(OsStr::from_bytes(cmd.as_bytes()))
            .env_clear()
            .env("PATH", PATH)
            .env("LANG", "C.UTF-8")
            .stdin(if input.is_none() {
                Stdio::null()
            } else {
                Stdio::piped()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(home) = std::env::var_os("HOME") {
            command.env("HOME", home);
        }
        let mut child = command
            .spawn()
            .map_err(|e| ExecError::Spawn(e.to_string()))?;
        let mut killer = GroupKiller {
            pgid: child.id().map(|p| p as i32),
        };
        // Stdin is copied beside the output loop, so that a command writing while it reads
        // cannot stall; then closed. A command that stops reading ends the copy.
        let pipe = child.stdin.take();
        let mut feeding = pipe.is_some();
        let feed = async move {
            match pipe {
                Some(pipe) => feed(input, pipe).await,
                None => Ok(()),
            }
        };
        tokio::pin!(feed);
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let (mut out_lines, mut err_lines) = (LineSplitter::new(), LineSplitter::new());
        let (mut out_buf, mut err_buf) = (vec![0u8; 8192], vec![0u8; 8192]);
        let (mut out_open, mut err_open) = (true, true);
        let mut status: Option<std::process::ExitStatus> = None;
        let deadline = tokio::time::sleep(limits.timeout);
        tokio::pin!(deadline);

        let stop = loop {
            if !out_open && !err_open && status.is_some() {
                break None;
            }
            let (stream, lines) = tokio::select! {
                n = stdout.read(&mut out_buf), if out_open => match n {
                    Ok(0) | Err(_) => { out_open = false; (OutputStream::Stdout, out_lines.finish().into_iter().collect()) }
                    Ok(n) => (OutputStream::Stdout, out_lines.push(&out_buf[..n])),
                },
                n = stderr.read(&mut err_buf), if err_open => match n {
                    Ok(0) | Err(_) => { err_open = false; (OutputStream::Stderr, err_lines.finish().into_iter().collect()) }
                    Ok(n) => (OutputStream::Stderr, err_lines.push(&err_buf[..n])),
                },
                r = &mut feed, if feeding => {
                    feeding = false;
                    if let Err(stop) = r {
                        break Some(stop);
                    }
                    (OutputStream::Stdout, Vec::new())
                }
                s = child.wait(), if status.is_none() => {
                    status = Some(s.map_err(|e| ExecError::Spawn(e.to_string()))?);
                    (OutputStream::Stdout, Vec::new())
                }
                _ = deadline.as_mut() => break Some(super::Stop::Timeout),
                _ = limits.cancel.cancelled() => break Some(super::Stop::Cancelled),
            };
            for bytes in lines {
                if let Err(stop) = send_line(
                    &output,
                    OutputLine { stream, bytes },
                    &mut deadline,
                    &limits.cancel,
                )
                .await
                {
                    killer.kill();
                    return Err(stop.into_error(limits.timeout));
                }
            }
        };
        if let Some(stop) = stop {
            killer.kill();
            let _ = child.wait().await;
            return Err(stop.into_error(limits.timeout));
        }
        // The command ended by itself: what it started in the background (detached from
        // its output) keeps running, as it would over SSH.
        killer.pgid = None;
        let status = status.expect("loop ends only once the child has exited");
        use std::os::unix::process::ExitStatusExt;
        Ok(ExitStatus {
            code: status.code().map(|c| c as u32),
            signal: status.signal().map(signal_name),
        })
    }

    async fn close(&self) {}
}

fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGKILL => "KILL".into(),
        libc::SIGTERM => "TERM".into(),
        libc::SIGINT => "INT".into(),
        libc::SIGHUP => "HUP".into(),
        libc::SIGPIPE => "PIPE".into(),
        libc::SIGSEGV => "SEGV".into(),
        libc::SIGABRT => "ABRT".into(),
        other => other.to_string(),
    }
}
