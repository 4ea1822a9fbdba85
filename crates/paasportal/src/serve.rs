//! `paasportal serve`: wires the store, the log writer and the HTTP server together.

use std::sync::Arc;
use std::time::Duration;

use paasportal_bus::{Bus, HubConfig};
use paasportal_core::SecretBox;
use paasportal_server::auth::AuthKeys;
use paasportal_server::{AppState, ServerConfig};
use paasportal_store::{ConnectOptions, LogWriter, WriterConfig};

use crate::config::ServeArgs;
use crate::{first_admin, keys, retention, startup, worker};

/// Runs the server until SIGINT or SIGTERM, then drains connections and flushes the log writer.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let common = &args.common;
    startup::ensure_data_dir(&common.data_dir)?;
    let master_key = keys::load_or_generate(
        &common.data_dir,
        "master.key",
        common.master_key.as_deref(),
        "PAASPORTAL_MASTER_KEY",
    )?;
    let secrets = SecretBox::new(&master_key)?;
    let jwt_key = keys::load_or_generate_at_least_32(
        &common.data_dir,
        "jwt.key",
        args.auth.jwt_secret.as_deref(),
        "PAASPORTAL_JWT_SECRET",
    )?;
    let auth = AuthKeys::new(
        &jwt_key,
        Duration::from_secs(args.auth.access_token_ttl_secs),
        Duration::from_secs(args.auth.refresh_token_ttl_secs),
    )?;
    let opts = ConnectOptions {
        max_connections: args.db_max_connections,
        ..Default::default()
    };
    let retention_days = args.retention_days()?;
    let store = startup::open_store(&common.database_url(), &opts).await?;
    let listener = startup::bind(args.listen).await?;
    first_admin::ensure(&store, &args.admin_email, args.admin_password.as_deref()).await?;

    let bus = Arc::new(Bus::start(
        store.clone(),
        common.redis_url.as_deref(),
        HubConfig {
            mailbox_frames: args.sse_buffer_frames,
            ..HubConfig::default()
        },
    )?);
    tracing::info!(
        redis = common.redis_url.is_some(),
        "event bus started{}",
        if common.redis_url.is_some() {
            " with Redis fan-out"
        } else {
            " in process (other processes reach it through the store)"
        }
    );
    let (writer, writer_task) =
        LogWriter::start(store.clone(), bus.sink(), WriterConfig::default());
    let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
    let worker_task = if args.runs_worker() {
        let ready =
            worker::prepare(store.clone(), writer.clone(), secrets.clone(), &args.engine).await?;
        tracing::info!(
            worker_id = ready.id(),
            "deployment worker running in this process"
        );
        let mut stopped = worker_stopped;
        Some(tokio::spawn(worker::run_ready(ready, async move {
            let _ = stopped.wait_for(|s| *s).await;
        })))
    } else {
        tracing::info!("no deployment worker in this process (PAASPORTAL_WORKER=false)");
        None
    };
    let (stop_retention, retention_stopped) = tokio::sync::watch::channel(false);
    let retention_task = tokio::spawn(retention::run(
        store.clone(),
        retention_days,
        args.log_retention_at,
        retention_stopped,
    ));
    let state = AppState::new(
        store.clone(),
        writer,
        ServerConfig {
            body_limit_bytes: args.body_limit_bytes,
            sse_keepalive: Duration::from_secs(args.sse_keepalive_secs),
            apps_domain: args.apps_domain.clone(),
            trusted_proxies: args.trusted_proxies.clone(),
        },
        auth,
        secrets,
    )
    .with_bus(bus);
    let addr = listener.local_addr()?;
    tracing::info!(listen = %addr, backend = ?store.backend(), "paasportal serving");
    eprintln!("paasportal listening on http://{addr}");
    paasportal_server::serve(listener, state, shutdown_signal()).await?;
    let _ = stop_retention.send(true);
    let _ = retention_task.await;
    if let Some(task) = worker_task {
        tracing::info!("shutting down: stopping the deployment worker");
        let _ = stop_worker.send(true);
        task.await??;
    }
    tracing::info!("shutting down: flushing the log writer");
    writer_task.shutdown().await;
    store.close().await;
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
