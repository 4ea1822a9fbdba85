//! The worker and the pipeline runner against the real test sshd, on both backends:
//! a pipeline of real commands that succeeds, fails at a fatal stage, warns at a
//! non-fatal one, is cancelled mid-command, times out, meets wrong credentials, a
//! changed host key and an unreachable port, leaks no secret, and is recovered when its
//! worker is lost.

mod common;

use std::time::{Duration, Instant};

use common::harness::{Harness, TestAuth, fast_config, messages};
use paasportal_core::shell::ShellCommand;
use paasportal_core::stage::{CATALOGUE, progress_at, progress_of_steps};
use paasportal_core::{
    DeploymentStatus, EnvironmentStatus, EventKind, LogLevel, Stage, StepStatus, TransportKind,
};
use paasportal_engine::stages::{Connecting, Initializing, Script};
use paasportal_engine::{EngineConfig, Pipeline};
use paasportal_store::history::CancelOutcome;
use paasportal_store::writer::Committed;
use paasportal_testkit::TestBackend;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                super::$name(paasportal_testkit::TestBackend::Sqlite).await
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                super::$name(paasportal_testkit::TestBackend::Postgres).await
            })*
        }
    };
}

both_backends!(
    a_pipeline_of_real_commands_succeeds,
    a_fatal_stage_fails_the_deployment,
    a_non_fatal_stage_warns_and_the_deployment_goes_on,
    cancel_kills_the_command_in_flight_within_five_seconds,
    cancel_of_a_queued_deployment_removes_it,
    stage_timeouts_stop_a_hanging_stage,
    wrong_password_is_an_auth_failure,
    wrong_key_is_an_auth_failure,
    encrypted_key_connects_and_pins_the_host_key,
    a_changed_host_key_is_refused,
    an_unreachable_port_is_connection_refused,
    no_secret_survives_in_logs_data_or_errors,
    the_local_transport_runs_the_same_pipeline,
    a_lost_workers_deployment_is_failed,
    concurrency_is_bounded,
    a_failed_health_check_warns_with_the_containers_last_log_lines,
    error_message_is_a_one_line_summary_and_the_command_stays_in_data,
    output_with_nul_bytes_reaches_the_log_with_replacement_characters,
    secrets_over_line_breaks_the_line_limit_and_wrapped_base64_are_masked,
    a_cancel_during_a_registry_login_leaves_no_credentials_on_the_server,
);

const LIMIT: Duration = Duration::from_secs(60);

fn base() -> Pipeline {
    Pipeline::empty()
        .with(Stage::Initializing, Initializing)
        .with(Stage::Connecting, Connecting)
}

fn script(cmd: &str, closing: &str) -> Script {
    Script::new(vec![ShellCommand::script(cmd)], closing)
}

fn step_status(steps: &[paasportal_core::DeploymentStep], stage: Stage) -> StepStatus {
    steps
        .iter()
        .find(|s| s.step == stage.id())
        .map(|s| s.status)
        .unwrap_or_else(|| panic!("no step {stage}"))
}

async fn env_events(h: &Harness) -> Vec<String> {
    let last = h.t.store.last_seq().await.unwrap();
    h.t.store
        .entries_between(0, last)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|c| match c {
            Committed::Event(e) if e.kind == EventKind::EnvironmentStatus => {
                Some(e.data["status"].as_str().unwrap().to_owned())
            }
            _ => None,
        })
        .collect()
}

async fn a_pipeline_of_real_commands_succeeds(backend: TestBackend) {
    let h = Harness::new(backend).await;
    let s = h.seed("ok", TestAuth::Key).await;
    let pipeline = base()
        .with(
            Stage::CreatingNetwork,
            script(
                "echo creating the network; echo on stderr >&2; sleep 0.2",
                "Network created",
            ),
        )
        .with(
            Stage::ConfiguringDns,
            script(
                "true",
                "DNS setup skipped ({duration}): No DNS provider configured",
            ),
        );
    let w = h.start_worker(h.engine(pipeline, fast_config()));
    let d = h.wait_finished(s.deployment.id, LIMIT).await;
    w.stop().await;
    assert_eq!(d.status, DeploymentStatus::Success, "{:?}", d.error_message);
    assert!(d.duration_seconds.unwrap() >= 0.2);
    assert!(d.error_message.is_none());
    assert_eq!(h.t.store.deployment_progress(d.id).await.unwrap(), 100);
    assert_eq!(
        h.t.store
            .get_environment(s.environment.id)
            .await
            .unwrap()
            .status,
        EnvironmentStatus::Running
    );

    let lines = h.logs(d.id).await;
    let msgs = messages(&lines);
    let infos: Vec<&str> = lines
        .iter()
        .filter(|l| l.log.level == LogLevel::Info)
        .map(|l| l.log.message.as_str())
        .collect();
    assert_eq!(infos[0], "Deployment created and queued");
    assert_eq!(infos[1], "Deploying Project ok (production)");
    assert_eq!(infos[2], format!("Instance UUID: {}", s.environment.id));
    assert_eq!(infos[3], "Target server: server-ok");
    assert!(infos[4].starts_with("Configuration loaded ("), "{infos:?}");
    assert_eq!(infos[5], "Connecting to server-ok...");
    assert!(infos[6].starts_with("Pinned the server's host key on first connection"));
    // Viewers of the project read these lines: no address, SSH user, port or host key.
    let server_row = h.t.store.get_server(s.server.id).await.unwrap();
    let everything = serde_json::to_string(&lines).unwrap();
    for detail in [
        h.ssh.host.clone(),
        format!(":{}", h.ssh.port),
        format!("{}@", s.server.ssh_user),
        server_row.host_key_fingerprint.clone().unwrap(),
    ] {
        assert!(!everything.contains(&detail), "{detail} in the log");
    }
    assert!(
        infos[7].starts_with("SSH connection established ("),
        "{infos:?}"
    );
    assert!(infos[8].starts_with("Network created (0."), "{infos:?}");
    assert!(infos[9].starts_with("DNS setup skipped (0.0s): No DNS provider configured"));
    assert!(infos[10].starts_with("Deployment completed successfully! Total time: "));
    assert!(infos[10].ends_with(" min)"));
    assert_eq!(
        infos.len(),
        11,
        "the closing line is logged once: {infos:#?}"
    );
    assert_eq!(
        msgs.iter()
            .filter(|m| m.starts_with("Deployment completed"))
            .count(),
        1
    );
    let debug_out = lines
        .iter()
        .find(|l| l.log.message == "creating the network")
        .expect("stdout streamed into the log");
    assert_eq!(debug_out.log.level, LogLevel::Debug);
    assert_eq!(debug_out.log.step.as_deref(), Some("creating_network"));
    let stderr = lines.iter().find(|l| l.log.message == "on stderr").unwrap();
    assert_eq!(stderr.log.data["stream"], "stderr");
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("$ echo creating the network"))
    );
    let last = lines.last().unwrap();
    assert_eq!(last.log.status, DeploymentStatus::Success);
    assert_eq!(last.log.progress_percent, 100);
    assert_eq!(last.log.step.as_deref(), Some("completed"));
    let first = &lines[0];
    assert_eq!(first.log.status, DeploymentStatus::Running);
    assert_eq!(first.log.progress_percent, 0);
    let progress: Vec<u8> = lines.iter().map(|l| l.log.progress_percent).collect();
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");

    let steps = h.t.store.list_steps(d.id).await.unwrap();
    assert_eq!(steps.len(), CATALOGUE.len());
    for stage in [
        Stage::Initializing,
        Stage::Connecting,
        Stage::CreatingNetwork,
        Stage::ConfiguringDns,
        Stage::Completed,
    ] {
        let st = steps.iter().find(|s| s.step == stage.id()).unwrap();
        assert_eq!(st.status, StepStatus::Completed, "{stage}");
        assert!(st.started_at.is_some() && st.completed_at.is_some());
        assert!(st.duration_seconds.is_some());
    }
    assert_eq!(
        step_status(&steps, Stage::PullingImage),
        StepStatus::Skipped
    );
    let net = steps.iter().find(|s| s.step == "creating_network").unwrap();
    assert!(net.duration_seconds.unwrap() >= 0.2);

    let server = h.t.store.get_server(s.server.id).await.unwrap();
    assert!(server.host_key_fingerprint.unwrap().starts_with("SHA256:"));
    assert_eq!(env_events(&h).await, ["deploying", "running"]);
    h.close().await;
}

async fn a_fatal_stage_fails_the_deployment(backend: TestBackend) {
    let h = Harness::new(backend).await;
    let s = h.seed("fatal", TestAuth::Key).await;
    let pipeline = base()
        .with(
            Stage::CreatingNetwork,
            script("echo network exists >&2; exit 7", "Network created"),
        )
        .with(Stage::HealthCheck, script("true", "Health check passed!"));
    let w = h.start_worker(h.engine(pipeline, fast_config()));
    let d = h.wait_finished(s.deployment.id, LIMIT).await;
    w.stop().await;
    assert_eq!(d.status, DeploymentStatus::Failed);
    let err = d.error_message.unwrap();
    assert_eq!(err, "`echo` failed with exit code 7: network exists");
    assert_eq!(
        h.t.store
            .get_environment(s.environment.id)
            .await
            .unwrap()
            .status,
        EnvironmentStatus::Failed
    );
    let lines = h.logs(d.id).await;
    let error = lines
        .iter()
        .find(|l| {
            l.log.level == LogLevel::Error && l.log.step.as_deref() == Some("creating_network")
        })
        .unwrap();
    assert_eq!(error.log.data["error_code"], "COMMAND_FAILED");
    assert_eq!(error.log.data["exit_code"], 7);
    assert_eq!(error.log.data["output_tail"][0], "network exists");
    assert!(error.log.data["duration_seconds"].as_f64().is_some());
    let last = lines.last().unwrap();
    assert!(
        last.log
            .message
            .starts_with("Deployment failed! Total time: ")
    );
    assert_eq!(last.log.status, DeploymentStatus::Failed);
    assert_eq!(last.log.data["failed_step"], "creating_network");
    let steps = h.t.store.list_steps(d.id).await.unwrap();
    assert_eq!(
        step_status(&steps, Stage::Connecting),
        StepStatus::Completed
    );
    assert_eq!(
        step_status(&steps, Stage::CreatingNetwork),
        StepStatus::Failed
    );
    assert_eq!(step_status(&steps, Stage::HealthCheck), StepStatus::Skipped);
    assert_eq!(step_status(&steps, Stage::Completed), StepStatus::Skipped);
    // Progress counts the two stages reached and finished, and stays there.
    let reached = progress_at(Stage::CreatingNetwork);
    assert_eq!(reached, 12);
    assert_eq!(
        h.t.store.deployment_progress(d.id).await.unwrap(),
        i64::from(reached)
    );
    assert_eq!(last.log.progress_percent, reached);
    let from_steps = progress_of_steps(
        steps
            .iter()
            .map(|st| (st.step.parse::<Stage>().unwrap(), st.status)),
    );
    assert_eq!(from_steps, reached);
    assert!(
        !messages(&lines)
            .iter()
            .any(|m| m.contains("Health check passed"))
    );
    assert_eq!(env_events(&h).await, ["deploying", "failed"]);
    h.close().await;
}

async fn a_non_fatal_stage_warns_and_the_deployment_goes_on(backend: TestBackend) {
    let h = Harness::new(backend).await;
    let s = h.seed("warn", TestAuth::Key).await;
    let config = EngineConfig {
        command_timeout: Duration::from_millis(800),
        ..fast_config()
    };
    let pipeline = base()
        .with(
            Stage::ConfiguringDns,
            script("echo no provider >&2; exit 1", "DNS configured"),
        )
        .with(Stage::VerifyingDns, script("sleep 30", "DNS verified"))
        .with(
            Stage::HealthCheck,
            script("echo healthy", "Health check passed!"),
        );
    let w = h.start_worker(h.engine(pipeline, config));
    let d = h.wait_finished(s.deployment.id, LIMIT).await;
    w.stop().await;
    assert_eq!(d.status, DeploymentStatus::Success, "{:?}", d.error_message);
    let steps = h.t.store.list_steps(d.id).await.unwrap();
    assert_eq!(
        step_status(&steps, Stage::ConfiguringDns),
        StepStatus::Warning
    );
    assert_eq!(
        step_status(&steps, Stage::VerifyingDns),
        StepStatus::Warning
    );
    assert_eq!(
        step_status(&steps, Stage::HealthCheck),
        StepStatus::Completed
    );
    let lines = h.logs(d.id).await;
    let warnings: Vec<_> = lines
        .iter()
        .filter(|l| l.log.level == LogLevel::Warning)
        .collect();
    assert_eq!(warnings.len(), 2, "{:?}", messages(&lines));
    assert!(
        warnings[0]
            .log
            .message
            .starts_with("`echo` failed with exit code 1: no provider (")
    );
    assert!(
        warnings[0].log.message.ends_with("s)"),
        "the warning carries its duration"
    );
    assert_eq!(warnings[0].log.step.as_deref(), Some("configuring_dns"));
    assert!(
        warnings[1]
            .log
            .message
            .starts_with("`sleep` timed out after 0.8s and was killed")
    );
    assert_eq!(warnings[1].log.data["error_code"], "TIMEOUT");
    assert!(
        messages(&lines)
            .iter()
            .any(|m| m.starts_with("Health check passed! ("))
    );
    h.close().await;
}

async fn cancel_kills_the_command_in_flight_within_five_seconds(backend: TestBackend) {
    let h = Harness::new(backend).await;
    let s = h.seed("cancel", TestAuth::Key).await;
    let pipeline = base().with(
        Stage::CreatingDatabase,
        script("echo $$; sleep 300; true", "PostgreSQL container running"),
    );
    let w = h.start_worker(h.engine(
        pipeline,
        EngineConfig {
            heartbeat: Duration::from_secs(1),
            ..fast_config()
        },
    ));
    let pid_line = h
        .wait_for_line(s.deployment.id, LIMIT, |l| {
            l.log.level == LogLevel::Debug && l.log.message.parse::<i64>().is_ok()
        })
        .await;
    let pgid: i64 = pid_line.log.message.parse().unwrap();
    let asked = Instant::now();
    assert!(matches!(
        h.t.store
            .cancel_deployment(s.deployment.id, s.user.id)
            .await
            .unwrap(),
        CancelOutcome::Requested(_)
    ));
    let d = h
        .wait_finished(s.deployment.id, Duration::from_secs(10))
        .await;
    let took = asked.elapsed();
    w.stop().await;
    assert!(took < Duration::from_secs(5), "cancel took {took:?}");
    assert_eq!(d.status, DeploymentStatus::Cancelled);
    assert_eq!(
        d.error_message.as_deref(),
        Some("Deployment cancelled by Owner cancel")
    );
    // The remote command is gone within the same 5 s: ask the server over a fresh connection.
    let probe = paasportal_engine::transport::SshTransport::connect(
        &h.ssh.key_target(),
        &Default::default(),
    )
    .await
    .unwrap();
    let check = ShellCommand::script(&format!(
        "if kill -0 -- -{pgid} 2>/dev/null; then echo alive; else echo gone; fi"
    ));
    use paasportal_engine::transport::Transport;
    loop {
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let limits = paasportal_engine::transport::ExecLimits {
            timeout: Duration::from_secs(10),
            cancel: Default::default(),
        };
        probe.exec(&check, tx, &limits).await.unwrap();
        if rx.recv().await.unwrap().bytes == b"gone" {
            break;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "remote process group {pgid} alive 5 s after the cancel"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    probe.close().await;

    let lines = h.logs(d.id).await;
    let cancel = lines
        .iter()
        .find(|l| {
            l.log
                .message
                .starts_with("Deployment cancelled by Owner cancel")
        })
        .expect("who cancelled is logged");
    assert!(
        !serde_json::to_string(&lines)
            .unwrap()
            .contains("owner-cancel@example.com"),
        "the canceller is named by display name, never by e-mail"
    );
    assert_eq!(cancel.log.level, LogLevel::Warning);
    assert_eq!(cancel.log.status, DeploymentStatus::Cancelled);
    assert_eq!(cancel.log.data["cancelled_by"], s.user.id.to_string());
    assert_eq!(cancel.log.data["error_code"], "CANCELLED");
    assert_eq!(cancel.log.step.as_deref(), Some("creating_database"));
    let steps = h.t.store.list_steps(d.id).await.unwrap();
    assert_eq!(
        step_status(&steps, Stage::CreatingDatabase),
        StepStatus::Failed
    );
    assert_eq!(step_status(&steps, Stage::Completed), StepStatus::Skipped);
    // The stage may have changed the server: the environment is not claimed healthy.
    assert_eq!(
        h.t.store
            .get_environment(s.environment.id)
            .await
            .unwrap()
            .status,
        EnvironmentStatus::Failed
    );
    assert!(
        messages(&lines)
            .iter()
            .any(|m| m.starts_with("Environment marked failed"))
    );

    // A cancel before anything on the server changed gives the environment back its status.
    let again =
        h.t.store
            .create_deployment(
                s.environment.id,
                paasportal_core::Trigger::Manual,
                Some(s.user.id),
            )
            .await
            .unwrap();
    h.t.store
        .transition_environment(
            s.environment.id,
            EnvironmentStatus::Failed,
            EnvironmentStatus::Running,
        )
        .await
        .unwrap();
    let pipeline = base().with(
        Stage::CreatingNetwork,
        script("echo $$; sleep 300", "Network created").read_only(),
    );
    let w = h.start_worker(h.engine(pipeline, fast_config()));
    h.wait_for_line(again.id, LIMIT, |l| l.log.message.parse::<i64>().is_ok())
        .await;
    h.t.store
        .cancel_deployment(again.id, s.user.id)
        .await
        .unwrap();
    let d = h.wait_finished(again.id, Duration::from_secs(10)).await;
    w.stop().await;
    assert_eq!(d.status, DeploymentStatus::Cancelled);
    assert_eq!(
        h.t.store
            .get_environment(s.environment.id)
            .await
            .unwrap()
            .status,
        EnvironmentStatus::Running
    );
    h.close().await;
}

async fn cancel_of_a_queued_deployment_removes_it(backend: TestBackend) {
    let h = Harness::new(backend).await;
    let s = h.seed("queued", TestAuth::Key).await;
    match h
        .t
        .store
        .cancel_deployment(s.deployment.id, s.user.id)
        .await
        .unwrap()
    {
        CancelOutcome::Cancelled(d) => assert_eq!(d.status, DeploymentStatus::Cancelled),
        other => panic!("{other:?}"),
    }
    let w = h.start_worker(h.engine(base(), fast_config()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    w.stop().await;
    let d = h.t.store.get_deployment(s.deployment.id).await.unwrap();
    assert_eq!(d.status, DeploymentStatus::Cancelled);
    assert!(d.started_at.is_none(), "never started");
    assert!(h.logs(d.id).await.is_empty());
    h.close().await;
}

async fn stage_timeouts_stop_a_hanging_stage(backend: TestBackend) {
    let h = Harness::new(backend).await;
    let s = h.seed("slow", TestAuth::Key).await;
    let mut config = fast_config();
    config
        .stage_timeouts
        .insert(Stage::PullingImage, Duration::from_millis(1500));
    let pipeline = base().with(Stage::PullingImage, script("sleep 120", "Image ready"));
    let w = h.start_worker(h.engine(pipeline, config));
    let d = h.wait_finished(s.deployment.id, LIMIT).await;
    w.stop().await;
    assert_eq!(d.status, DeploymentStatus::Failed);
    let err = d.error_message.unwrap();
    assert!(
        err == "Pulling Image timed out after 1.5s"
            || err.starts_with("`sleep` timed out after 1.5s"),
        "{err}"
    );
    let lines = h.logs(d.id).await;
    let error = lines
        .iter()
        .find(|l| l.log.level == LogLevel::Error && l.log.step.as_deref() == Some("pulling_image"))
        .unwrap();
    let code = error.log.data["error_code"].as_str().unwrap();
    assert!(code == "STAGE_TIMEOUT" || code == "TIMEOUT", "{code}");
    assert!(d.duration_seconds.unwrap() < 10.0);
    h.close().await;
}

async fn connect_failure(
    backend: TestBackend,
    auth: TestAuth,
    tag: &str,
    prepare: impl AsyncFnOnce(&Harness, &common::harness::Seeded),
) -> (
    Harness,
    paasportal_core::LogRecord,
    paasportal_core::Deployment,
) {
    let h = Harness::new(backend).await;
    let s = h.seed(tag, auth).await;
    prepare(&h, &s).await;
    let config = EngineConfig {
        ssh: paasportal_engine::transport::SshOptions {
            connect_timeout: Duration::from_secs(5),
            ..Default::default()
        },
        ..fast_config()
    };
    let w = h.start_worker(h.engine(base(), config));
    let d = h.wait_finished(s.deployment.id, LIMIT).await;
    w.stop().await;
    assert_eq!(d.status, DeploymentStatus::Failed);
    assert_eq!(
        d.error_message.as_deref(),
        Some("Failed to connect to server via SSH")
    );
    let lines = h.logs(d.id).await;
    let error = lines
        .iter()
        .find(|l| l.log.level == LogLevel::Error && l.log.step.as_deref() == Some("connecting"))
        .expect("an error line at connecting")
        .clone();
    assert_eq!(error.log.message, "Failed to connect to server via SSH");
    assert_eq!(error.log.data["server"], format!("server-{tag}"));
    assert!(error.log.data.get("vm_ip").is_none());
    assert!(error.log.data.get("ssh_port").is_none());
    assert!(error.log.data.get("ssh_user").is_none());
    let all = serde_json::to_string(&lines).unwrap();
    assert!(!all.contains(&h.ssh.host), "the address in the log: {all}");
    assert!(!all.contains(&format!(":{}", h.ssh.port)), "{all}");
    assert!(!all.contains("SHA256:"), "a fingerprint in the log: {all}");
    assert!(error.log.data["troubleshooting"].as_array().unwrap().len() >= 2);
    assert_eq!(
        h.t.store
            .get_environment(s.environment.id)
            .await
            .unwrap()
            .status,
        EnvironmentStatus::Failed
    );
    (h, error, d)
}

async fn wrong_password_is_an_auth_failure(backend: TestBackend) {
    let (h, error, d) =
        connect_failure(backend, TestAuth::WrongPassword, "pw", async |_, _| {}).await;
    assert_eq!(error.log.data["error_code"], "AUTH_FAILED");
    assert_eq!(error.log.data["ssh_method"], "password");
    let steps = error.log.data["troubleshooting"].to_string();
    assert!(
        !steps.contains("id_rsa"),
        "key advice for a password server: {steps}"
    );
    assert!(steps.contains("PasswordAuthentication"), "{steps}");
    let all = serde_json::to_string(&h.logs(d.id).await).unwrap();
    assert!(!all.contains("definitely-not-the-password"));
    h.close().await;
}

async fn wrong_key_is_an_auth_failure(backend: TestBackend) {
    let (h, error, _) = connect_failure(backend, TestAuth::WrongKey, "key", async |_, _| {}).await;
    assert_eq!(error.log.data["error_code"], "AUTH_FAILED");
    assert_eq!(error.log.data["ssh_method"], "key");
    let steps = error.log.data["troubleshooting"].to_string();
    assert!(steps.contains("authorized_keys"), "{steps}");
    assert!(!steps.contains("PasswordAuthentication"), "{steps}");
    h.close().await;
}

async fn encrypted_key_connects_and_pins_the_host_key(backend: TestBackend) {
    let h = Harness::new(backend).await;
    let s = h.seed("enc", TestAuth::EncryptedKey).await;
    let w = h.start_worker(h.engine(base(), fast_config()));
    let d = h.wait_finished(s.deployment.id, LIMIT).await;
    assert_eq!(d.status, DeploymentStatus::Success, "{:?}", d.error_message);
    let pinned =
        h.t.store
            .get_server_secrets(s.server.id)
            .await
            .unwrap()
            .host_key
            .unwrap();
    let expected = russh::keys::PublicKey::from_openssh(h.ssh.host_pubkey.trim()).unwrap();
    assert_eq!(
        russh::keys::PublicKey::from_openssh(&pinned)
            .unwrap()
            .key_data(),
        expected.key_data()
    );
    // The second deployment connects against the pinned key and pins nothing new.
    let next =
        h.t.store
            .create_deployment(s.environment.id, paasportal_core::Trigger::Manual, None)
            .await
            .unwrap();
    let d = h.wait_finished(next.id, LIMIT).await;
    w.stop().await;
    assert_eq!(d.status, DeploymentStatus::Success);
    assert!(
        !messages(&h.logs(next.id).await)
            .iter()
            .any(|m| m.contains("Pinned"))
    );
    h.close().await;
}

async fn a_changed_host_key_is_refused(backend: TestBackend) {
    let (h, error, _) = connect_failure(backend, TestAuth::Key, "hk", async |h, s| {
        let other = russh::keys::decode_secret_key(&h.ssh.wrong_key, None).unwrap();
        let public = other.public_key().clone();
        h.t.store
            .pin_host_key(
                s.server.id,
                &public.to_openssh().unwrap(),
                &public.fingerprint(russh::keys::HashAlg::Sha256).to_string(),
            )
            .await
            .unwrap();
    })
    .await;
    assert_eq!(error.log.data["error_code"], "HOST_KEY_MISMATCH");
    let detail = error.log.data["error"].as_str().unwrap();
    assert_eq!(
        detail, "the server presented a different host key than the one pinned on first connect",
        "no fingerprint for viewers (they are in the operator's log)"
    );
    assert!(
        error.log.data["troubleshooting"][0]
            .as_str()
            .unwrap()
            .contains("pinned host key")
    );
    h.close().await;
}

async fn an_unreachable_port_is_connection_refused(backend: TestBackend) {
    let h = Harness::new(backend).await;
    let s = h.seed("port", TestAuth::Key).await;
    let port = paasportal_testkit::free_port();
    let sql = "UPDATE servers SET ssh_port = $2 WHERE id = $1";
    paasportal_store::with_db!(h.t.store.db(), p => sqlx::query(sql).bind(s.server.id).bind(i64::from(port)).execute(p).await.map(|_| ()).unwrap());
    let w = h.start_worker(h.engine(base(), fast_config()));
    let d = h.wait_finished(s.deployment.id, LIMIT).await;
    w.stop().await;
    assert_eq!(d.status, DeploymentStatus::Failed);
    let error = h
        .logs(d.id)
        .await
        .into_iter()
        .find(|l| l.log.level == LogLevel::Error)
        .unwrap();
    assert_eq!(error.log.data["error_code"], "CONNECTION_REFUSED");
    assert!(error.log.data.get("ssh_port").is_none());
    let steps = error.log.data["troubleshooting"].to_string();
    assert!(steps.contains("nc -vz SERVER_IP SSH_PORT"), "{steps}");
    assert!(
        !steps.contains(&port.to_string()),
        "no port for viewers: {steps}"
    );
    assert!(!steps.contains("chmod"), "{steps}");
    h.close().await;
}

async fn no_secret_survives_in_logs_data_or_errors(backend: TestBackend) {
    use base64::Engine as _;
    let h = Harness::new(backend).await;
    let s = h.seed("secret", TestAuth::Password).await;
    let pw = h.ssh.password.clone();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&pw);
    let pipeline = base()
        .with(
            Stage::CloningRepo,
            Script::new(
                vec![
                    ShellCommand::new("echo")
                        .arg(format!("https://deploy:{pw}@git.example.com/x.git")),
                    ShellCommand::new("printf '%s\\n'").arg(&pw).raw("| base64"),
                    ShellCommand::new("printf '{\"password\": \"%s\"}\\n'").arg(&pw),
                ],
                "Project repository cloned",
            ),
        )
        .with(
            Stage::PullingImage,
            Script::new(
                vec![
                    ShellCommand::new("echo")
                        .arg(format!("login failed for {pw}"))
                        .raw(">&2; exit 1"),
                ],
                "Image ready",
            ),
        );
    let w = h.start_worker(h.engine(pipeline, fast_config()));
    let d = h.wait_finished(s.deployment.id, LIMIT).await;
    w.stop().await;
    assert_eq!(d.status, DeploymentStatus::Failed);
    let err = d.error_message.unwrap();
    assert!(!err.contains(&pw), "{err}");
    assert!(err.contains("***"), "{err}");
    let lines = h.logs(d.id).await;
    assert!(
        lines
            .iter()
            .any(|l| l.log.message.contains("https://deploy:***@git.example.com"))
    );
    for l in &lines {
        let dumped = format!("{} {}", l.log.message, l.log.data);
        for form in [pw.as_str(), b64.as_str(), b64.trim_end_matches('=')] {
            assert!(!dumped.contains(form), "secret form {form:?} in {dumped}");
        }
    }
    let error_line = lines
        .iter()
        .find(|l| l.log.level == LogLevel::Error && l.log.step.as_deref() == Some("pulling_image"))
        .unwrap();
    assert_eq!(
        error_line.log.data["output_tail"][0],
        "login failed for ***"
    );
    h.close().await;
}

async fn the_local_transport_runs_the_same_pipeline(backend: TestBackend) {
    let h = Harness::new(backend).await;
    let s = h.seed("local", TestAuth::Key).await;
    h.t.store
        .set_server_transport(s.server.id, TransportKind::Local)
        .await
        .unwrap();
    let marker = std::env::temp_dir().join(format!("pp-local-{}", s.deployment.id));
    let pipeline = base().with(
        Stage::CreatingNetwork,
        Script::new(
            vec![ShellCommand::new("touch").arg(marker.as_os_str().as_encoded_bytes())],
            "Network created",
        ),
    );
    let w = h.start_worker(h.engine(pipeline, fast_config()));
    let d = h.wait_finished(s.deployment.id, LIMIT).await;
    w.stop().await;
    assert_eq!(d.status, DeploymentStatus::Success, "{:?}", d.error_message);
    assert!(marker.exists(), "the command ran on this host");
    std::fs::remove_file(&marker).unwrap();
    let msgs = messages(&h.logs(d.id).await);
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("Local transport ready ("))
    );
    h.close().await;
}

async fn a_lost_workers_deployment_is_failed(backend: TestBackend) {
    let h = Harness::new(backend).await;
    let s = h.seed("lost", TestAuth::Key).await;
    // A worker that claimed the deployment, started a stage, and died.
    let claimed =
        h.t.store
            .claim_next_deployment("dead-host:1:dead", Duration::from_millis(1))
            .await
            .unwrap()
            .unwrap();
    let ids: Vec<&str> = CATALOGUE.iter().map(|i| i.id).collect();
    h.t.store.init_steps(claimed.id, &ids).await.unwrap();
    h.t.store
        .start_step(claimed.id, "creating_network", chrono::Utc::now(), 12)
        .await
        .unwrap();
    h.t.store
        .set_environment_status(s.environment.id, EnvironmentStatus::Deploying)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let w = h.start_worker(h.engine(base(), fast_config()));
    let d = h.wait_finished(claimed.id, Duration::from_secs(10)).await;
    w.stop().await;
    assert_eq!(d.status, DeploymentStatus::Failed);
    assert!(d.error_message.unwrap().starts_with("Worker lost: "));
    assert_eq!(
        h.t.store
            .get_environment(s.environment.id)
            .await
            .unwrap()
            .status,
        EnvironmentStatus::Failed
    );
    let steps = h.t.store.list_steps(d.id).await.unwrap();
    assert_eq!(
        step_status(&steps, Stage::CreatingNetwork),
        StepStatus::Failed
    );
    assert_eq!(step_status(&steps, Stage::HealthCheck), StepStatus::Skipped);
    let lines = h.logs(d.id).await;
    let line = lines.last().unwrap();
    assert_eq!(line.log.level, LogLevel::Error);
    assert_eq!(line.log.data["error_code"], "WORKER_LOST");
    assert_eq!(line.log.step.as_deref(), Some("creating_network"));
    assert_eq!(line.log.status, DeploymentStatus::Failed);
    assert_eq!(env_events(&h).await, ["failed"]);
    h.close().await;
}

async fn concurrency_is_bounded(backend: TestBackend) {
    let h = Harness::new(backend).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(h.seed(&format!("c{i}"), TestAuth::Key).await.deployment.id);
    }
    let pipeline = base().with(
        Stage::CreatingNetwork,
        script("sleep 0.6", "Network created"),
    );
    let w = h.start_worker(h.engine(
        pipeline,
        EngineConfig {
            concurrency: 2,
            ..fast_config()
        },
    ));
    let started = Instant::now();
    let mut most = 0;
    loop {
        // One statement, so the count is a snapshot: reading the rows one by one could
        // see a deployment still running and, a moment later, the one that replaced it.
        let sql = "SELECT COUNT(*) FROM deployments WHERE status = 'running'";
        let running: i64 = paasportal_store::with_db!(h.t.store.db(), p => sqlx::query_scalar(sql).fetch_one(p).await).unwrap();
        let mut done = 0;
        for id in &ids {
            if h.t
                .store
                .get_deployment(*id)
                .await
                .unwrap()
                .status
                .is_finished()
            {
                done += 1;
            }
        }
        most = most.max(running);
        if done == ids.len() {
            break;
        }
        assert!(started.elapsed() < LIMIT);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    w.stop().await;
    assert_eq!(
        most, 2,
        "at most `concurrency` deployments run at once, and that many do"
    );
    for id in ids {
        assert_eq!(
            h.t.store.get_deployment(id).await.unwrap().status,
            DeploymentStatus::Success
        );
    }
    h.close().await;
}

/// A tiny local image (busybox from the host's busybox-static package): no registry needed.
fn busybox_image() -> &'static str {
    static IMAGE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    const NAME: &str = "paasportal-engine-test/busybox:1";
    IMAGE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        std::fs::copy("/bin/busybox", dir.path().join("bin/busybox"))
            .expect("busybox-static is installed");
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "tar -C '{}' -c . | docker import --change 'ENTRYPOINT [\"/bin/busybox\"]' - {NAME} >/dev/null",
                dir.path().display()
            ))
            .status()
            .unwrap();
        assert!(status.success(), "docker import of the test image");
    });
    NAME
}

struct FailingHealthCheck {
    container: String,
}

#[async_trait::async_trait]
impl paasportal_engine::StageHandler for FailingHealthCheck {
    async fn run(
        &self,
        cx: &paasportal_engine::StageContext<'_>,
    ) -> Result<paasportal_engine::StageOutcome, paasportal_engine::StageError> {
        cx.run(
            &ShellCommand::new("docker run -d --name")
                .arg(&self.container)
                .arg(busybox_image())
                .args([
                    "sh",
                    "-c",
                    "i=1; while [ $i -le 80 ]; do echo line $i; i=$((i+1)); done; sleep 300",
                ]),
        )
        .await?;
        cx.run(&ShellCommand::script("sleep 1")).await?;
        let data = paasportal_engine::diagnose::with_container_log(
            cx,
            &self.container,
            serde_json::json!({"env_uuid": cx.environment().id}),
        )
        .await;
        Err(paasportal_engine::StageError::problem(
            "Health check failed ({duration}), but container is running",
            paasportal_core::diagnostics::Problem::HealthCheck,
            paasportal_core::diagnostics::ErrorCode::HealthCheckFailed,
            data,
        ))
    }
}

async fn a_failed_health_check_warns_with_the_containers_last_log_lines(backend: TestBackend) {
    let h = Harness::new(backend).await;
    let s = h.seed("health", TestAuth::Key).await;
    let container = format!("pp-engine-test-{}", s.deployment.id.simple());
    let pipeline = base().with(
        Stage::HealthCheck,
        FailingHealthCheck {
            container: container.clone(),
        },
    );
    let w = h.start_worker(h.engine(pipeline, fast_config()));
    let d = h.wait_finished(s.deployment.id, LIMIT).await;
    w.stop().await;
    let _ = std::process::Command::new("docker")
        .args(["rm", "-f", &container])
        .output();
    assert_eq!(d.status, DeploymentStatus::Success, "{:?}", d.error_message);
    let lines = h.logs(d.id).await;
    let warning = lines
        .iter()
        .find(|l| l.log.level == LogLevel::Warning)
        .expect("the failed health check is a warning");
    assert!(warning.log.message.starts_with("Health check failed ("));
    assert!(
        warning
            .log
            .message
            .ends_with("s), but container is running")
    );
    assert_eq!(warning.log.data["error_code"], "HEALTH_CHECK_FAILED");
    let log: Vec<&str> = warning.log.data["container_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(log.len(), 50);
    assert_eq!(log[0], "line 31");
    assert_eq!(log[49], "line 80");
    assert_eq!(
        warning.log.data["troubleshooting"][0],
        format!(
            "Check container status: docker ps | grep {}_odoo",
            s.environment.id
        )
    );
    let steps = h.t.store.list_steps(d.id).await.unwrap();
    assert_eq!(step_status(&steps, Stage::HealthCheck), StepStatus::Warning);
    h.close().await;
}

/// A long command that fails the way `docker run` does for an image the server lacks,
/// with no registry reachable: `error_message` names the cause in one short line; the
/// command line and the output are in the ERROR line's `data`.
async fn error_message_is_a_one_line_summary_and_the_command_stays_in_data(backend: TestBackend) {
    let h = Harness::new(backend).await;
    let s = h.seed("summary", TestAuth::Key).await;
    let padding = "--env=X=".repeat(600);
    let fail = ShellCommand::new("sh")
        .arg("-c")
        .arg(
            "echo \"Unable to find image 'postgres:15' locally\" >&2; \
             echo 'docker: Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host.' >&2; \
             echo \"See 'docker run --help'.\" >&2; exit 125",
        )
        .arg(&padding);
    let pipeline = base().with(
        Stage::CreatingDatabase,
        Script::new(vec![fail], "PostgreSQL container running"),
    );
    let w = h.start_worker(h.engine(pipeline, fast_config()));
    let d = h.wait_finished(s.deployment.id, LIMIT).await;
    w.stop().await;
    assert_eq!(d.status, DeploymentStatus::Failed);
    let err = d.error_message.unwrap();
    assert_eq!(
        err,
        "`sh` failed with exit code 125: Image postgres:15 is not on the server and no registry is reachable"
    );
    assert!(err.chars().count() <= 200);
    let lines = h.logs(d.id).await;
    let error = lines
        .iter()
        .find(|l| {
            l.log.level == LogLevel::Error && l.log.step.as_deref() == Some("creating_database")
        })
        .unwrap();
    assert_eq!(error.log.message, err);
    assert!(
        error.log.data["command"]
            .as_str()
            .unwrap()
            .contains(&padding)
    );
    assert_eq!(error.log.data["exit_code"], 125);
    assert_eq!(
        error.log.data["output_tail"][0],
        "Unable to find image 'postgres:15' locally"
    );
    let last = lines.last().unwrap();
    assert!(
        last.log
            .message
            .starts_with("Deployment failed! Total time: ")
    );
    assert_eq!(last.log.data["error_message"], err.as_str());
    for l in &lines {
        assert!(
            l.log.message.len() < 1000 || l.log.message.starts_with("$ "),
            "a long line other than the command's own: {}",
            l.log.message
        );
    }
    h.close().await;
}

/// Command output holding NUL bytes (PostgreSQL text cannot store them) arrives with
/// U+FFFD in their place, and takes no other line of its batch with it.
async fn output_with_nul_bytes_reaches_the_log_with_replacement_characters(backend: TestBackend) {
    let h = Harness::new(backend).await;
    let s = h.seed("nul", TestAuth::Key).await;
    let pipeline = base().with(
        Stage::CreatingNetwork,
        script(
            "echo first; printf 'before\\000after\\n'; printf 'err\\000\\n' >&2; echo last",
            "Network created",
        ),
    );
    let w = h.start_worker(h.engine(pipeline, fast_config()));
    let d = h.wait_finished(s.deployment.id, LIMIT).await;
    w.stop().await;
    assert_eq!(d.status, DeploymentStatus::Success, "{:?}", d.error_message);
    let lines = h.logs(d.id).await;
    let msgs = messages(&lines);
    for want in ["first", "before\u{FFFD}after", "err\u{FFFD}", "last"] {
        assert!(
            msgs.iter().any(|m| m == want),
            "{want:?} missing: {msgs:#?}"
        );
    }
    assert!(msgs.iter().all(|m| !m.contains('\0')));
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("Deployment completed successfully!"))
    );
    h.close().await;
}

/// The server's password printed over two lines, over the cut of a line longer than
/// 16 KiB, inside base64 wrapped at 76 columns, and as hex: no part of it a viewer could
/// put back together reaches the log.
async fn secrets_over_line_breaks_the_line_limit_and_wrapped_base64_are_masked(
    backend: TestBackend,
) {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    let h = Harness::new(backend).await;
    let s = h.seed("split", TestAuth::Password).await;
    let pw = h.ssh.password.clone();
    assert!(pw.len() >= 12);
    // The command lines carry the password only base64-encoded (a form the redactor knows).
    let decoded = format!("echo {} | base64 -d", STANDARD.encode(&pw));
    let commands = vec![
        // Two lines: its first half, then the rest.
        ShellCommand::script(&format!("{decoded} | fold -w {}; echo", pw.len() / 2)),
        // One line of 16 380 x's and the password: cut by the 16 KiB limit after 4 of its bytes.
        ShellCommand::script(&format!(
            "head -c 16380 /dev/zero | tr '\\0' x; {decoded}; echo"
        )),
        // Inside base64 wrapped at 76 columns, 100 bytes in.
        ShellCommand::script(&format!(
            "{{ head -c 100 /dev/zero | tr '\\0' y; {decoded}; head -c 100 /dev/zero | tr '\\0' z; }} | base64 -w 76"
        )),
        // Hex.
        ShellCommand::script(&format!("{decoded} | od -An -tx1 | tr -d ' \\n'; echo")),
    ];
    let pipeline = base().with(
        Stage::CreatingNetwork,
        Script::new(commands, "Network created"),
    );
    let w = h.start_worker(h.engine(pipeline, fast_config()));
    let d = h.wait_finished(s.deployment.id, LIMIT).await;
    w.stop().await;
    assert_eq!(d.status, DeploymentStatus::Success, "{:?}", d.error_message);
    let lines = h.logs(d.id).await;
    let output: Vec<&str> = lines
        .iter()
        .filter(|l| l.log.level == LogLevel::Debug && !l.log.message.starts_with("$ "))
        .map(|l| l.log.message.as_str())
        .collect();
    assert!(
        output
            .iter()
            .any(|l| l.starts_with("xxxx") && l.len() > 16_000),
        "the long line was logged (cut)"
    );
    let joined = output.concat();
    let hex: String = pw.bytes().map(|b| format!("{b:02x}")).collect();
    let skip = 2; // 100 bytes in: the password starts at offset 1 of a 3-byte group
    let core = &pw.as_bytes()[skip..];
    let core = STANDARD_NO_PAD.encode(&core[..core.len() - core.len() % 3]);
    for (what, form) in [("password", pw.as_str()), ("hex", &hex), ("base64", &core)] {
        assert!(
            !joined.contains(form),
            "the {what} form survived across lines: {output:#?}"
        );
    }
    // No half of it either: each part of the password is masked where it stands.
    let half = &pw[..pw.len() / 2];
    assert!(!joined.contains(half), "{output:#?}");
    assert!(joined.matches("***").count() >= 4, "{output:#?}");
    h.close().await;
}

/// A registry login that hangs (its registry drops every packet) is cancelled: the
/// one-off Docker configuration directory, which would hold the credentials, is removed
/// all the same.
async fn a_cancel_during_a_registry_login_leaves_no_credentials_on_the_server(
    backend: TestBackend,
) {
    use paasportal_store::versions::NewOdooVersion;
    let h = Harness::new(backend).await;
    // A registry that accepts connections and never answers: the login hangs.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let version = format!("99.{}", backend as u8);
    let _ =
        h.t.store
            .create_odoo_version(&NewOdooVersion {
                version: version.clone(),
                image: format!("127.0.0.1:{port}/paasportal/odoo:99"),
                registry_username: Some("deployer".into()),
                registry_password_enc: Some(h.secrets.seal("registry-password-123")),
            })
            .await;
    let v = version.clone();
    let s = h
        .seed_with("login", TestAuth::Key, move |e| e.odoo_version = v)
        .await;
    let pipeline = base().with(Stage::PullingImage, paasportal_engine::stages::PullingImage);
    let w = h.start_worker(h.engine(pipeline, fast_config()));
    let login = h
        .wait_for_line(s.deployment.id, LIMIT, |l| {
            l.log.message.starts_with("$ docker") && l.log.message.contains("login")
        })
        .await;
    let dir = login
        .log
        .message
        .split('\'')
        .find(|p| p.contains("paasportal-docker."))
        .expect("the login names its configuration directory")
        .to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.t.store
        .cancel_deployment(s.deployment.id, s.user.id)
        .await
        .unwrap();
    let d = h.wait_finished(s.deployment.id, LIMIT).await;
    w.stop().await;
    assert_eq!(
        d.status,
        DeploymentStatus::Cancelled,
        "{:?}",
        d.error_message
    );
    let probe = paasportal_engine::transport::SshTransport::connect(
        &h.ssh.key_target(),
        &Default::default(),
    )
    .await
    .unwrap();
    use paasportal_engine::transport::Transport;
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let limits = paasportal_engine::transport::ExecLimits {
        timeout: Duration::from_secs(10),
        cancel: Default::default(),
    };
    let check = ShellCommand::new("if [ -e")
        .arg(&dir)
        .raw("]; then echo left; else echo gone; fi");
    probe.exec(&check, tx, &limits).await.unwrap();
    let answer = rx.recv().await.unwrap().bytes;
    probe.close().await;
    holder.abort();
    assert_eq!(
        String::from_utf8_lossy(&answer),
        "gone",
        "{dir} (the registry credentials) left on the server after the cancel"
    );
    h.close().await;
}
