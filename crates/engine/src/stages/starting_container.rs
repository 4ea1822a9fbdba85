//! `starting_container`: the spec's `docker run` for `{env_uuid}_odoo` — 70 % of the
//! environment's CPU and RAM, restart policy, json-file log rotation, the four mounts,
//! `ODOO_RC` and the Traefik labels — on the environment's network, then connected to
//! `traefik-public`. On a redeploy the previous container is stopped and removed first;
//! the data directories and the database volume stay, and the container starts from the
//! environment's dependency image when one was built on the current Odoo image.

use std::time::Instant;

use async_trait::async_trait;
use paasportal_odoo::docker_args::odoo::{OdooRun, prepare_dirs_and_conf, run};
use paasportal_odoo::docker_args::{
    container_remove, container_stop, network_connect_traefik, network_inspect,
};
use paasportal_odoo::messages;
use paasportal_odoo::naming::{EnvNames, TRAEFIK_NETWORK};
use serde_json::json;

use super::docker;
use super::installing_dependencies::deps_image_file;
use super::plan::{StartedContainer, plan};
use crate::context::StageContext;
use crate::stage::{StageError, StageHandler, StageOutcome};

/// Starts the Odoo container.
#[derive(Debug, Clone, Copy, Default)]
pub struct StartingContainer;

#[async_trait]
impl StageHandler for StartingContainer {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        let p = plan(cx).await?;
        let name = p.names.odoo_container();
        let image = match deps_image(cx, &p.names, &p.version.image).await? {
            Some(deps) => {
                cx.info(&format!(
                    "Starting from {deps}: {} with the environment's dependencies installed",
                    p.version.image
                ))
                .await;
                deps
            }
            None => p.version.image.clone(),
        };
        cx.info(&messages::starting_container(&name)).await;
        cx.info(&messages::resource_limits(
            p.resources.odoo_cpus,
            p.resources.odoo_ram_mb,
        ))
        .await;
        let mut replaced = false;
        if docker::container_state(cx, &name).await?.is_some() {
            let grace = cx.config().deploy.stop_grace_secs;
            docker::run(cx, &container_stop(&name, grace)).await?;
            docker::run(cx, &container_remove(&name)).await?;
            cx.info(&format!(
                "Stopped and removed the previous container {name}"
            ))
            .await;
            replaced = true;
        }
        for argv in prepare_dirs_and_conf(&p.names, &image) {
            docker::run(cx, &argv).await?;
        }
        let begin = Instant::now();
        let argv = run(&OdooRun {
            names: &p.names,
            image: &image,
            hostname: &p.hostname,
            resources: p.resources,
        });
        let id = docker::run(cx, &argv).await?.stdout_text();
        cx.info(&messages::container_started(
            &id,
            begin.elapsed().as_secs_f64(),
        ))
        .await;
        cx.info(&messages::on_internal_network(&p.names.network()))
            .await;
        cx.vars().insert(StartedContainer {
            id: id.clone(),
            name: name.clone(),
            image: image.clone(),
        });
        ensure_traefik_network(cx).await?;
        docker::run(cx, &network_connect_traefik(&name)).await?;
        Ok(
            StageOutcome::completed(messages::CONNECTED_TO_TRAEFIK).with_data(json!({
                "container_id": id,
                "container_name": name,
                "image": image,
                "replaced_previous": replaced,
                "cpus": p.resources.odoo_cpus,
                "memory_mb": p.resources.odoo_ram_mb,
            })),
        )
    }
}

/// The environment's dependency image (named in `{env_dir}/deps-image` by
/// `installing_dependencies`), when it is on the server and built on the current
/// `base` image (its layers start with the base's); otherwise the base image is run.
async fn deps_image(
    cx: &StageContext<'_>,
    names: &EnvNames,
    base: &str,
) -> Result<Option<String>, StageError> {
    let read = ["cat".to_owned(), deps_image_file(names)];
    let out = docker::probe(cx, &read).await?;
    let wanted = out.stdout_text();
    let prefix = format!("paasportal/deps-{}:", names.env_uuid());
    if !out.status.success() || !wanted.starts_with(&prefix) || wanted.contains(char::is_whitespace)
    {
        return Ok(None);
    }
    let layers = |image: &str| -> Vec<String> {
        [
            "docker",
            "image",
            "inspect",
            "--format",
            "{{json .RootFS.Layers}}",
            image,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let deps = docker::probe(cx, &layers(&wanted)).await?;
    let base_layers = docker::probe(cx, &layers(base)).await?;
    if !deps.status.success() || !base_layers.status.success() {
        return Ok(None);
    }
    let parse = |o: &crate::context::CommandOutput| -> Vec<String> {
        serde_json::from_str(&o.stdout_text()).unwrap_or_default()
    };
    let (d, b) = (parse(&deps), parse(&base_layers));
    Ok((!b.is_empty() && d.starts_with(&b)).then_some(wanted))
}

/// Creates `traefik-public` when the server has no such network yet (Traefik not
/// installed, or installed later): the container can then be routed once it is.
async fn ensure_traefik_network(cx: &StageContext<'_>) -> Result<(), StageError> {
    if docker::probe(cx, &network_inspect(TRAEFIK_NETWORK))
        .await?
        .status
        .success()
    {
        return Ok(());
    }
    let create: Vec<String> = [
        "docker",
        "network",
        "create",
        "--driver",
        "bridge",
        TRAEFIK_NETWORK,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = docker::probe(cx, &create).await?;
    if !out.status.success() && !paasportal_odoo::docker_args::is_already_exists(&out.stdout_text())
    {
        return Err(docker::failed(
            &format!("Failed to create network {TRAEFIK_NETWORK}"),
            &out,
            json!({"network": TRAEFIK_NETWORK}),
        ));
    }
    cx.warn(
        &format!("Network {TRAEFIK_NETWORK} did not exist on the server and was created: is Traefik running?"),
        json!({"network": TRAEFIK_NETWORK}),
    )
    .await;
    Ok(())
}
