//! Running the `odoo` crate's `docker` argument vectors through the stage's context:
//! every argument quoted by `paasportal_core::shell`, failures turned into stage
//! errors that carry the command, its exit status and the last lines of its output.
//!
//! Containers are started with a `paasportal.spec` label holding a hash of their
//! `docker run` arguments, so a redeploy keeps a running database container whose
//! arguments did not change and replaces one whose did (its named volume stays).

use paasportal_core::diagnostics::ErrorCode;
use paasportal_core::shell::ShellCommand;
use paasportal_odoo::docker_args::{self, Argv};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::context::{CommandOutput, RunOptions, StageContext};
use crate::stage::StageError;

/// The label holding the hash of a container's `docker run` arguments.
pub const SPEC_LABEL: &str = "paasportal.spec";

/// A command line from an argument vector: every argument quoted; the program too,
/// unless it is a plain name such as `docker` (kept bare so logged commands read well).
pub fn command(argv: &[String]) -> ShellCommand {
    match argv.split_first() {
        Some((program, rest))
            if !program.is_empty()
                && program
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')) =>
        {
            ShellCommand::new(program).args(rest)
        }
        _ => ShellCommand::new("").args(argv),
    }
}

/// Runs `argv`; a non-zero exit fails the stage.
pub async fn run(cx: &StageContext<'_>, argv: &[String]) -> Result<CommandOutput, StageError> {
    cx.run(&command(argv)).await
}

/// Runs `argv` without failing on a non-zero exit, stderr merged into the output.
pub async fn probe(cx: &StageContext<'_>, argv: &[String]) -> Result<CommandOutput, StageError> {
    let cmd = command(argv).raw("2>&1");
    cx.run_with(
        &cmd,
        RunOptions {
            check: false,
            ..Default::default()
        },
    )
    .await
}

/// Runs `argv` as a clean-up: also while the deployment is being cancelled or stopped
/// (a cancel must not leave credentials on the server); its failure is only logged.
pub async fn cleanup(cx: &StageContext<'_>, argv: &[String]) {
    let opts = RunOptions {
        check: false,
        survive_stop: true,
        ..Default::default()
    };
    if let Err(e) = cx.run_with(&command(argv).raw("2>&1"), opts).await {
        tracing::warn!(deployment_id = %cx.deployment().id, error = %e, "clean-up command failed");
    }
}

/// A container's state: `None` when it does not exist, else `running`, `exited`, ….
pub async fn container_state(
    cx: &StageContext<'_>,
    name: &str,
) -> Result<Option<String>, StageError> {
    let out = probe(cx, &docker_args::container_status(name)).await?;
    let text = out.stdout_text();
    if out.status.success() {
        Ok(Some(text))
    } else if docker_args::is_not_found(&text) {
        Ok(None)
    } else {
        Err(failed(
            &format!("Cannot inspect container {name}"),
            &out,
            json!({"container": name}),
        ))
    }
}

/// The `paasportal.spec` label of an existing container.
async fn spec_label(cx: &StageContext<'_>, name: &str) -> Result<String, StageError> {
    let argv: Argv = [
        "docker",
        "inspect",
        "--type",
        "container",
        "--format",
        &format!("{{{{index .Config.Labels \"{SPEC_LABEL}\"}}}}"),
        name,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    Ok(run(cx, &argv).await?.stdout_text())
}

/// Hash of a `docker run` vector, for the [`SPEC_LABEL`].
pub fn spec_hash(argv: &[String]) -> String {
    let mut h = Sha256::new();
    for a in argv {
        h.update(a.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    d.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// `run_argv` (a `docker run --detach --name NAME …`) with the spec label inserted.
fn labelled(run_argv: &[String]) -> Argv {
    let mut a = run_argv.to_vec();
    let at = 2.min(a.len());
    a.insert(at, format!("{SPEC_LABEL}={}", spec_hash(run_argv)));
    a.insert(at, "--label".into());
    a
}

/// How [`ensure_container`] found the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    /// It ran already with the same arguments.
    Kept,
    /// It existed with the same arguments but was stopped, and was started.
    Started,
    /// It did not exist, or had other arguments and was replaced.
    Created,
}

/// Makes container `name` run with exactly `run_argv`: keeps it when it already does,
/// starts it when it is stopped, replaces it (volumes stay) when its arguments changed.
pub async fn ensure_container(
    cx: &StageContext<'_>,
    name: &str,
    run_argv: &[String],
) -> Result<Ensured, StageError> {
    let want = spec_hash(run_argv);
    if let Some(state) = container_state(cx, name).await? {
        if spec_label(cx, name).await? == want {
            if state == "running" {
                return Ok(Ensured::Kept);
            }
            run(cx, &docker_args::container_start(name)).await?;
            return Ok(Ensured::Started);
        }
        run(cx, &docker_args::container_remove(name)).await?;
    }
    run(cx, &labelled(run_argv)).await?;
    Ok(Ensured::Created)
}

/// A failed command as a stage error: `message`, the exit status, the output's last lines.
pub fn failed(message: &str, out: &CommandOutput, mut details: serde_json::Value) -> StageError {
    if let Some(m) = details.as_object_mut() {
        m.insert("exit_code".into(), json!(out.status.code));
        m.insert("output_tail".into(), json!(out.tail));
    }
    StageError::new(message, ErrorCode::CommandFailed, details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_quote_every_argument() {
        let c = command(&["docker".into(), "run".into(), "Host(`a b`)".into()]);
        assert_eq!(c.display(), "docker 'run' 'Host(`a b`)'");
        let c = command(&["$(id)".into(), "x".into()]);
        assert_eq!(c.display(), "'$(id)' 'x'");
    }

    #[test]
    fn spec_label_follows_the_arguments() {
        let a: Argv = ["docker", "run", "--detach", "--name", "x", "img"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut b = a.clone();
        b[5] = "img2".into();
        assert_ne!(spec_hash(&a), spec_hash(&b));
        assert_eq!(spec_hash(&a).len(), 24);
        let l = labelled(&a);
        assert_eq!(
            &l[..4],
            [
                "docker",
                "run",
                "--label",
                &format!("paasportal.spec={}", spec_hash(&a))
            ]
        );
        assert_eq!(&l[4..], &a[2..]);
    }
}
