//! The deployment queue and stage states, run unchanged against SQLite and PostgreSQL.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use paasportal_core::stage::CATALOGUE;
use paasportal_core::{DeploymentStatus, EnvironmentStatus, StepStatus, TransportKind, Trigger};
use paasportal_store::history::CancelOutcome;
use paasportal_store::steps::StepChange;
use paasportal_testkit::TestStore;
use paasportal_testkit::fixtures::seed;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let t = paasportal_testkit::TestStore::new(paasportal_testkit::TestBackend::Sqlite).await;
                super::$name(&t).await
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let t = paasportal_testkit::TestStore::new(paasportal_testkit::TestBackend::Postgres).await;
                super::$name(&t).await
            })*
        }
    };
}

both_backends!(
    claims_oldest_first_once_each,
    concurrent_claimers_never_share_a_deployment,
    cancel_dequeues_pending_and_flags_running,
    only_the_holder_finishes,
    expired_leases_are_failed_once_and_live_ones_kept,
    steps_move_through_their_states,
    environment_transitions_are_conditional,
    servers_default_to_ssh,
);

const LEASE: Duration = Duration::from_secs(30);

async fn claims_oldest_first_once_each(t: &TestStore) {
    let a = seed(&t.store, "a").await;
    let b = seed(&t.store, "b").await;
    let first = t
        .store
        .claim_next_deployment("w1", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.id, a.deployment.id);
    assert_eq!(first.status, DeploymentStatus::Running);
    assert!(first.started_at.is_some());
    let second = t
        .store
        .claim_next_deployment("w2", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.id, b.deployment.id);
    assert!(
        t.store
            .claim_next_deployment("w1", LEASE)
            .await
            .unwrap()
            .is_none()
    );
    let leases = t
        .store
        .renew_leases("w1", &[a.deployment.id, b.deployment.id], LEASE)
        .await
        .unwrap();
    assert_eq!(leases.len(), 1, "b is w2's");
    assert_eq!(leases[0].deployment_id, a.deployment.id);
    assert_eq!(leases[0].cancel_requested_at, None);
}

async fn concurrent_claimers_never_share_a_deployment(t: &TestStore) {
    let mut ids = HashSet::new();
    for i in 0..12 {
        ids.insert(seed(&t.store, &format!("c{i}")).await.deployment.id);
    }
    let mut tasks = Vec::new();
    for w in 0..6 {
        let store = t.store.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(d) = store
                .claim_next_deployment(&format!("w{w}"), LEASE)
                .await
                .unwrap()
            {
                got.push(d.id);
            }
            got
        }));
    }
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.unwrap());
    }
    assert_eq!(claimed.len(), 12, "every deployment claimed exactly once");
    assert_eq!(claimed.iter().copied().collect::<HashSet<_>>(), ids);
}

async fn cancel_dequeues_pending_and_flags_running(t: &TestStore) {
    let a = seed(&t.store, "a").await;
    let b = seed(&t.store, "b").await;
    match t
        .store
        .cancel_deployment(a.deployment.id, a.user.id)
        .await
        .unwrap()
    {
        CancelOutcome::Cancelled(d) => {
            assert_eq!(d.status, DeploymentStatus::Cancelled);
            assert!(d.completed_at.is_some());
        }
        other => panic!("expected Cancelled, got {other:?}"),
    }
    let claimed = t
        .store
        .claim_next_deployment("w", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        claimed.id, b.deployment.id,
        "a cancelled deployment is never claimed"
    );
    assert!(matches!(
        t.store
            .cancel_deployment(b.deployment.id, b.user.id)
            .await
            .unwrap(),
        CancelOutcome::Requested(_)
    ));
    let leases = t
        .store
        .renew_leases("w", &[b.deployment.id], LEASE)
        .await
        .unwrap();
    assert!(leases[0].cancel_requested_at.is_some());
    assert_eq!(leases[0].cancelled_by, Some(b.user.id));
    t.store
        .finish_claimed(b.deployment.id, "w", DeploymentStatus::Cancelled, None, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        t.store
            .cancel_deployment(b.deployment.id, b.user.id)
            .await
            .unwrap(),
        CancelOutcome::AlreadyFinished(DeploymentStatus::Cancelled)
    );
    assert!(
        t.store
            .cancel_deployment(uuid::Uuid::new_v4(), b.user.id)
            .await
            .is_err()
    );
}

async fn only_the_holder_finishes(t: &TestStore) {
    let a = seed(&t.store, "a").await;
    t.store
        .claim_next_deployment("w1", LEASE)
        .await
        .unwrap()
        .unwrap();
    let none = t
        .store
        .finish_claimed(a.deployment.id, "w2", DeploymentStatus::Success, None, 100)
        .await
        .unwrap();
    assert!(
        none.is_none(),
        "another worker cannot finish w1's deployment"
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    let done = t
        .store
        .finish_claimed(
            a.deployment.id,
            "w1",
            DeploymentStatus::Failed,
            Some("boom"),
            31,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, DeploymentStatus::Failed);
    assert_eq!(done.error_message.as_deref(), Some("boom"));
    assert!(done.duration_seconds.unwrap() >= 0.02);
    assert_eq!(
        t.store.deployment_progress(a.deployment.id).await.unwrap(),
        31
    );
    assert!(
        t.store
            .renew_leases("w1", &[a.deployment.id], LEASE)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn expired_leases_are_failed_once_and_live_ones_kept(t: &TestStore) {
    let dead = seed(&t.store, "dead").await;
    let live = seed(&t.store, "live").await;
    t.store
        .claim_next_deployment("dead-worker", Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    t.store
        .claim_next_deployment("live-worker", LEASE)
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let now = Utc::now();
    assert_eq!(
        t.store.expired_leases(now).await.unwrap(),
        vec![dead.deployment.id]
    );
    assert_eq!(
        t.store.running_deployments().await.unwrap().len(),
        2,
        "both are running"
    );
    assert!(
        t.store
            .fail_lost_deployment(live.deployment.id, "lost", Some(now))
            .await
            .unwrap()
            .is_none(),
        "a live lease is kept"
    );
    let failed = t
        .store
        .fail_lost_deployment(dead.deployment.id, "Worker lost", Some(now))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.status, DeploymentStatus::Failed);
    assert_eq!(failed.error_message.as_deref(), Some("Worker lost"));
    assert!(failed.duration_seconds.is_some());
    assert!(
        t.store
            .fail_lost_deployment(dead.deployment.id, "again", None)
            .await
            .unwrap()
            .is_none(),
        "a deployment is failed once"
    );
    assert!(
        t.store
            .finish_claimed(
                dead.deployment.id,
                "dead-worker",
                DeploymentStatus::Success,
                None,
                100
            )
            .await
            .unwrap()
            .is_none(),
        "the dead worker cannot overwrite the verdict"
    );
    assert!(
        t.store
            .renew_leases("dead-worker", &[dead.deployment.id], LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        t.store
            .renew_leases("live-worker", &[], LEASE)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn steps_move_through_their_states(t: &TestStore) {
    let s = seed(&t.store, "a").await;
    let id = s.deployment.id;
    let ids: Vec<&str> = CATALOGUE.iter().map(|i| i.id).collect();
    t.store.init_steps(id, &ids).await.unwrap();
    t.store.init_steps(id, &ids).await.unwrap();
    let steps = t.store.list_steps(id).await.unwrap();
    assert_eq!(
        steps.iter().map(|s| s.step.as_str()).collect::<Vec<_>>(),
        ids
    );
    assert!(steps.iter().all(|s| s.status == StepStatus::Pending));
    t.store
        .skip_steps(id, &["verifying_dns", "health_check"])
        .await
        .unwrap();
    let steps = t.store.list_steps(id).await.unwrap();
    assert_eq!(steps[13].status, StepStatus::Skipped);
    assert_eq!(steps[14].status, StepStatus::Pending);
    assert_eq!(steps[15].status, StepStatus::Skipped);

    let t0 = Utc::now();
    t.store.start_step(id, "initializing", t0, 0).await.unwrap();
    t.store
        .finish_step(id, "initializing", StepStatus::Completed, t0, 0.5, 6)
        .await
        .unwrap();
    t.store
        .record_steps(
            id,
            &[
                StepChange::Start {
                    step: "connecting".into(),
                    at: t0,
                    progress_percent: 6,
                },
                StepChange::Finish {
                    step: "connecting".into(),
                    status: StepStatus::Completed,
                    at: t0,
                    duration_seconds: 0.1,
                    progress_percent: 12,
                },
                StepChange::Start {
                    step: "creating_network".into(),
                    at: t0,
                    progress_percent: 12,
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(t.store.deployment_progress(id).await.unwrap(), 12);
    let changed = t
        .store
        .close_open_steps(id, StepStatus::Failed, Utc::now())
        .await
        .unwrap();
    assert_eq!(changed, 13, "creating_network failed, 12 pending skipped");
    let steps = t.store.list_steps(id).await.unwrap();
    assert_eq!(steps[0].status, StepStatus::Completed);
    assert_eq!(steps[0].duration_seconds, Some(0.5));
    assert!(steps[0].started_at.is_some() && steps[0].completed_at.is_some());
    assert_eq!(steps[1].status, StepStatus::Completed);
    assert_eq!(steps[2].status, StepStatus::Failed);
    assert!(steps[3..].iter().all(|s| s.status == StepStatus::Skipped));
}

async fn environment_transitions_are_conditional(t: &TestStore) {
    let s = seed(&t.store, "a").await;
    let env = s.environment.id;
    assert!(
        !t.store
            .transition_environment(env, EnvironmentStatus::Deploying, EnvironmentStatus::Failed)
            .await
            .unwrap()
    );
    assert!(
        t.store
            .transition_environment(
                env,
                EnvironmentStatus::Pending,
                EnvironmentStatus::Deploying
            )
            .await
            .unwrap()
    );
    assert_eq!(
        t.store.get_environment(env).await.unwrap().status,
        EnvironmentStatus::Deploying
    );
    let again = t.store.create_deployment(env, Trigger::Manual, None).await;
    assert!(
        again.is_err(),
        "still one active deployment per environment"
    );
}

async fn servers_default_to_ssh(t: &TestStore) {
    let s = seed(&t.store, "a").await;
    assert_eq!(
        t.store.server_transport(s.server.id).await.unwrap(),
        TransportKind::Ssh
    );
    t.store
        .set_server_transport(s.server.id, TransportKind::Local)
        .await
        .unwrap();
    assert_eq!(
        t.store.server_transport(s.server.id).await.unwrap(),
        TransportKind::Local
    );
}
