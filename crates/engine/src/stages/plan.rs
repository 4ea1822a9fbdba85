//! The deployment plan: what the infrastructure stages need to know about one
//! environment, computed once per deployment from the store and the engine's settings
//! and shared through the context's vars — the names the spec fixes, the resource
//! split, the image, the host name and the database secrets.
//!
//! The secrets are generated on the environment's first deployment, sealed with the
//! master key before they are stored, and registered with the deployment's redactor
//! before any command carrying them runs.

use std::sync::Arc;

use paasportal_core::diagnostics::ErrorCode;
use paasportal_core::{OdooVersion, ResourceSplit};
use paasportal_odoo::config_file::{AddonsRepo, FIRST_REPLICA_VERSION};
use paasportal_odoo::credentials::generate_password;
use paasportal_odoo::naming::EnvNames;
use paasportal_store::env_secrets::DbSecrets;
use serde_json::{Value, json};

use crate::context::StageContext;
use crate::stage::StageError;

/// The repositories the cloning stages made ready, in any order; `addons_path` is
/// built from them. Absent means none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddonsRepos(pub Vec<AddonsRepo>);

/// The Odoo container a deployment started: left by `starting_container` for the
/// stages after it and recorded on the deployment by `completed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedContainer {
    pub id: String,
    pub name: String,
    pub image: String,
}

/// Everything the infrastructure stages derive from the environment.
#[derive(Debug, Clone)]
pub struct DeployPlan {
    pub names: EnvNames,
    pub version: OdooVersion,
    pub resources: ResourceSplit,
    /// `{subdomain}.{apps_domain}`.
    pub hostname: String,
    /// The password of the `odoo` database role (registered with the redactor).
    pub db_password: String,
    /// The replication role's password, when the environment runs a read replica.
    pub replication_password: Option<String>,
}

impl DeployPlan {
    /// Whether the environment runs the streaming read replica: asked for, and Odoo 18 or later.
    pub fn replica(&self) -> bool {
        self.names.read_replica()
    }
}

fn internal(what: &str, e: impl std::fmt::Display) -> StageError {
    StageError::new(
        format!("Cannot load {what}: {e}"),
        ErrorCode::Internal,
        Value::Null,
    )
}

/// The deployment's plan, built on first use.
pub async fn plan(cx: &StageContext<'_>) -> Result<Arc<DeployPlan>, StageError> {
    if let Some(p) = cx.vars().get::<Arc<DeployPlan>>() {
        return Ok(p);
    }
    let env = cx.environment();
    let version = match cx.vars().get::<OdooVersion>() {
        Some(v) => v,
        None => cx
            .store()
            .get_odoo_version(&env.odoo_version)
            .await
            .map_err(|e| internal("the environment's Odoo version", e))?,
    };
    let replica = env.read_replica && version.major() >= FIRST_REPLICA_VERSION;
    let names = EnvNames::new(env.id, cx.config().deploy.base_dir.clone(), replica);
    let (db_password, replication_password) = secrets(cx, replica).await?;
    let p = Arc::new(DeployPlan {
        names,
        resources: env.resources(),
        hostname: env.hostname(),
        version,
        db_password,
        replication_password,
    });
    cx.vars().insert(p.clone());
    Ok(p)
}

/// Opens (generating and storing on first use) the environment's database secrets
/// and registers them with the redactor.
async fn secrets(
    cx: &StageContext<'_>,
    replica: bool,
) -> Result<(String, Option<String>), StageError> {
    let env_id = cx.environment().id;
    let store = cx.store();
    let mut stored = store
        .get_db_secrets(env_id)
        .await
        .map_err(|e| internal("the environment's secrets", e))?;
    let missing_db = stored.db_password_enc.is_none();
    let missing_repl = replica && stored.replication_password_enc.is_none();
    if missing_db || missing_repl {
        let proposed = DbSecrets {
            db_password_enc: missing_db.then(|| cx.secrets().seal(&generate_password())),
            replication_password_enc: missing_repl.then(|| cx.secrets().seal(&generate_password())),
        };
        stored = store
            .ensure_db_secrets(env_id, &proposed)
            .await
            .map_err(|e| internal("the environment's secrets", e))?;
    }
    let open = |sealed: &Option<Vec<u8>>, what: &str| -> Result<Option<String>, StageError> {
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let plain = cx.secrets().open(sealed).map_err(|e| {
            StageError::new(
                format!(
                    "The environment's {what} cannot be decrypted with this portal's master key"
                ),
                ErrorCode::CredentialsUnreadable,
                json!({"environment_id": env_id, "secret": what, "error": e.to_string()}),
            )
        })?;
        cx.register_secret(&plain);
        Ok(Some(plain))
    };
    let db = open(&stored.db_password_enc, "database password")?
        .ok_or_else(|| internal("the environment's secrets", "no database password stored"))?;
    let repl = if replica {
        open(&stored.replication_password_enc, "replication password")?
    } else {
        None
    };
    Ok((db, repl))
}
