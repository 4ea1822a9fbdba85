//! The portal admin created on first start with an empty database.

use paasportal_core::password;
use paasportal_store::Store;
use paasportal_store::users::NewUser;
use rand::Rng;
use rand::distributions::Alphanumeric;

/// Creates the first portal admin when there are no users yet. A generated password
/// is printed once on standard error.
pub async fn ensure(
    store: &Store,
    email: &str,
    configured_password: Option<&str>,
) -> anyhow::Result<()> {
    if store.count_users().await? > 0 {
        return Ok(());
    }
    let generated = configured_password.is_none();
    let pw: String = match configured_password {
        Some(p) => p.to_owned(),
        None => rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(24)
            .map(char::from)
            .collect(),
    };
    let hash = {
        let pw = pw.clone();
        tokio::task::spawn_blocking(move || password::hash(&pw)).await?
    };
    store
        .create_user(&NewUser {
            email: email.to_owned(),
            name: "Portal Admin".into(),
            password_hash: hash,
            is_portal_admin: true,
        })
        .await?;
    if generated {
        eprintln!(
            "\n  Created portal admin {email} with password: {pw}\n  (shown once; set PAASPORTAL_ADMIN_PASSWORD to choose it)\n"
        );
    } else {
        tracing::info!(%email, "created portal admin");
    }
    Ok(())
}
