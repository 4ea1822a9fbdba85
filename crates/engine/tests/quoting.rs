//! Property test: hostile arguments (quotes, `;`, `$()`, backticks, newlines, globs,
//! non-UTF-8 bytes) pass through `core::shell::quote` and a REAL shell — over SSH, and
//! locally — and arrive byte for byte, one argument each, with nothing executed.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::ssh_env::SshEnv;
use paasportal_core::shell::ShellCommand;
use paasportal_engine::transport::{
    ExecLimits, LocalTransport, OutputStream, SshOptions, SshTransport, Transport,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Characters a shell treats specially, and bytes that are not UTF-8.
fn hostile_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => proptest::sample::select(
            b" '\"\\;$()`\n\r\t*?~&|<>!#{}[]=%^-".to_vec()
        ),
        2 => b'a'..=b'z',
        1 => 0x80u8..=0xff,
        1 => 1u8..0x20,
    ]
}

fn hostile_arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(hostile_byte(), 0..40),
        1 => proptest::sample::select(vec![
            b"$(touch CANARY)".to_vec(),
            b"`touch CANARY`".to_vec(),
            b"'; touch CANARY; echo '".to_vec(),
            b"\"; touch CANARY; echo \"".to_vec(),
            b"a\nb'\n$(touch CANARY)\\".to_vec(),
            b"--help".to_vec(),
            b"-n".to_vec(),
            b"".to_vec(),
            b"*".to_vec(),
            b"~root".to_vec(),
            b"${HOME}".to_vec(),
            vec![0xff, 0xfe, b'\'', 0xc3],
        ]),
    ]
}

/// Runs `printf '%s' ARG | od` for every argument and decodes what the shell received.
async fn echo_back(t: &dyn Transport, args: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let cmd = ShellCommand::new("for a in")
        .args(args)
        .raw("; do printf '%s' \"$a\" | od -An -tx1 -v; echo END; done");
    let (tx, mut rx) = mpsc::channel(1024);
    let limits = ExecLimits {
        timeout: Duration::from_secs(30),
        cancel: CancellationToken::new(),
    };
    let (status, lines) = tokio::join!(t.exec(&cmd, tx, &limits), async {
        let mut v = Vec::new();
        while let Some(l) = rx.recv().await {
            v.push(l);
        }
        v
    });
    let status = status.expect("the command runs");
    let stderr: Vec<_> = lines
        .iter()
        .filter(|l| l.stream == OutputStream::Stderr)
        .map(|l| String::from_utf8_lossy(&l.bytes).into_owned())
        .collect();
    assert!(status.success(), "shell failed: {stderr:?}");
    let mut out = Vec::new();
    let mut current = Vec::new();
    for l in lines.iter().filter(|l| l.stream == OutputStream::Stdout) {
        let text = String::from_utf8(l.bytes.clone()).expect("od prints ASCII");
        if text == "END" {
            out.push(std::mem::take(&mut current));
        } else {
            for hex in text.split_whitespace() {
                current.push(u8::from_str_radix(hex, 16).expect("hex byte"));
            }
        }
    }
    out
}

fn check(t: Arc<dyn Transport>, cases: u32) {
    let canary = std::env::temp_dir().join(format!("pp-canary-{}", uuid::Uuid::new_v4()));
    let canary_text = canary.display().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(hostile_arg(), 1..5), |args| {
            let args: Vec<Vec<u8>> = args
                .into_iter()
                .map(|a| replace(&a, b"CANARY", canary_text.as_bytes()))
                .collect();
            let got = rt.block_on(echo_back(t.as_ref(), &args));
            prop_assert_eq!(&got, &args);
            Ok(())
        })
        .unwrap();
    assert!(!canary.exists(), "a hostile argument was executed");
}

fn replace(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn hostile_arguments_arrive_literally_over_ssh() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = rt
        .block_on(SshTransport::connect(
            &SshEnv::load().key_target(),
            &SshOptions::default(),
        ))
        .expect("connect");
    // The connection's session task keeps running on `rt`'s worker threads while the
    // property runs on a runtime of its own.
    let t: Arc<dyn Transport> = Arc::new(t);
    let handle = std::thread::spawn({
        let t = t.clone();
        move || check(t, 300)
    });
    handle.join().expect("property holds over SSH");
}

#[test]
fn hostile_arguments_arrive_literally_in_a_local_shell() {
    check(Arc::new(LocalTransport::new()), 300);
}
