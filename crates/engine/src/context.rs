//! What a stage sees while it runs: the deployment's facts, its logger, its connection,
//! and `run`, which executes a command under the stage's limits and streams the
//! command's output into DEBUG lines.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use paasportal_core::diagnostics::ErrorCode;
use paasportal_core::shell::ShellCommand;
use paasportal_core::summary;
use paasportal_core::{
    Deployment, DeploymentContext, Environment, LogLevel, Project, SecretBox, Server, Stage,
};
use paasportal_store::Store;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::EngineConfig;
use crate::control::RunControl;
use crate::engine::Engine;
use crate::logger::DeploymentLogger;
use crate::stage::StageError;
use crate::steps::StepRecorder;
use crate::transport::{ExecError, ExecLimits, ExitStatus, OutputStream, Stdin, Transport};
use crate::vars::Vars;

/// Output lines kept for error reports (the spec asks for the last 50 of a container's log).
pub const TAIL_LINES: usize = 50;
/// Most stdout bytes a command's result keeps for the stage to parse.
pub const CAPTURE_LIMIT: usize = 1 << 20;

/// How long a line of output that could be the beginning of a secret waits for the
/// next line before it is logged anyway (with that beginning masked).
const HOLD_BACK: Duration = Duration::from_millis(300);

/// Longest wait for a clean-up command that runs while the deployment stops (the runner
/// gives a stopped stage 3 s to return).
const CLEANUP_TIMEOUT: Duration = Duration::from_millis(2500);

fn stream_slot(stream: OutputStream) -> usize {
    match stream {
        OutputStream::Stdout => 0,
        OutputStream::Stderr => 1,
    }
}

/// One deployment's run, shared by its stages.
pub(crate) struct RunState {
    pub engine: Engine,
    pub deployment: Deployment,
    pub environment: Environment,
    pub project: Project,
    pub server: Server,
    pub context: DeploymentContext,
    pub logger: DeploymentLogger,
    pub steps: StepRecorder,
    pub control: RunControl,
    pub transport: Mutex<Option<Arc<dyn Transport>>>,
    pub vars: Vars,
    pub remote: Mutex<Duration>,
    /// Time stages spent in deliberate waits ([`StageContext::sleep`]).
    pub waited: Mutex<Duration>,
    pub commands: AtomicUsize,
}

/// How to run one command.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Bound for this command (the stage's remaining time bounds it too).
    pub timeout: Option<Duration>,
    /// Fail the stage when the command exits non-zero.
    pub check: bool,
    /// Log each output line at DEBUG.
    pub log_output: bool,
    /// Log the command line itself at DEBUG (off for commands carrying bulk data).
    pub log_command: bool,
    /// Run even when the deployment is being stopped (a clean-up that removes
    /// credentials from the server): its own timeout, not the cancel token.
    pub survive_stop: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: None,
            check: true,
            log_output: true,
            log_command: true,
            survive_stop: false,
        }
    }
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct CommandOutput {
    pub status: ExitStatus,
    /// Its stdout (up to [`CAPTURE_LIMIT`] bytes), unredacted, for the stage to parse.
    pub stdout: Vec<u8>,
    /// Its last [`TAIL_LINES`] lines of stdout and stderr, redacted.
    pub tail: Vec<String>,
    pub duration: Duration,
}

impl CommandOutput {
    /// Stdout as text (invalid UTF-8 replaced), trimmed.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim().to_owned()
    }
}

/// The stage's view of its deployment.
pub struct StageContext<'a> {
    run: &'a RunState,
    stage: Stage,
    started: Instant,
    deadline: Instant,
}

impl<'a> StageContext<'a> {
    pub(crate) fn new(
        run: &'a RunState,
        stage: Stage,
        started: Instant,
        timeout: Duration,
    ) -> Self {
        StageContext {
            run,
            stage,
            started,
            deadline: started + timeout,
        }
    }

    /// The stage being run.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The deployment, as it was claimed.
    pub fn deployment(&self) -> &Deployment {
        &self.run.deployment
    }

    /// The environment being deployed.
    pub fn environment(&self) -> &Environment {
        &self.run.environment
    }

    /// The environment's project.
    pub fn project(&self) -> &Project {
        &self.run.project
    }

    /// The target server.
    pub fn server(&self) -> &Server {
        &self.run.server
    }

    /// Names and ids the event stream shows with every line.
    pub fn deployment_context(&self) -> &DeploymentContext {
        &self.run.context
    }

    /// The store, for what a stage reads or records.
    pub fn store(&self) -> &Store {
        &self.run.engine.store
    }

    /// The durable log and event writer (for events a stage emits, like `migration_progress`).
    pub fn writer(&self) -> &paasportal_store::LogWriter {
        &self.run.engine.writer
    }

    /// The master-key box: decrypts tokens and passwords; register what it opens.
    pub fn secrets(&self) -> &SecretBox {
        &self.run.engine.secrets
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.run.engine.config
    }

    /// Values shared between the stages of this deployment.
    pub fn vars(&self) -> &Vars {
        &self.run.vars
    }

    /// The deployment's redactor (for text a stage stores elsewhere than the log).
    pub fn redactor(&self) -> &paasportal_core::redact::Redactor {
        self.run.logger.redactor()
    }

    /// Makes every later line, `data` field and error of this deployment mask `secret`.
    pub fn register_secret(&self, secret: &str) {
        self.run.logger.redactor().register(secret);
    }

    /// Time since the stage started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Time left before the stage's timeout.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Fires when the deployment is cancelled or otherwise stopped.
    pub fn cancel_token(&self) -> &CancellationToken {
        self.run.control.token()
    }

    /// Waits `d`, or fails with [`StageError::stopped`] when the deployment is stopped first.
    pub async fn sleep(&self, d: Duration) -> Result<(), StageError> {
        let begin = Instant::now();
        let r = tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            _ = self.cancel_token().cancelled() => Err(StageError::stopped()),
        };
        *self.run.waited.lock().unwrap_or_else(|p| p.into_inner()) += begin.elapsed();
        r
    }

    /// Logs a line of this stage.
    pub async fn log(&self, level: LogLevel, message: &str, data: Value) {
        self.run
            .logger
            .log(level, Some(self.stage), message, data)
            .await
    }

    /// Logs a line of this stage with an explicit timestamp.
    pub async fn log_at(
        &self,
        at: chrono::DateTime<chrono::Utc>,
        level: LogLevel,
        message: &str,
        data: Value,
    ) {
        self.run
            .logger
            .log_at(at, level, Some(self.stage), message, data)
            .await
    }

    /// Logs an INFO line of this stage.
    pub async fn info(&self, message: &str) {
        self.log(LogLevel::Info, message, Value::Null).await
    }

    /// Logs a WARNING line of this stage with details.
    pub async fn warn(&self, message: &str, data: Value) {
        self.log(LogLevel::Warning, message, data).await
    }

    /// Logs a DEBUG line of this stage.
    pub async fn debug(&self, message: &str) {
        self.log(LogLevel::Debug, message, Value::Null).await
    }

    /// The deployment's connection to its server (opened by `connecting`).
    pub fn transport(&self) -> Result<Arc<dyn Transport>, StageError> {
        self.run
            .transport
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| {
                StageError::new(
                    format!(
                        "Stage {} needs a connection to the server, but none is open",
                        self.stage
                    ),
                    ErrorCode::Internal,
                    Value::Null,
                )
            })
    }

    /// Makes `transport` the deployment's connection for every later stage.
    pub fn set_transport(&self, transport: Arc<dyn Transport>) {
        *self.run.transport.lock().unwrap_or_else(|p| p.into_inner()) = Some(transport);
    }

    /// Runs a command; a non-zero exit fails the stage.
    pub async fn run(&self, cmd: &ShellCommand) -> Result<CommandOutput, StageError> {
        self.run_with(cmd, RunOptions::default()).await
    }

    /// Runs a command with explicit options.
    pub async fn run_with(
        &self,
        cmd: &ShellCommand,
        opts: RunOptions,
    ) -> Result<CommandOutput, StageError> {
        self.run_input(cmd, &[], opts).await
    }

    /// Runs a command with `input` on its stdin (file content, a password for
    /// `--password-stdin`): never on the command line, never logged.
    pub async fn run_input(
        &self,
        cmd: &ShellCommand,
        input: &[u8],
        opts: RunOptions,
    ) -> Result<CommandOutput, StageError> {
        let mut reader = input;
        let stdin: Option<&mut Stdin<'_>> = if input.is_empty() {
            None
        } else {
            Some(&mut reader)
        };
        self.run_stream(cmd, stdin, opts).await
    }

    /// Runs a command with its stdin read from `input` as it runs (a backup streamed
    /// from a local file): never on the command line, never logged, never whole in memory.
    pub async fn run_stream(
        &self,
        cmd: &ShellCommand,
        input: Option<&mut Stdin<'_>>,
        opts: RunOptions,
    ) -> Result<CommandOutput, StageError> {
        let transport = self.transport()?;
        let logger = &self.run.logger;
        let shown = if opts.log_command {
            logger.redactor().redact(&cmd.display())
        } else {
            let line = cmd.display();
            let head: String = line.chars().take(60).collect();
            logger
                .redactor()
                .redact(&format!("{head}… ({} bytes)", line.len()))
        };
        if opts.log_command {
            logger
                .log(
                    LogLevel::Debug,
                    Some(self.stage),
                    &format!("$ {shown}"),
                    Value::Null,
                )
                .await;
        }
        let limits = if opts.survive_stop {
            ExecLimits {
                timeout: opts.timeout.unwrap_or(CLEANUP_TIMEOUT),
                cancel: CancellationToken::new(),
            }
        } else {
            ExecLimits {
                timeout: opts
                    .timeout
                    .unwrap_or(self.config().command_timeout)
                    .min(self.remaining()),
                cancel: self.run.control.token().clone(),
            }
        };
        let (tx, mut rx) = mpsc::channel::<crate::transport::OutputLine>(256);
        let started = Instant::now();
        let consume = async {
            let mut stdout = Vec::new();
            let mut tail: VecDeque<String> = VecDeque::with_capacity(TAIL_LINES);
            // One redactor per stream: a secret printed over two lines, or over the cut
            // of a line longer than the splitter's limit, is masked in both parts.
            let mut redactors = [logger.redactor().stream(), logger.redactor().stream()];
            let mut open = true;
            while open {
                let holding = redactors.iter().any(|r| r.is_holding());
                let released: Vec<(OutputStream, Vec<String>)> = tokio::select! {
                    line = rx.recv() => match line {
                        Some(line) => {
                            if line.stream == OutputStream::Stdout && stdout.len() < CAPTURE_LIMIT {
                                stdout.extend_from_slice(&line.bytes);
                                stdout.push(b'\n');
                            }
                            let text = String::from_utf8_lossy(&line.bytes);
                            vec![(line.stream, redactors[stream_slot(line.stream)].push(&text))]
                        }
                        None => {
                            open = false;
                            vec![
                                (OutputStream::Stdout, redactors[0].finish()),
                                (OutputStream::Stderr, redactors[1].finish()),
                            ]
                        }
                    },
                    // The command went quiet: show what it printed last.
                    _ = tokio::time::sleep(HOLD_BACK), if holding => vec![
                        (OutputStream::Stdout, redactors[0].flush()),
                        (OutputStream::Stderr, redactors[1].flush()),
                    ],
                };
                for (stream, lines) in released {
                    for text in lines {
                        if opts.log_output {
                            let data = match stream {
                                OutputStream::Stdout => Value::Null,
                                OutputStream::Stderr => json!({"stream": "stderr"}),
                            };
                            logger
                                .log(LogLevel::Debug, Some(self.stage), &text, data)
                                .await;
                        }
                        if tail.len() == TAIL_LINES {
                            tail.pop_front();
                        }
                        tail.push_back(text);
                    }
                }
            }
            (stdout, Vec::from(tail))
        };
        let (result, (stdout, tail)) =
            tokio::join!(transport.exec_streaming(cmd, input, tx, &limits), consume);
        let duration = started.elapsed();
        *self.run.remote.lock().unwrap_or_else(|p| p.into_inner()) += duration;
        self.run.commands.fetch_add(1, Ordering::Relaxed);
        let status = result.map_err(|e| self.exec_error(e, &shown, &tail))?;
        if opts.check && !status.success() {
            return Err(StageError::new(
                summary::command_failed(&shown, &status.describe(), &tail),
                ErrorCode::CommandFailed,
                json!({
                    "command": shown,
                    "exit_code": status.code,
                    "signal": status.signal,
                    "output_tail": tail,
                }),
            ));
        }
        Ok(CommandOutput {
            status,
            stdout,
            tail,
            duration,
        })
    }

    fn exec_error(&self, e: ExecError, shown: &str, tail: &[String]) -> StageError {
        let details = json!({"command": shown, "output_tail": tail});
        let label = summary::command_label(shown);
        match e {
            ExecError::Cancelled => StageError::stopped(),
            ExecError::Timeout(after) => StageError::new(
                format!(
                    "`{label}` timed out after {:.1}s and was killed",
                    after.as_secs_f64()
                ),
                ErrorCode::Timeout,
                json!({"command": shown, "timeout_seconds": after.as_secs_f64(), "output_tail": tail}),
            ),
            ExecError::Invalid(err) => StageError::new(
                format!("Invalid command `{label}`: {err}"),
                ErrorCode::InvalidCommand,
                details,
            ),
            ExecError::ConnectionLost(why) => StageError::new(
                summary::one_line(
                    &format!("Lost the connection to the server while running `{label}`: {why}"),
                    summary::MAX_SUMMARY,
                ),
                ErrorCode::ConnectionLost,
                details,
            ),
            ExecError::Spawn(why) => StageError::new(
                summary::one_line(
                    &format!("`{label}` could not be started: {why}"),
                    summary::MAX_SUMMARY,
                ),
                ErrorCode::CommandFailed,
                details,
            ),
            ExecError::Input(why) => StageError::new(
                summary::one_line(
                    &format!("The input of `{label}` could not be read, so it was stopped: {why}"),
                    summary::MAX_SUMMARY,
                ),
                ErrorCode::Internal,
                details,
            ),
        }
    }
}
