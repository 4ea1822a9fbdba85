//! Evidence for error reports gathered from the server, such as the last lines of a
//! container's own log that the spec wants attached to a failed health check.

use paasportal_core::shell::ShellCommand;
use serde_json::{Value, json};

use crate::context::{RunOptions, StageContext, TAIL_LINES};

/// The last [`TAIL_LINES`] lines (stdout and stderr) of `container`'s log, redacted.
/// When the log cannot be read, the one line explaining why.
pub async fn container_log_tail(cx: &StageContext<'_>, container: &str) -> Vec<String> {
    let cmd = ShellCommand::new("docker logs --tail")
        .arg(TAIL_LINES.to_string())
        .arg(container)
        .raw("2>&1");
    let opts = RunOptions {
        check: false,
        log_output: false,
        ..Default::default()
    };
    match cx.run_with(&cmd, opts).await {
        Ok(out) => out.tail,
        Err(e) => vec![e.message],
    }
}

/// `data` with `container_log` (the container's last log lines) added.
pub async fn with_container_log(cx: &StageContext<'_>, container: &str, data: Value) -> Value {
    let lines = container_log_tail(cx, container).await;
    match data {
        Value::Object(mut m) => {
            m.insert("container_log".into(), json!(lines));
            Value::Object(m)
        }
        Value::Null => json!({ "container_log": lines }),
        other => json!({ "details": other, "container_log": lines }),
    }
}
