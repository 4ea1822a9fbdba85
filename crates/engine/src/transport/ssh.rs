//! The SSH transport: one russh connection per deployment, every command on a channel of
//! its own, output streamed line by line, the remote process group killed (SSH `signal`
//! request, then channel close) when a command must stop.
//!
//! Host keys are pinned: the key a server presents on its first successful connection is
//! recorded, and any later connection presenting another key fails before authenticating,
//! naming both fingerprints.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use paasportal_core::diagnostics::ErrorCode;
use paasportal_core::shell::ShellCommand;
use russh::client::{self, Handle, Msg};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{ChannelMsg, ChannelWriteHalf, Disconnect, Sig};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};

use super::lines::LineSplitter;
use super::{
    ExecError, ExecLimits, ExitStatus, OutputLine, OutputStream, Stdin, Stop, Transport, feed,
    send_line,
};

/// How to authenticate. Never printed: `Debug` hides the secrets.
#[derive(Clone)]
pub enum SshAuth {
    /// A private key in OpenSSH or PEM format, with its passphrase when encrypted.
    Key {
        private_key: String,
        passphrase: Option<String>,
    },
    /// A password.
    Password(String),
}

impl SshAuth {
    /// The spec's `ssh_method`: `key` or `password`.
    pub fn method(&self) -> &'static str {
        match self {
            SshAuth::Key { .. } => "key",
            SshAuth::Password(_) => "password",
        }
    }
}

impl std::fmt::Debug for SshAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SshAuth::{}(***)", self.method())
    }
}

/// Where to connect and as whom.
#[derive(Debug, Clone)]
pub struct SshTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub auth: SshAuth,
    /// The host key pinned on first connect, in OpenSSH format; `None` to trust and pin.
    pub pinned_host_key: Option<String>,
}

/// Connection settings.
#[derive(Debug, Clone, Copy)]
pub struct SshOptions {
    /// Limit for TCP connect, handshake and authentication together.
    pub connect_timeout: Duration,
    /// Silence after which a keepalive is sent.
    pub keepalive_interval: Duration,
    /// Unanswered keepalives after which the connection counts as lost.
    pub keepalive_max: usize,
}

impl Default for SshOptions {
    fn default() -> Self {
        SshOptions {
            connect_timeout: Duration::from_secs(15),
            keepalive_interval: Duration::from_secs(15),
            keepalive_max: 3,
        }
    }
}

/// A server's host key: OpenSSH public-key line and SHA-256 fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKey {
    pub openssh: String,
    pub fingerprint: String,
}

impl HostKey {
    fn of(key: &PublicKey) -> HostKey {
        let mut plain = key.clone();
        plain.set_comment("");
        HostKey {
            openssh: plain
                .to_openssh()
                .unwrap_or_else(|_| key.algorithm().to_string()),
            fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
        }
    }
}

/// Why a connection could not be made, with the spec's `error_code`.
///
/// `message` names the address, the SSH user and host-key fingerprints, for those who
/// may see the server (the operator's log); `public` says the same without them, for
/// the deployment's log, which every viewer of the project reads.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SshConnectError {
    pub code: ErrorCode,
    pub message: String,
    pub public: String,
}

impl SshConnectError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let message = message.into();
        SshConnectError {
            code,
            public: message.clone(),
            message,
        }
    }

    /// The same error with `public` as its text without server details.
    fn public(mut self, public: impl Into<String>) -> Self {
        self.public = public.into();
        self
    }
}

/// Checks the server's host key against the pinned one and remembers what was presented.
struct Client {
    expected: Option<PublicKey>,
    presented: Arc<Mutex<Option<PublicKey>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key: PublicKey = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(cert) => cert.public_key().clone().into(),
        };
        let accept = match &self.expected {
            None => true,
            Some(expected) => expected.key_data() == key.key_data(),
        };
        *self.presented.lock().unwrap_or_else(|p| p.into_inner()) = Some(key);
        Ok(accept)
    }
}

/// One authenticated SSH connection.
pub struct SshTransport {
    handle: Handle<Client>,
    label: String,
    host_key: HostKey,
}

impl std::fmt::Debug for SshTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SshTransport({})", self.label)
    }
}

impl SshTransport {
    /// Connects, checks the host key, and authenticates, all within `connect_timeout`.
    pub async fn connect(
        target: &SshTarget,
        opts: &SshOptions,
    ) -> Result<SshTransport, SshConnectError> {
        let deadline = Instant::now() + opts.connect_timeout;
        let label = format!("{}@{}:{}", target.user, target.host, target.port);
        let timed_out = |what: &str| {
            let secs = opts.connect_timeout.as_secs_f64();
            SshConnectError::new(
                ErrorCode::Timeout,
                format!(
                    "{what} {}:{} timed out after {secs:.1}s",
                    target.host, target.port,
                ),
            )
            .public(format!("{what} the server timed out after {secs:.1}s"))
        };
        let key = match &target.auth {
            SshAuth::Key {
                private_key,
                passphrase,
            } => Some(decode_key(private_key, passphrase.as_deref())?),
            SshAuth::Password(_) => None,
        };
        let expected = match &target.pinned_host_key {
            Some(line) => Some(PublicKey::from_openssh(line.trim()).map_err(|e| {
                SshConnectError::new(
                    ErrorCode::ConfigInvalid,
                    format!(
                        "the pinned host key of {}:{} cannot be read: {e}",
                        target.host, target.port
                    ),
                )
                .public(format!("the pinned host key cannot be read: {e}"))
            })?),
            None => None,
        };

        let stream = timeout_at(
            deadline,
            TcpStream::connect((target.host.as_str(), target.port)),
        )
        .await
        .map_err(|_| timed_out("connecting to"))?
        .map_err(|e| tcp_error(&target.host, target.port, &e))?;
        let _ = stream.set_nodelay(true);

        let presented = Arc::new(Mutex::new(None));
        let handler = Client {
            expected: expected.clone(),
            presented: presented.clone(),
        };
        let config = Arc::new(client::Config {
            keepalive_interval: Some(opts.keepalive_interval),
            keepalive_max: opts.keepalive_max,
            inactivity_timeout: None,
            nodelay: true,
            ..Default::default()
        });
        let handshake = timeout_at(deadline, client::connect_stream(config, stream, handler)).await;
        let mut handle = match handshake {
            Err(_) => return Err(timed_out("the SSH handshake with")),
            Ok(Ok(h)) => h,
            Ok(Err(e)) => {
                let seen = presented.lock().unwrap_or_else(|p| p.into_inner()).clone();
                return Err(match (&expected, seen) {
                    (Some(pinned), Some(seen)) if pinned.key_data() != seen.key_data() => {
                        SshConnectError::new(
                            ErrorCode::HostKeyMismatch,
                            format!(
                                "host key mismatch for {}:{}: pinned {}, presented {}",
                                target.host,
                                target.port,
                                HostKey::of(pinned).fingerprint,
                                HostKey::of(&seen).fingerprint
                            ),
                        )
                        .public(
                            "the server presented a different host key than the one pinned on first connect",
                        )
                    }
                    _ => SshConnectError::new(
                        ErrorCode::SshProtocol,
                        format!(
                            "SSH handshake with {}:{} failed: {e}",
                            target.host, target.port
                        ),
                    )
                    .public(format!("the SSH handshake failed: {e}")),
                });
            }
        };
        let host_key = presented
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(HostKey::of)
            .ok_or_else(|| {
                SshConnectError::new(ErrorCode::SshProtocol, "the server presented no host key")
            })?;

        let auth = async {
            match (&target.auth, key) {
                (SshAuth::Key { .. }, Some(key)) => {
                    let hash = if key.algorithm().is_rsa() {
                        handle.best_supported_rsa_hash().await?.flatten()
                    } else {
                        None
                    };
                    handle
                        .authenticate_publickey(
                            target.user.clone(),
                            PrivateKeyWithHashAlg::new(Arc::new(key), hash),
                        )
                        .await
                }
                (SshAuth::Password(password), _) => {
                    handle
                        .authenticate_password(target.user.clone(), password.clone())
                        .await
                }
                (SshAuth::Key { .. }, None) => unreachable!("keys are decoded before connecting"),
            }
        };
        let result = timeout_at(deadline, auth)
            .await
            .map_err(|_| timed_out("authenticating to"))?
            .map_err(|e| {
                SshConnectError::new(
                    ErrorCode::SshProtocol,
                    format!("SSH authentication with {label} failed: {e}"),
                )
                .public(format!("SSH authentication failed: {e}"))
            })?;
        if !result.success() {
            let method = target.auth.method();
            return Err(SshConnectError::new(
                ErrorCode::AuthFailed,
                format!(
                    "the server refused {method} authentication as {}",
                    target.user
                ),
            )
            .public(format!("the server refused {method} authentication")));
        }
        Ok(SshTransport {
            handle,
            label,
            host_key,
        })
    }

    /// The host key the server presented (pin it after the first connect).
    pub fn host_key(&self) -> &HostKey {
        &self.host_key
    }
}

fn decode_key(
    private_key: &str,
    passphrase: Option<&str>,
) -> Result<russh::keys::PrivateKey, SshConnectError> {
    russh::keys::decode_secret_key(private_key, passphrase).map_err(|e| {
        let why = match e {
            russh::keys::Error::KeyIsEncrypted => {
                "it is encrypted and no passphrase is configured".to_owned()
            }
            other if passphrase.is_some() => {
                format!("wrong passphrase or malformed key ({other})")
            }
            other => format!("malformed key ({other})"),
        };
        SshConnectError::new(
            ErrorCode::KeyInvalid,
            format!("the SSH private key cannot be read: {why}"),
        )
    })
}

fn tcp_error(host: &str, port: u16, e: &std::io::Error) -> SshConnectError {
    use std::io::ErrorKind as K;
    let code = match e.kind() {
        K::ConnectionRefused => ErrorCode::ConnectionRefused,
        K::TimedOut => ErrorCode::Timeout,
        _ => ErrorCode::HostUnreachable,
    };
    SshConnectError::new(code, format!("cannot connect to {host}:{port}: {e}"))
        .public(format!("cannot connect to the server: {e}"))
}

/// What the server's login shell is asked to run: `exec sh -c '…'`, so every command
/// runs under POSIX `sh` whatever the deploy user's login shell is (bash, zsh, fish), in
/// the same process (the login shell replaces itself), so a kill still reaches it.
fn remote_line(cmd: &ShellCommand) -> Vec<u8> {
    let mut line = b"exec sh -c ".to_vec();
    line.extend_from_slice(&paasportal_core::shell::quote(cmd.as_bytes()));
    line
}

/// How long a kill waits for the server to confirm the command ended.
const KILL_CONFIRM: Duration = Duration::from_secs(2);

/// Kills the remote command's process group if the exec future is dropped mid-flight.
struct KillOnDrop {
    write: Option<ChannelWriteHalf<Msg>>,
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(w) = self.write.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(kill_remote(w));
        }
    }
}

/// `signal KILL` (sshd kills the command's process group), then close the channel.
async fn kill_remote(w: ChannelWriteHalf<Msg>) {
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = w.signal(Sig::KILL).await;
        let _ = w.eof().await;
        let _ = w.close().await;
    })
    .await;
}

#[async_trait]
impl Transport for SshTransport {
    fn describe(&self) -> String {
        self.label.clone()
    }

    async fn exec_streaming(
        &self,
        cmd: &ShellCommand,
        input: Option<&mut Stdin<'_>>,
        output: mpsc::Sender<OutputLine>,
        limits: &ExecLimits,
    ) -> Result<ExitStatus, ExecError> {
        cmd.check()?;
        let deadline = tokio::time::sleep(limits.timeout);
        tokio::pin!(deadline);
        let channel = tokio::select! {
            c = self.handle.channel_open_session() => c.map_err(|e| ExecError::ConnectionLost(e.to_string()))?,
            _ = deadline.as_mut() => return Err(ExecError::Timeout(limits.timeout)),
            _ = limits.cancel.cancelled() => return Err(ExecError::Cancelled),
        };
        let (mut read, write) = channel.split();
        write
            .exec(true, remote_line(cmd))
            .await
            .map_err(|e| ExecError::ConnectionLost(e.to_string()))?;
        // Stdin, then EOF: a command reading it sees the whole input and its end. It is
        // sent while the output is read, so that a command writing as it reads (psql
        // restoring a dump) never waits on a window this side stopped draining.
        let mut feeding = true;
        let feed = feed(input, write.make_writer());
        tokio::pin!(feed);
        let mut guard = KillOnDrop { write: Some(write) };
        let (mut out_lines, mut err_lines) = (LineSplitter::new(), LineSplitter::new());
        let mut status = ExitStatus::default();
        let mut exited = false;

        let stop = loop {
            let msg = tokio::select! {
                r = &mut feed, if feeding => {
                    feeding = false;
                    match r {
                        Ok(()) => continue,
                        Err(stop) => break Some(stop),
                    }
                }
                m = read.wait() => m,
                _ = deadline.as_mut() => break Some(Stop::Timeout),
                _ = limits.cancel.cancelled() => break Some(Stop::Cancelled),
            };
            let (stream, lines) = match msg {
                Some(ChannelMsg::Data { data }) => (OutputStream::Stdout, out_lines.push(&data)),
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                    (OutputStream::Stderr, err_lines.push(&data))
                }
                Some(ChannelMsg::ExitStatus { exit_status }) => {
                    status.code = Some(exit_status);
                    exited = true;
                    continue;
                }
                Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                    status.signal = Some(signal_label(&signal_name));
                    exited = true;
                    continue;
                }
                Some(ChannelMsg::Failure) => {
                    guard.write = None;
                    return Err(ExecError::Spawn(
                        "the server refused to run the command".into(),
                    ));
                }
                Some(ChannelMsg::Eof) => {
                    let mut rest = Vec::new();
                    if let Some(l) = out_lines.finish() {
                        rest.push(OutputLine {
                            stream: OutputStream::Stdout,
                            bytes: l,
                        });
                    }
                    if let Some(l) = err_lines.finish() {
                        rest.push(OutputLine {
                            stream: OutputStream::Stderr,
                            bytes: l,
                        });
                    }
                    let mut stopped = None;
                    for line in rest {
                        if let Err(s) =
                            send_line(&output, line, &mut deadline, &limits.cancel).await
                        {
                            stopped = Some(s);
                            break;
                        }
                    }
                    if stopped.is_some() {
                        break stopped;
                    }
                    continue;
                }
                Some(ChannelMsg::Close) | None => break None,
                Some(_) => continue,
            };
            let mut stopped = None;
            for bytes in lines {
                if let Err(s) = send_line(
                    &output,
                    OutputLine { stream, bytes },
                    &mut deadline,
                    &limits.cancel,
                )
                .await
                {
                    stopped = Some(s);
                    break;
                }
            }
            if stopped.is_some() {
                break stopped;
            }
        };
        if let Some(stop) = stop {
            if let Some(w) = guard.write.take() {
                // Kill, then wait (bounded) for the server to report the command's end, so
                // that "stopped" means the remote process group is gone.
                let _ = w.signal(Sig::KILL).await;
                let _ = tokio::time::timeout(KILL_CONFIRM, async {
                    while let Some(m) = read.wait().await {
                        if matches!(
                            m,
                            ChannelMsg::ExitStatus { .. }
                                | ChannelMsg::ExitSignal { .. }
                                | ChannelMsg::Close
                        ) {
                            break;
                        }
                    }
                })
                .await;
                kill_remote(w).await;
            }
            return Err(stop.into_error(limits.timeout));
        }
        for (stream, rest) in [
            (OutputStream::Stdout, out_lines.finish()),
            (OutputStream::Stderr, err_lines.finish()),
        ] {
            if let Some(bytes) = rest {
                let _ = output.send(OutputLine { stream, bytes }).await;
            }
        }
        guard.write = None;
        if exited {
            Ok(status)
        } else {
            Err(ExecError::ConnectionLost(
                "the channel closed before the command reported an exit status".into(),
            ))
        }
    }

    async fn close(&self) {
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            self.handle
                .disconnect(Disconnect::ByApplication, "deployment finished", "en"),
        )
        .await;
    }
}

fn signal_label(sig: &Sig) -> String {
    let s = format!("{sig:?}");
    s.trim_start_matches("Custom(\"")
        .trim_end_matches("\")")
        .to_owned()
}
