//! `configuring_traefik`: Traefik routes by the Odoo container's labels (Docker
//! provider); this stage checks with `docker inspect` that every label the spec lists
//! is on the running container and that it is attached to `traefik-public`.

use async_trait::async_trait;
use paasportal_core::diagnostics::ErrorCode;
use paasportal_odoo::docker_args::traefik::{inspect_labels, label_differences, labels};
use paasportal_odoo::messages;
use paasportal_odoo::naming::TRAEFIK_NETWORK;
use serde_json::{Value, json};

use super::docker;
use super::plan::plan;
use crate::context::StageContext;
use crate::stage::{StageError, StageHandler, StageOutcome};

/// Checks the container's routing labels and networks.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConfiguringTraefik;

#[async_trait]
impl StageHandler for ConfiguringTraefik {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        let p = plan(cx).await?;
        let name = p.names.odoo_container();
        cx.info(messages::CONFIGURING_TRAEFIK).await;
        let expected = labels(&p.names, &p.hostname);
        let shown = docker::run(cx, &inspect_labels(&name)).await?.stdout_text();
        let differences = label_differences(&expected, &shown).map_err(|e| {
            StageError::new(
                format!("Cannot read the labels of {name}: {e}"),
                ErrorCode::CommandFailed,
                json!({"container": name, "output": shown}),
            )
        })?;
        if !differences.is_empty() {
            let diff: Value = differences
                .iter()
                .map(|(k, (want, got))| (k.clone(), json!({"expected": want, "actual": got})))
                .collect::<serde_json::Map<_, _>>()
                .into();
            return Err(StageError::new(
                format!(
                    "Traefik labels missing or wrong on {name}: {}",
                    differences.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                ErrorCode::ConfigInvalid,
                json!({"container": name, "labels": diff}),
            ));
        }
        let networks = networks(cx, &name).await?;
        if !networks.iter().any(|n| n == TRAEFIK_NETWORK) {
            return Err(StageError::new(
                format!("Container {name} is not attached to the {TRAEFIK_NETWORK} network"),
                ErrorCode::ConfigInvalid,
                json!({"container": name, "networks": networks}),
            ));
        }
        Ok(
            StageOutcome::completed("Traefik configured").with_data(json!({
                "router": p.names.router(),
                "rule": format!("Host(`{}`)", p.hostname),
                "labels_checked": expected.len(),
                "networks": networks,
            })),
        )
    }
}

/// The networks `container` is attached to.
async fn networks(cx: &StageContext<'_>, container: &str) -> Result<Vec<String>, StageError> {
    let argv: Vec<String> = [
        "docker",
        "inspect",
        "--type",
        "container",
        "--format",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}\n{{end}}",
        container,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = docker::run(cx, &argv).await?.stdout_text();
    Ok(out
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}
