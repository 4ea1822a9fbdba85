//! Wall time per infrastructure stage for a fresh deploy and a redeploy on the testbed,
//! and the engine's own overhead (wall time minus time inside remote commands and the
//! stages' deliberate waits), which must stay under one second per deployment. Prints one `DEPLOY_TIMINGS {json}` line
//! per deployment for `docs/BENCHMARKS.md` (run with `--no-capture`).
//!
//! Then the standard pipeline, all 17 stages: environments with repositories of every
//! scope and a DNS provider deployed fresh, then redeployed with nothing changed; one
//! `STANDARD_TIMINGS {json}` line per run and a `STANDARD_SUMMARY {json}` line with the
//! medians and the redeploy's share of the fresh deploy's wall time.

mod common;

use std::time::Duration;

use common::harness::{Harness, TestAuth, messages};
use common::odoo_world::world;
use common::standard::{equip_organization, platform_repos, settings};
use common::testbed::{
    BaseDirGuard, EnvGuard, ODOO_18, deploy_config, odoo_version, require_testbed,
};
use paasportal_core::{DeploymentStatus, Trigger};
use paasportal_engine::{Pipeline, RunReport, Worker};
use paasportal_testkit::{TestBackend, require_env};
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

/// Runs deployment `id` alone on a worker; its report and its stages' durations.
async fn run_alone(
    h: &Harness,
    config: &paasportal_engine::EngineConfig,
    id: uuid::Uuid,
) -> (RunReport, Map<String, serde_json::Value>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<RunReport>();
    let engine = h.engine(Pipeline::standard(), config.clone());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(Worker::new(engine).with_reports(tx).run(async {
        let _ = stop_rx.await;
    }));
    let report = loop {
        let r = tokio::time::timeout(Duration::from_secs(300), rx.recv())
            .await
            .expect("a deployment report in time")
            .expect("the worker reports");
        if r.deployment_id == id {
            break r;
        }
    };
    let _ = stop_tx.send(());
    handle.await.unwrap().unwrap();
    let dep = h.t.store.get_deployment(id).await.unwrap();
    assert_eq!(
        dep.status,
        DeploymentStatus::Success,
        "{:#?}",
        messages(&h.logs(id).await)
    );
    let stages =
        h.t.store
            .list_steps(id)
            .await
            .unwrap()
            .iter()
            .filter_map(|st| {
                st.duration_seconds
                    .map(|d| (st.step.clone(), json!((d * 1000.0).round() / 1000.0)))
            })
            .collect();
    (report, stages)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn standard_pipeline_redeploy_against_fresh_deploy() {
    require_testbed();
    let runs: usize = std::env::var("PAASPORTAL_TIMING_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let h = Harness::new(TestBackend::Postgres).await;
    odoo_version(&h, ODOO_18).await;
    let token = require_env("PAASPORTAL_TEST_GIT_TOKEN");
    let base = BaseDirGuard::new();
    let mut config = settings(&base);
    config.deploy.health_wait = Duration::from_millis(500);
    config.deploy.ready_interval = Duration::from_secs(1);
    let (mut fresh, mut again) = (vec![], vec![]);
    let mut guards = vec![];
    for run in 1..=runs {
        let w = world(&h, &format!("wall{run}"), "main", None).await;
        if run == 1 {
            platform_repos(&h, &w).await;
        }
        equip_organization(&h, &w, &token).await;
        guards.push(EnvGuard {
            env_uuid: w.environment.id.to_string(),
        });
        let (first, first_stages) = run_alone(&h, &config, w.deployment.id).await;
        let next = w.redeploy(&h).await;
        let (second, second_stages) = run_alone(&h, &config, next.id).await;
        let (f, r) = (first.wall.as_secs_f64(), second.wall.as_secs_f64());
        eprintln!(
            "STANDARD_TIMINGS {}",
            json!({
                "run": run,
                "fresh_wall_seconds": f,
                "redeploy_wall_seconds": r,
                "redeploy_share": r / f,
                "fresh_remote_commands": first.commands,
                "redeploy_remote_commands": second.commands,
                "fresh_stages": first_stages,
                "redeploy_stages": second_stages,
            })
        );
        fresh.push(f);
        again.push(r);
    }
    let (f, r) = (median(fresh.clone()), median(again.clone()));
    eprintln!(
        "STANDARD_SUMMARY {}",
        json!({
            "runs": runs,
            "fresh_wall_seconds": fresh,
            "redeploy_wall_seconds": again,
            "fresh_median": f,
            "redeploy_median": r,
            "redeploy_share_of_fresh": r / f,
        })
    );
    drop(guards);
    h.close().await;
}
