//! Wall time per infrastructure stage for a fresh deploy and a redeploy on the testbed,
//! and the engine's own overhead (wall time minus time inside remote commands and the
//! stages' deliberate waits), which must stay under one second per deployment. Prints one `DEPLOY_TIMINGS {json}` line
//! per deployment for `docs/BENCHMARKS.md` (run with `--no-capture`).

mod common;

use std::time::Duration;

use common::harness::{Harness, TestAuth, messages};
use common::testbed::{
    BaseDirGuard, EnvGuard, ODOO_18, deploy_config, odoo_version, require_testbed,
};
use paasportal_core::{DeploymentStatus, Trigger};
use paasportal_engine::{Pipeline, RunReport, Worker};
use paasportal_testkit::TestBackend;
use serde_json::{Map, json};
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread")]
async fn fresh_deploy_and_redeploy_stage_timings() {
    require_testbed();
    let h = Harness::new(TestBackend::Postgres).await;
    odoo_version(&h, ODOO_18).await;
    let s = h.seed("timings", TestAuth::Key).await;
    let _guard = EnvGuard {
        env_uuid: s.environment.id.to_string(),
    };
    let base = BaseDirGuard::new();
    let mut config = deploy_config(&base);
    // As in production: the spec's 10 s wait before the health request would only add
    // a constant; the testbed's stand-in starts in well under a second.
    config.deploy.health_wait = Duration::from_millis(500);
    // Readiness polled at the production default, once a second (30 tries).
    config.deploy.ready_interval = Duration::from_secs(1);
    let (tx, mut rx) = mpsc::unbounded_channel::<RunReport>();
    let worker = Worker::new(h.engine(Pipeline::infrastructure(), config)).with_reports(tx);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(worker.run(async {
        let _ = stop_rx.await;
    }));
    let second =
        h.t.store
            .create_deployment(s.environment.id, Trigger::Manual, Some(s.user.id))
            .await;
    // The second deployment cannot be queued while the first is active: queue it after.
    assert!(second.is_err());
    let mut ids = vec![s.deployment.id];
    for kind in ["fresh", "redeploy"] {
        let report = tokio::time::timeout(Duration::from_secs(180), rx.recv())
            .await
            .expect("a deployment report in time")
            .expect("the worker reports");
        let id = *ids.last().unwrap();
        assert_eq!(report.deployment_id, id);
        let dep = h.t.store.get_deployment(id).await.unwrap();
        assert_eq!(
            dep.status,
            DeploymentStatus::Success,
            "{:#?}",
            messages(&h.logs(id).await)
        );
        let steps = h.t.store.list_steps(id).await.unwrap();
        let stages: Map<String, serde_json::Value> = steps
            .iter()
            .filter_map(|st| {
                st.duration_seconds
                    .map(|d| (st.step.clone(), json!((d * 1000.0).round() / 1000.0)))
            })
            .collect();
        let wall = report.wall.as_secs_f64();
        let remote = report.remote.as_secs_f64();
        let waited = report.waited.as_secs_f64();
        let overhead = wall - remote - waited;
        eprintln!(
            "DEPLOY_TIMINGS {}",
            json!({
                "kind": kind,
                "wall_seconds": wall,
                "remote_seconds": remote,
                "remote_commands": report.commands,
                "waited_seconds": waited,
                "engine_overhead_seconds": overhead,
                "stages": stages,
            })
        );
        assert!(
            overhead < 1.0,
            "engine overhead {overhead:.3}s (wall {wall:.3}s, remote {remote:.3}s, waits {waited:.3}s)"
        );
        if kind == "fresh" {
            let next =
                h.t.store
                    .create_deployment(s.environment.id, Trigger::Manual, Some(s.user.id))
                    .await
                    .unwrap();
            ids.push(next.id);
        }
    }
    let _ = stop_tx.send(());
    handle.await.unwrap().unwrap();
    h.close().await;
}
