//! `pulling_image`: the Odoo version's image, pulled only when the server does not have
//! it or its tag is `latest`. With registry credentials the pull runs under a one-off
//! Docker configuration: `docker login --password-stdin` (the password on stdin, never
//! on a command line), the pull, then the configuration is removed. A failed pull is
//! fatal and carries the registry's own message in `data`.

use async_trait::async_trait;
use paasportal_core::diagnostics::{ErrorCode, Problem};
use paasportal_odoo::diagnostics;
use paasportal_odoo::docker_args::image::{self, ImageRef};
use paasportal_odoo::messages;
use serde_json::{Value, json};

use super::docker;
use super::plan::plan;
use crate::context::{RunOptions, StageContext};
use crate::stage::{StageError, StageHandler, StageOutcome};

/// Makes the Odoo image present on the server.
#[derive(Debug, Clone, Copy, Default)]
pub struct PullingImage;

#[async_trait]
impl StageHandler for PullingImage {
    async fn run(&self, cx: &StageContext<'_>) -> Result<StageOutcome, StageError> {
        let p = plan(cx).await?;
        let name = p.version.image.clone();
        let reference = ImageRef::parse(&name).map_err(|e| {
            StageError::new(
                format!("Odoo version {}: {e}", p.version.version),
                ErrorCode::ConfigInvalid,
                json!({"image": name, "odoo_version": p.version.version}),
            )
        })?;
        cx.info(&messages::pulling_image(&p.version.version)).await;
        let present = docker::probe(cx, &image::inspect(&name)).await?;
        let present_id = present.status.success().then(|| present.stdout_text());
        if !image::needs_pull(&reference, present_id.is_some()) {
            return Ok(StageOutcome::completed("Image ready").with_data(json!({
                "image": name, "image_id": present_id, "pulled": false,
            })));
        }
        let login = registry_login(cx, &p.version).await?;
        let pulled = match &login {
            Some((user, password)) => pull_with_login(cx, &reference, &name, user, password).await,
            None => pull(cx, &name, None).await,
        };
        let output = pulled?;
        if let Some(message) = output {
            let mut data = diagnostics::image_pull(&name, reference.registry_host(), &message);
            let code: ErrorCode = data["error_code"]
                .as_str()
                .and_then(|c| c.parse().ok())
                .unwrap_or(ErrorCode::CommandFailed);
            if let Some(m) = data.as_object_mut() {
                m.remove("error_code");
            }
            let text = diagnostics::image_pull_message(&message);
            return Err(if code == ErrorCode::AuthFailed {
                StageError::problem(text, Problem::ImagePull, code, data)
            } else {
                StageError::new(text, code, data)
            });
        }
        let id = docker::run(cx, &image::inspect(&name)).await?.stdout_text();
        Ok(StageOutcome::completed("Image ready").with_data(json!({
            "image": name, "image_id": id, "pulled": true,
        })))
    }
}

/// The version's registry user and decrypted password (registered with the redactor).
async fn registry_login(
    cx: &StageContext<'_>,
    version: &paasportal_core::OdooVersion,
) -> Result<Option<(String, String)>, StageError> {
    let Some(user) = version.registry_username.clone() else {
        return Ok(None);
    };
    if !version.has_registry_password {
        return Ok(None);
    }
    let sealed = cx
        .store()
        .get_registry_password_enc(&version.version)
        .await
        .map_err(|e| {
            StageError::new(
                format!("Cannot load the registry credentials: {e}"),
                ErrorCode::Internal,
                Value::Null,
            )
        })?;
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let password = cx.secrets().open(&sealed).map_err(|e| {
        StageError::new(
            "The registry password cannot be decrypted with this portal's master key",
            ErrorCode::CredentialsUnreadable,
            json!({"odoo_version": version.version, "error": e.to_string()}),
        )
    })?;
    cx.register_secret(&password);
    Ok(Some((user, password)))
}

/// Pulls; `Some(registry message)` when the pull failed.
async fn pull(
    cx: &StageContext<'_>,
    name: &str,
    config_dir: Option<&str>,
) -> Result<Option<String>, StageError> {
    let out = docker::probe(cx, &image::pull(name, config_dir)).await?;
    if out.status.success() {
        Ok(None)
    } else {
        Ok(Some(image::pull_error(&out.tail.join("\n"))))
    }
}

/// Logs in under a one-off configuration directory, pulls, removes the directory.
async fn pull_with_login(
    cx: &StageContext<'_>,
    reference: &ImageRef,
    name: &str,
    user: &str,
    password: &str,
) -> Result<Option<String>, StageError> {
    let dir = docker::run(cx, &image::config_dir_create())
        .await?
        .stdout_text();
    let result = async {
        let login = image::login(&dir, reference, user, password);
        let out = cx
            .run_input(
                &docker::command(&login.argv).raw("2>&1"),
                login.stdin.as_bytes(),
                RunOptions {
                    check: false,
                    ..Default::default()
                },
            )
            .await?;
        if !out.status.success() {
            return Ok(Some(image::pull_error(&out.tail.join("\n"))));
        }
        pull(cx, name, Some(&dir)).await
    }
    .await;
    // Also when the login or the pull was cancelled: the directory holds credentials.
    docker::cleanup(cx, &image::config_dir_remove(&dir)).await;
    result
}
