//! The SSH and local transports against a real sshd and a real shell: authentication,
//! host-key pinning, connection errors, streamed output, exit codes, and killing the
//! command in flight on cancel, on timeout and when its future is dropped; stdin given
//! whole or streamed.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::ssh_env::SshEnv;
use paasportal_core::diagnostics::ErrorCode;
use paasportal_core::shell::ShellCommand;
use paasportal_engine::transport::{
    ExecError, ExecLimits, ExitStatus, LocalTransport, OutputLine, OutputStream, SshAuth,
    SshOptions, SshTransport, Transport,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn limits(timeout: Duration) -> ExecLimits {
    ExecLimits {
        timeout,
        cancel: CancellationToken::new(),
    }
}

/// Runs a command to its end, collecting its output lines.
async fn run(
    t: &dyn Transport,
    cmd: &ShellCommand,
) -> (Result<ExitStatus, ExecError>, Vec<OutputLine>) {
    let (tx, mut rx) = mpsc::channel(64);
    let collect = async {
        let mut v = Vec::new();
        while let Some(l) = rx.recv().await {
            v.push(l);
        }
        v
    };
    let limits = limits(Duration::from_secs(20));
    let (r, lines) = tokio::join!(t.exec(cmd, tx, &limits), collect);
    (r, lines)
}

async fn connect_key() -> SshTransport {
    SshTransport::connect(&SshEnv::load().key_target(), &SshOptions::default())
        .await
        .expect("connect with the test key")
}

fn texts(lines: &[OutputLine], stream: OutputStream) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.stream == stream)
        .map(|l| String::from_utf8_lossy(&l.bytes).into_owned())
        .collect()
}

async fn streams_lines_and_exit_codes(t: &dyn Transport) {
    let cmd = ShellCommand::script(
        "printf 'one\\ntwo\\n'; printf 'oops\\n' >&2; printf 'no newline'; exit 3",
    );
    let (r, lines) = run(t, &cmd).await;
    let status = r.unwrap();
    assert_eq!(status.code, Some(3));
    assert!(!status.success());
    assert_eq!(
        texts(&lines, OutputStream::Stdout),
        ["one", "two", "no newline"]
    );
    assert_eq!(texts(&lines, OutputStream::Stderr), ["oops"]);
    let (r, lines) = run(t, &ShellCommand::script("printf '\\377\\376\\n'")).await;
    assert!(r.unwrap().success());
    assert_eq!(lines[0].bytes, vec![0xff, 0xfe], "bytes arrive as written");
    let bad = ShellCommand::new("echo").arg(b"a\0b");
    assert!(matches!(run(t, &bad).await.0, Err(ExecError::Invalid(_))));
}

/// Starts `sleep` in the command's process group and returns the group id it printed.
async fn start_sleeper(
    t: Arc<dyn Transport>,
    limits: ExecLimits,
) -> (tokio::task::JoinHandle<Result<ExitStatus, ExecError>>, i64) {
    let (tx, mut rx) = mpsc::channel(64);
    let cmd = ShellCommand::script("echo $$; sleep 300; true");
    let task = tokio::spawn(async move { t.exec(&cmd, tx, &limits).await });
    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the sleeper prints its group id")
        .expect("a line");
    let pgid: i64 = String::from_utf8(first.bytes)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    (task, pgid)
}

/// Polls (through `probe`, a second channel or process) until the group is gone.
async fn assert_group_gone(probe: &dyn Transport, pgid: i64) {
    let check = ShellCommand::script(&format!(
        "if kill -0 -- -{pgid} 2>/dev/null; then echo alive; else echo gone; fi"
    ));
    let started = Instant::now();
    loop {
        let (r, lines) = run(probe, &check).await;
        r.unwrap();
        if texts(&lines, OutputStream::Stdout) == ["gone"] {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "process group {pgid} still alive 5 s after the kill"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn cancel_timeout_and_drop_kill_the_command(t: Arc<dyn Transport>) {
    // Cancel.
    let l = limits(Duration::from_secs(60));
    let (task, pgid) = start_sleeper(t.clone(), l.clone()).await;
    let t0 = Instant::now();
    l.cancel.cancel();
    let r = task.await.unwrap();
    assert!(matches!(r, Err(ExecError::Cancelled)), "{r:?}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_group_gone(t.as_ref(), pgid).await;

    // Timeout.
    let (task, pgid) = start_sleeper(t.clone(), limits(Duration::from_secs(2))).await;
    let r = task.await.unwrap();
    assert!(matches!(r, Err(ExecError::Timeout(_))), "{r:?}");
    assert_group_gone(t.as_ref(), pgid).await;

    // The future is dropped (a stage timeout drops the whole stage).
    let (task, pgid) = start_sleeper(t.clone(), limits(Duration::from_secs(60))).await;
    task.abort();
    let _ = task.await;
    assert_group_gone(t.as_ref(), pgid).await;
}

#[tokio::test]
async fn ssh_key_auth_streams_output_and_exit_codes() {
    let t = connect_key().await;
    streams_lines_and_exit_codes(&t).await;
    t.close().await;
}

/// The test user's login shell is bash: commands still run under POSIX `sh`, so they
/// mean the same whatever shell the server gives the deploy user.
#[tokio::test]
async fn ssh_commands_run_under_sh_whatever_the_login_shell() {
    let t = connect_key().await;
    let (r, lines) = run(&t, &ShellCommand::script("echo \"$0\"; cat /proc/$$/comm")).await;
    assert!(r.unwrap().success());
    let out = texts(&lines, OutputStream::Stdout);
    assert_eq!(out, ["sh", "sh"], "{out:?}");
    // Quotes inside the command survive the wrapping.
    let cmd = ShellCommand::new("printf '%s|%s\\n'")
        .arg("it's")
        .arg("a \"b\" $HOME `x`");
    let (r, lines) = run(&t, &cmd).await;
    assert!(r.unwrap().success());
    assert_eq!(
        texts(&lines, OutputStream::Stdout),
        ["it's|a \"b\" $HOME `x`"]
    );
    t.close().await;
}

#[tokio::test]
async fn local_streams_output_and_exit_codes() {
    streams_lines_and_exit_codes(&LocalTransport::new()).await;
}

#[tokio::test]
async fn ssh_cancel_timeout_and_drop_kill_the_remote_command() {
    let t: Arc<dyn Transport> = Arc::new(connect_key().await);
    cancel_timeout_and_drop_kill_the_command(t).await;
}

#[tokio::test]
async fn local_cancel_timeout_and_drop_kill_the_command() {
    cancel_timeout_and_drop_kill_the_command(Arc::new(LocalTransport::new())).await;
}

#[tokio::test]
async fn local_commands_do_not_inherit_paasportal_secrets() {
    // SAFETY: set before any command runs in this test process; other tests do not read it.
    unsafe { std::env::set_var("PAASPORTAL_MASTER_KEY", "must-not-leak") };
    let (r, lines) = run(&LocalTransport::new(), &ShellCommand::script("env")).await;
    r.unwrap();
    assert!(
        texts(&lines, OutputStream::Stdout)
            .iter()
            .all(|l| !l.contains("must-not-leak"))
    );
}

#[tokio::test]
async fn ssh_encrypted_key_and_password_authenticate() {
    let env = SshEnv::load();
    let t = SshTransport::connect(
        &env.target(SshAuth::Key {
            private_key: env.key_encrypted.clone(),
            passphrase: Some(env.key_passphrase.clone()),
        }),
        &SshOptions::default(),
    )
    .await
    .expect("encrypted key with its passphrase");
    let (r, _) = run(&t, &ShellCommand::script("true")).await;
    assert!(r.unwrap().success());
    let t = SshTransport::connect(
        &env.target(SshAuth::Password(env.password.clone())),
        &SshOptions::default(),
    )
    .await
    .expect("password");
    let (r, lines) = run(&t, &ShellCommand::script("whoami")).await;
    assert!(r.unwrap().success());
    assert_eq!(
        texts(&lines, OutputStream::Stdout),
        std::slice::from_ref(&env.user)
    );
}

async fn connect_error(
    target: paasportal_engine::transport::SshTarget,
    opts: SshOptions,
) -> (ErrorCode, String) {
    let e = SshTransport::connect(&target, &opts)
        .await
        .expect_err("the connection must fail");
    (e.code, e.message)
}

#[tokio::test]
async fn ssh_wrong_credentials_are_auth_failures() {
    let env = SshEnv::load();
    let opts = SshOptions::default();
    let (code, msg) = connect_error(
        env.target(SshAuth::Password("not-the-password".into())),
        opts,
    )
    .await;
    assert_eq!(code, ErrorCode::AuthFailed, "{msg}");
    assert!(!msg.contains("not-the-password"));
    let (code, msg) = connect_error(
        env.target(SshAuth::Key {
            private_key: env.wrong_key.clone(),
            passphrase: None,
        }),
        opts,
    )
    .await;
    assert_eq!(code, ErrorCode::AuthFailed, "{msg}");
    let (code, msg) = connect_error(
        env.target(SshAuth::Key {
            private_key: env.key_encrypted.clone(),
            passphrase: Some("wrong passphrase".into()),
        }),
        opts,
    )
    .await;
    assert_eq!(code, ErrorCode::KeyInvalid, "{msg}");
    let (code, msg) = connect_error(
        env.target(SshAuth::Key {
            private_key: env.key_encrypted.clone(),
            passphrase: None,
        }),
        opts,
    )
    .await;
    assert_eq!(code, ErrorCode::KeyInvalid, "{msg}");
    assert!(msg.contains("encrypted"), "{msg}");
}

#[tokio::test]
async fn ssh_host_keys_are_pinned_and_a_changed_key_is_refused() {
    let env = SshEnv::load();
    let first = connect_key().await;
    let pinned = first.host_key().clone();
    let expected = russh::keys::PublicKey::from_openssh(env.host_pubkey.trim()).unwrap();
    assert_eq!(
        pinned.fingerprint,
        expected
            .fingerprint(russh::keys::HashAlg::Sha256)
            .to_string(),
        "the presented key is the sshd's host key"
    );
    let mut again = env.key_target();
    again.pinned_host_key = Some(pinned.openssh.clone());
    SshTransport::connect(&again, &SshOptions::default())
        .await
        .expect("the pinned key matches");

    // Pretend the server used to present another key: the test's wrong client key.
    let other = russh::keys::decode_secret_key(&env.wrong_key, None).unwrap();
    let other_pub = other.public_key().clone();
    let mut changed = env.key_target();
    changed.pinned_host_key = Some(other_pub.to_openssh().unwrap());
    let (code, msg) = connect_error(changed, SshOptions::default()).await;
    assert_eq!(code, ErrorCode::HostKeyMismatch, "{msg}");
    assert!(
        msg.contains(
            &other_pub
                .fingerprint(russh::keys::HashAlg::Sha256)
                .to_string()
        ),
        "{msg}"
    );
    assert!(msg.contains(&pinned.fingerprint), "{msg}");
}

#[tokio::test]
async fn ssh_unreachable_port_and_silent_server_are_reported() {
    let env = SshEnv::load();
    let mut refused = env.key_target();
    refused.port = paasportal_testkit::free_port();
    let (code, msg) = connect_error(refused, SshOptions::default()).await;
    assert_eq!(code, ErrorCode::ConnectionRefused, "{msg}");

    // A listener that accepts and never speaks SSH.
    let tarpit = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tarpit.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = tarpit.accept().await {
            held.push(s);
        }
    });
    let mut silent = env.key_target();
    silent.port = port;
    let opts = SshOptions {
        connect_timeout: Duration::from_millis(800),
        ..Default::default()
    };
    let t0 = Instant::now();
    let (code, msg) = connect_error(silent, opts).await;
    assert_eq!(code, ErrorCode::Timeout, "{msg}");
    assert!(t0.elapsed() < Duration::from_secs(3));
    hold.abort();
}

#[tokio::test]
async fn ssh_one_connection_runs_commands_concurrently() {
    let t = Arc::new(connect_key().await);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let (r, lines) = run(t.as_ref(), &ShellCommand::new("echo").arg(format!("n{i}"))).await;
            assert!(r.unwrap().success());
            texts(&lines, OutputStream::Stdout)
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap(), [format!("n{i}")]);
    }
}

/// A TCP proxy to the sshd that can freeze: connections stay open, nothing passes.
struct FreezableProxy {
    port: u16,
    frozen: Arc<std::sync::atomic::AtomicBool>,
}

impl FreezableProxy {
    async fn start(upstream: (String, u16)) -> FreezableProxy {
        use std::sync::atomic::{AtomicBool, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let frozen = Arc::new(AtomicBool::new(false));
        let flag = frozen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = tokio::net::TcpStream::connect(upstream.clone())
                    .await
                    .unwrap();
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                for (mut from, mut to, flag) in [
                    (
                        Box::new(cr) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
                        Box::new(sw) as Box<dyn tokio::io::AsyncWrite + Unpin + Send>,
                        flag.clone(),
                    ),
                    (Box::new(sr), Box::new(cw), flag.clone()),
                ] {
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 16384];
                        loop {
                            let n = match from.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            while flag.load(Ordering::SeqCst) {
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                            if to.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            }
        });
        FreezableProxy { port, frozen }
    }

    fn freeze(&self) {
        self.frozen.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn ssh_keepalive_notices_a_dead_connection_mid_command() {
    let env = SshEnv::load();
    let proxy = FreezableProxy::start((env.host.clone(), env.port)).await;
    let mut target = env.key_target();
    target.port = proxy.port;
    let opts = SshOptions {
        keepalive_interval: Duration::from_millis(500),
        keepalive_max: 2,
        ..Default::default()
    };
    let t = SshTransport::connect(&target, &opts).await.unwrap();
    let (tx, mut rx) = mpsc::channel(8);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let run = tokio::spawn(async move {
        let l = limits(Duration::from_secs(120));
        let started = Instant::now();
        let r = t
            .exec(&ShellCommand::script("echo started; sleep 20"), tx, &l)
            .await;
        (r, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    proxy.freeze();
    let (r, took) = tokio::time::timeout(Duration::from_secs(15), run)
        .await
        .expect("the dead connection is noticed long before the command's timeout")
        .unwrap();
    assert!(matches!(r, Err(ExecError::ConnectionLost(_))), "{r:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

/// Input reaches the command's stdin byte for byte, then EOF; without input, stdin is
/// empty (a command reading it ends at once).
async fn stdin_carries_input(t: &dyn Transport) {
    let mut input: Vec<u8> = b"[options]\ndb_password = it's \"$(id)\" `x`\n".to_vec();
    input.extend((0u8..=255).filter(|b| *b != 0));
    input.extend(std::iter::repeat_n(b'z', 300_000));
    let (tx, mut rx) = mpsc::channel(64);
    let collect = async {
        let mut v = Vec::new();
        while let Some(l) = rx.recv().await {
            v.push(l);
        }
        v
    };
    let limits = limits(Duration::from_secs(20));
    let count = ShellCommand::script("od -An -tx1 -v | tr -d ' \\n' | sha256sum | cut -c1-64");
    let (r, lines) = tokio::join!(t.exec_with_input(&count, &input, tx, &limits), collect);
    assert!(r.unwrap().success());
    let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
    let want = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(hex.as_bytes());
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    assert_eq!(texts(&lines, OutputStream::Stdout), [want]);
    let (r, lines) = run(t, &ShellCommand::script("cat; echo done")).await;
    assert!(r.unwrap().success());
    assert_eq!(texts(&lines, OutputStream::Stdout), ["done"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn ssh_stdin_carries_input() {
    let t = connect_key().await;
    stdin_carries_input(&t).await;
    t.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn local_stdin_carries_input() {
    stdin_carries_input(&LocalTransport::new()).await;
}

/// An input of `lines` numbered lines produced as it is read, which fails instead of
/// ending when `fail` is set.
struct Generated {
    next: usize,
    lines: usize,
    fail: bool,
}

impl tokio::io::AsyncRead for Generated {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        while self.next < self.lines && buf.remaining() >= 32 {
            let line = format!("line {:010}\n", self.next);
            buf.put_slice(line.as_bytes());
            self.next += 1;
        }
        if self.next == self.lines && self.fail && buf.filled().is_empty() {
            return std::task::Poll::Ready(Err(std::io::Error::other("disk went away")));
        }
        std::task::Poll::Ready(Ok(()))
    }
}

/// A large input streamed into a command that writes as much as it reads: every line
/// comes back (the input is fed while the output is drained, neither side stalls).
/// A failing input kills the command instead of ending its stdin early.
async fn streamed_input(t: &dyn Transport) {
    const LINES: usize = 1_000_000; // 16 MB in, 16 MB out
    let (tx, mut rx) = mpsc::channel::<OutputLine>(256);
    let collect = async {
        let (mut n, mut last) = (0usize, Vec::new());
        while let Some(l) = rx.recv().await {
            if l.stream == OutputStream::Stdout {
                n += 1;
                last = l.bytes;
            }
        }
        (n, last)
    };
    let mut input = Generated {
        next: 0,
        lines: LINES,
        fail: false,
    };
    let started = Instant::now();
    let limits = limits(Duration::from_secs(120));
    let cat = ShellCommand::script("cat");
    let (r, (n, last)) = tokio::join!(
        t.exec_streaming(&cat, Some(&mut input), tx, &limits),
        collect
    );
    assert!(r.unwrap().success());
    assert_eq!(n, LINES);
    assert_eq!(last, format!("line {:010}", LINES - 1).into_bytes());
    eprintln!(
        "{} streamed 16 MB through cat in {:?}",
        t.describe(),
        started.elapsed()
    );

    let mut broken = Generated {
        next: 0,
        lines: 1000,
        fail: true,
    };
    let (tx, mut rx) = mpsc::channel(64);
    let collect = async {
        let mut v = Vec::new();
        while let Some(l) = rx.recv().await {
            v.push(l);
        }
        v
    };
    let cmd = ShellCommand::script("wc -l; echo reached-the-end");
    let limits = self::limits(Duration::from_secs(20));
    let (r, lines) = tokio::join!(
        t.exec_streaming(&cmd, Some(&mut broken), tx, &limits),
        collect
    );
    assert!(matches!(r, Err(ExecError::Input(_))), "{r:?}");
    assert!(
        !texts(&lines, OutputStream::Stdout).contains(&"reached-the-end".to_owned()),
        "the command saw a truncated input as complete"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ssh_streams_a_large_input_while_draining_output() {
    let t = connect_key().await;
    streamed_input(&t).await;
    t.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn local_streams_a_large_input_while_draining_output() {
    streamed_input(&LocalTransport::new()).await;
}
