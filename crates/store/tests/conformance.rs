//! One conformance suite, run unchanged against SQLite and PostgreSQL.

use std::collections::HashSet;
use std::sync::Arc;

use paasportal_core::event::EventKind;
use paasportal_core::{
    DeploymentStatus, LogLevel, NewEvent, NewLog, OrgRole, ProjectRole, StepStatus, Trigger,
};
use paasportal_store::history_import::{ImportedDeployment, ImportedStep};
use paasportal_store::logs::{LogQuery, LogWindow};
use paasportal_store::writer::{Committed, NoSink};
use paasportal_store::{ConnectOptions, LogWriter, Store, StoreError, WriterConfig};
use paasportal_testkit::TestStore;
use paasportal_testkit::fixtures::seed;

macro_rules! conformance {
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

conformance!(
    migrations_rerun_and_refuse_newer_schema,
    entities_round_trip,
    deployment_versions_count_up_and_one_runs_at_a_time,
    writer_numbers_densely_in_order,
    logs_filter_search_and_page,
    logs_keyset_windows,
    events_share_the_sequence,
    deleting_a_deployment_deletes_its_logs,
    access_follows_memberships,
    finish_records_duration,
    bulk_batches_round_trip_every_field,
    log_lines_need_an_existing_deployment,
    imported_history_feeds_stats_trends_and_plans,
);

fn writer(store: &Store) -> (LogWriter, paasportal_store::writer::WriterTask) {
    LogWriter::start(store.clone(), Arc::new(NoSink), WriterConfig::default())
}

fn line(deployment: uuid::Uuid, i: usize, level: LogLevel) -> NewLog {
    let mut l = NewLog::now(deployment, level, format!("line {i}"));
    l.step = Some("pulling_image".into());
    l
}

async fn migrations_rerun_and_refuse_newer_schema(t: &TestStore) {
    Store::open(&t.url, &ConnectOptions::default())
        .await
        .expect("re-open applies nothing new");
    let sql = "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
               VALUES (99990101000000, 'from the future', CURRENT_TIMESTAMP, TRUE, $1, 0)";
    paasportal_store::with_db!(t.store.db(), p => sqlx::query(sql).bind(vec![0u8; 48]).execute(p).await.map(|_| ()).unwrap());
    match Store::open(&t.url, &ConnectOptions::default()).await {
        Err(StoreError::SchemaTooNew { database, binary }) => {
            assert_eq!(database, 99990101000000);
            assert!(binary < database);
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

async fn entities_round_trip(t: &TestStore) {
    let s = seed(&t.store, "a").await;
    assert_eq!(t.store.get_user(s.user.id).await.unwrap(), s.user);
    assert_eq!(t.store.get_organization(s.org.id).await.unwrap(), s.org);
    assert_eq!(t.store.get_project(s.project.id).await.unwrap(), s.project);
    assert_eq!(t.store.get_server(s.server.id).await.unwrap(), s.server);
    assert_eq!(
        t.store.get_environment(s.environment.id).await.unwrap(),
        s.environment
    );
    assert_eq!(
        t.store.get_deployment(s.deployment.id).await.unwrap(),
        s.deployment
    );
    assert_eq!(s.deployment.status, DeploymentStatus::Pending);
    assert_eq!(s.deployment.vm_id, Some(s.server.id));
    assert_eq!(s.deployment.git_branch.as_deref(), Some("main"));
    let (u, hash) = t
        .store
        .find_user_by_email("OWNER-A@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.id, s.user.id);
    assert_eq!(hash, "not-a-real-hash");
    assert!(matches!(
        t.store.get_user(uuid::Uuid::new_v4()).await,
        Err(StoreError::NotFound)
    ));
    let dup = t.store.create_organization("x").await.unwrap();
    assert!(t.store.create_project(dup.id, "p").await.is_ok());
    assert!(matches!(
        t.store.create_project(dup.id, "p").await,
        Err(StoreError::Conflict(_))
    ));
    let ctx = t.store.deployment_context(s.deployment.id).await.unwrap();
    assert_eq!(ctx.project_name, "Project a");
    assert_eq!(ctx.environment_name, "production");
    assert_eq!(ctx.organization_id, s.org.id);
    assert_eq!(ctx.triggered_by, Some(s.user.id));
}

async fn deployment_versions_count_up_and_one_runs_at_a_time(t: &TestStore) {
    let s = seed(&t.store, "v").await;
    assert_eq!(s.deployment.version, 1);
    match t
        .store
        .create_deployment(s.environment.id, Trigger::Manual, None)
        .await
    {
        Err(StoreError::ActiveDeployment(id)) => assert_eq!(id, s.deployment.id),
        other => panic!("expected ActiveDeployment, got {other:?}"),
    }
    t.store.start_deployment(s.deployment.id).await.unwrap();
    assert!(matches!(
        t.store
            .create_deployment(s.environment.id, Trigger::Manual, None)
            .await,
        Err(StoreError::ActiveDeployment(_))
    ));
    t.store
        .finish_deployment(s.deployment.id, DeploymentStatus::Success, None)
        .await
        .unwrap();
    let second = t
        .store
        .create_deployment(s.environment.id, Trigger::Api, None)
        .await
        .unwrap();
    assert_eq!(second.version, 2);
    t.store
        .finish_deployment(second.id, DeploymentStatus::Cancelled, None)
        .await
        .unwrap();
    let third = t
        .store
        .create_deployment(s.environment.id, Trigger::Api, None)
        .await
        .unwrap();
    assert_eq!(third.version, 3);
}

async fn writer_numbers_densely_in_order(t: &TestStore) {
    let s = seed(&t.store, "w").await;
    let (w, task) = writer(&t.store);
    let before = t.store.last_seq().await.unwrap();
    let mut producers = Vec::new();
    for p in 0..8 {
        let w = w.clone();
        let dep = s.deployment.id;
        producers.push(tokio::spawn(async move {
            let mut receipts = Vec::new();
            for i in 0..250 {
                let mut l = line(dep, i, LogLevel::Info);
                l.data = serde_json::json!({ "producer": p, "i": i });
                receipts.push(w.append(l).await.unwrap());
            }
            let mut seqs = Vec::new();
            for r in receipts {
                seqs.push(r.await.unwrap());
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for p in producers {
        let seqs = p.await.unwrap();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "a producer's lines keep their order"
        );
        all.extend(seqs);
    }
    task.shutdown().await;
    all.sort();
    let expected: Vec<i64> = (before + 1..=before + 2000).collect();
    assert_eq!(all, expected, "sequence numbers are dense and unique");
    assert_eq!(t.store.last_seq().await.unwrap(), before + 2000);
    assert_eq!(t.store.count_logs(s.deployment.id).await.unwrap(), 2000);
    let entries = t
        .store
        .entries_between(before, before + 2000)
        .await
        .unwrap();
    assert_eq!(entries.len(), 2000);
    let mut per_producer: Vec<i64> = vec![-1; 8];
    for e in entries {
        let Committed::Log(l) = e else {
            panic!("only log lines were written")
        };
        let p = l.log.data["producer"].as_u64().unwrap() as usize;
        let i = l.log.data["i"].as_i64().unwrap();
        assert_eq!(i, per_producer[p] + 1, "producer {p} lines arrive in order");
        per_producer[p] = i;
    }
}

async fn logs_keyset_windows(t: &TestStore) {
    let s = seed(&t.store, "k").await;
    let other = seed(&t.store, "k2").await;
    let (w, task) = writer(&t.store);
    for i in 0..40 {
        let level = if i % 10 == 9 {
            LogLevel::Error
        } else {
            LogLevel::Info
        };
        let mut l = line(s.deployment.id, i, level);
        if i >= 20 {
            l.step = Some("starting_container".into());
        }
        w.write(l).await.unwrap();
        w.write(line(other.deployment.id, i, LogLevel::Info))
            .await
            .unwrap();
    }
    task.shutdown().await;
    let page = |window, limit| LogQuery {
        window,
        limit,
        ..Default::default()
    };
    let msgs = |rows: Vec<paasportal_core::LogRecord>| {
        rows.into_iter().map(|r| r.log.message).collect::<Vec<_>>()
    };
    let dep = s.deployment.id;
    let all = t
        .store
        .list_logs(dep, &page(LogWindow::Head, 100))
        .await
        .unwrap();
    assert_eq!(all.len(), 40);
    let seq = |i: usize| all[i].seq;

    let tail = t
        .store
        .list_logs(dep, &page(LogWindow::Tail, 3))
        .await
        .unwrap();
    assert_eq!(
        msgs(tail),
        ["line 37", "line 38", "line 39"],
        "the end, in order"
    );
    let before = t
        .store
        .list_logs(dep, &page(LogWindow::Before(seq(10)), 4))
        .await
        .unwrap();
    assert_eq!(msgs(before), ["line 6", "line 7", "line 8", "line 9"]);
    let after = t
        .store
        .list_logs(dep, &page(LogWindow::After(seq(10)), 2))
        .await
        .unwrap();
    assert_eq!(msgs(after), ["line 11", "line 12"]);
    let first = t
        .store
        .list_logs(dep, &page(LogWindow::Before(seq(0)), 10))
        .await
        .unwrap();
    assert!(first.is_empty(), "nothing before the first line");
    let foreign = t
        .store
        .list_logs(other.deployment.id, &page(LogWindow::After(seq(0)), 10))
        .await
        .unwrap();
    assert!(
        foreign.is_empty(),
        "a line of another deployment is no anchor"
    );

    let errors_before = t
        .store
        .list_logs(
            dep,
            &LogQuery {
                level: Some(LogLevel::Error),
                window: LogWindow::Before(seq(39)),
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(msgs(errors_before), ["line 19", "line 29"]);
    let stage = t
        .store
        .list_logs(
            dep,
            &LogQuery {
                step: Some("starting_container".into()),
                window: LogWindow::Head,
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(stage.len(), 20);
    assert_eq!(stage[0].log.message, "line 20");
}

async fn logs_filter_search_and_page(t: &TestStore) {
    let s = seed(&t.store, "f").await;
    let (w, task) = writer(&t.store);
    for i in 0..30 {
        let level = if i % 10 == 9 {
            LogLevel::Error
        } else {
            LogLevel::Info
        };
        let mut l = line(s.deployment.id, i, level);
        if i == 17 {
            l.message = "Failed to clone repository: 100% Authentication_failed".into();
        }
        w.write(l).await.unwrap();
    }
    task.shutdown().await;
    let page = |level, text: Option<&str>, skip, limit| LogQuery {
        level,
        text: text.map(str::to_owned),
        skip,
        limit,
        ..Default::default()
    };
    let all = t
        .store
        .list_logs(s.deployment.id, &page(None, None, 0, 500))
        .await
        .unwrap();
    assert_eq!(all.len(), 30);
    assert!(
        all.windows(2)
            .all(|w| w[0].seq < w[1].seq && w[0].log.timestamp <= w[1].log.timestamp)
    );
    let errors = t
        .store
        .list_logs(s.deployment.id, &page(Some(LogLevel::Error), None, 0, 500))
        .await
        .unwrap();
    assert_eq!(
        errors
            .iter()
            .map(|l| l.log.message.as_str())
            .collect::<Vec<_>>(),
        ["line 9", "line 19", "line 29"]
    );
    let second = t
        .store
        .list_logs(s.deployment.id, &page(None, None, 10, 5))
        .await
        .unwrap();
    assert_eq!(
        second
            .iter()
            .map(|l| l.log.message.clone())
            .collect::<Vec<_>>(),
        ["line 10", "line 11", "line 12", "line 13", "line 14"]
    );
    let hits = t
        .store
        .list_logs(s.deployment.id, &page(None, Some("AUTHENTICATION"), 0, 500))
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    let literal = t
        .store
        .list_logs(s.deployment.id, &page(None, Some("100%"), 0, 500))
        .await
        .unwrap();
    assert_eq!(literal.len(), 1, "% is matched literally");
    let underscore = t
        .store
        .list_logs(s.deployment.id, &page(None, Some("n_1"), 0, 500))
        .await
        .unwrap();
    assert!(underscore.is_empty(), "_ is matched literally");
    let tail = t
        .store
        .logs_after(s.deployment.id, all[27].seq, 100)
        .await
        .unwrap();
    assert_eq!(tail.len(), 2);
    assert_eq!(all[0].log.step.as_deref(), Some("pulling_image"));
    assert_eq!(all[0].log.data, serde_json::Value::Null);
}

async fn events_share_the_sequence(t: &TestStore) {
    let s = seed(&t.store, "e").await;
    let (w, task) = writer(&t.store);
    let before = t.store.last_seq().await.unwrap();
    let a = w
        .write(line(s.deployment.id, 0, LogLevel::Info))
        .await
        .unwrap();
    let b = w
        .write_event(NewEvent {
            kind: EventKind::EnvironmentStatus,
            organization_id: Some(s.org.id),
            project_id: Some(s.project.id),
            deployment_id: Some(s.deployment.id),
            user_id: None,
            data: serde_json::json!({ "environment_id": s.environment.id, "status": "deploying" }),
            created_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    let c = w
        .write(line(s.deployment.id, 1, LogLevel::Info))
        .await
        .unwrap();
    task.shutdown().await;
    assert_eq!((a, b, c), (before + 1, before + 2, before + 3));
    let entries = t.store.entries_between(before, c).await.unwrap();
    let kinds: Vec<_> = entries
        .iter()
        .map(|e| match e {
            Committed::Log(_) => "log",
            Committed::Event(_) => "event",
        })
        .collect();
    assert_eq!(kinds, ["log", "event", "log"]);
    let Committed::Event(ev) = &entries[1] else {
        unreachable!()
    };
    assert_eq!(ev.kind, EventKind::EnvironmentStatus);
    assert_eq!(ev.data["status"], "deploying");
    assert!(t.store.entries_between(c, c + 10).await.unwrap().is_empty());
}

async fn deleting_a_deployment_deletes_its_logs(t: &TestStore) {
    let s = seed(&t.store, "d").await;
    let (w, task) = writer(&t.store);
    for i in 0..5 {
        w.write(line(s.deployment.id, i, LogLevel::Debug))
            .await
            .unwrap();
    }
    task.shutdown().await;
    let sql = "DELETE FROM deployments WHERE id = $1";
    paasportal_store::with_db!(t.store.db(), p => sqlx::query(sql).bind(s.deployment.id).execute(p).await.map(|_| ()).unwrap());
    assert_eq!(t.store.count_logs(s.deployment.id).await.unwrap(), 0);
}

async fn access_follows_memberships(t: &TestStore) {
    let s = seed(&t.store, "m").await;
    let a = t.store.load_access(s.user.id).await.unwrap();
    assert!(!a.portal_admin && a.org_roles.is_empty() && a.project_roles.is_empty());
    t.store
        .upsert_org_member(s.org.id, s.user.id, OrgRole::Member)
        .await
        .unwrap();
    t.store
        .upsert_project_member(s.project.id, s.user.id, ProjectRole::Viewer)
        .await
        .unwrap();
    t.store
        .upsert_project_member(s.project.id, s.user.id, ProjectRole::Admin)
        .await
        .unwrap();
    let a = t.store.load_access(s.user.id).await.unwrap();
    assert_eq!(a.org_roles.get(&s.org.id), Some(&OrgRole::Member));
    assert_eq!(
        a.project_roles.get(&s.project.id),
        Some(&ProjectRole::Admin)
    );
    t.store
        .remove_project_member(s.project.id, s.user.id)
        .await
        .unwrap();
    assert!(matches!(
        t.store.remove_project_member(s.project.id, s.user.id).await,
        Err(StoreError::NotFound)
    ));
    let a = t.store.load_access(s.user.id).await.unwrap();
    assert!(a.project_roles.is_empty());
    let projects: HashSet<_> = a.project_roles.keys().collect();
    assert!(projects.is_empty());
}

async fn finish_records_duration(t: &TestStore) {
    let s = seed(&t.store, "t").await;
    t.store.start_deployment(s.deployment.id).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let d = t
        .store
        .finish_deployment(s.deployment.id, DeploymentStatus::Failed, Some("boom"))
        .await
        .unwrap();
    assert_eq!(d.status, DeploymentStatus::Failed);
    assert_eq!(d.error_message.as_deref(), Some("boom"));
    assert!(d.duration_seconds.unwrap() >= 0.05);
    assert!(d.completed_at.unwrap() >= d.started_at.unwrap());
}

async fn bulk_batches_round_trip_every_field(t: &TestStore) {
    let s = seed(&t.store, "bulk").await;
    let (w, task) = writer(&t.store);
    let mut sent = Vec::new();
    let mut receipts = Vec::new();
    for i in 0..5000 {
        let mut l = line(s.deployment.id, i, LogLevel::ALL[i % 4]);
        l.step = (i % 3 != 0).then(|| "cloning_repo".to_owned());
        l.message =
            format!("tab\there, newline\nthere, quote ' \" and backslash \\ and unicode ✓ {i}");
        l.data = if i % 2 == 0 {
            serde_json::json!({ "i": i, "nested": { "ok": true } })
        } else {
            serde_json::Value::Null
        };
        l.status = DeploymentStatus::ALL[i % 5];
        l.progress_percent = (i % 101) as u8;
        receipts.push(w.append(l.clone()).await.unwrap());
        sent.push(l);
    }
    for r in receipts {
        r.await.unwrap();
    }
    assert!(
        w.stats().batches.load(std::sync::atomic::Ordering::Relaxed) < 5000,
        "lines were batched"
    );
    task.shutdown().await;
    let stored = t
        .store
        .logs_after(s.deployment.id, 0, 10_000)
        .await
        .unwrap();
    assert_eq!(stored.len(), sent.len());
    for (got, want) in stored.iter().zip(&sent) {
        let mut want = want.clone();
        want.timestamp = got.log.timestamp;
        assert_eq!(got.log, want);
    }
    for (got, want) in stored.iter().zip(&sent) {
        let drift = (got.log.timestamp - want.timestamp)
            .num_microseconds()
            .unwrap()
            .abs();
        assert!(drift <= 1, "timestamps keep microsecond precision");
    }
}

async fn log_lines_need_an_existing_deployment(t: &TestStore) {
    let (w, task) = writer(&t.store);
    let err = w
        .write(line(uuid::Uuid::new_v4(), 0, LogLevel::Info))
        .await
        .unwrap_err();
    assert!(
        matches!(err, paasportal_store::WriteError::Refused(_)),
        "{err:?}"
    );
    let s = seed(&t.store, "fk").await;
    w.write(line(s.deployment.id, 0, LogLevel::Info))
        .await
        .expect("the writer carries on");
    task.shutdown().await;
}

async fn imported_history_feeds_stats_trends_and_plans(t: &TestStore) {
    let s = seed(&t.store, "h").await;
    // Whole seconds: PostgreSQL keeps microseconds, chrono has nanoseconds.
    let base =
        chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() - 3 * 86_400, 0).unwrap();
    let imported: Vec<ImportedDeployment> = (0..3)
        .map(|i| {
            let started = base + chrono::Duration::hours(i);
            ImportedDeployment {
                id: uuid::Uuid::now_v7(),
                project_id: s.project.id,
                environment_id: s.environment.id,
                server_id: Some(s.server.id),
                version: 10 + i,
                status: if i == 2 {
                    DeploymentStatus::Failed
                } else {
                    DeploymentStatus::Success
                },
                trigger: Trigger::Webhook,
                triggered_by: Some(s.user.id),
                git_branch: "main".into(),
                started_at: started,
                completed_at: started + chrono::Duration::seconds(40 + 10 * i),
                error_message: (i == 2).then(|| "health check failed".to_owned()),
                steps: vec![ImportedStep {
                    step: "pulling_image",
                    status: StepStatus::Completed,
                    started_at: started,
                    completed_at: started + chrono::Duration::seconds(4 + 2 * i),
                }],
            }
        })
        .collect();
    t.store.import_deployments(&imported).await.unwrap();
    t.store.analyze().await.unwrap();

    let d = t.store.get_deployment(imported[1].id).await.unwrap();
    assert_eq!(d.status, DeploymentStatus::Success);
    assert_eq!(d.version, 11);
    assert_eq!(d.duration_seconds, Some(50.0));
    assert_eq!(d.created_at, imported[1].started_at);
    let stats = t.store.project_stats(s.project.id).await.unwrap();
    assert_eq!(stats.total, 4, "three imported and the seeded pending one");
    let trends = t
        .store
        .trend_inputs(s.project.id, base - chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!((trends.successful, trends.failed), (2, 1));
    assert_eq!(trends.durations, vec![40.0, 50.0, 60.0]);
    assert_eq!(trends.stages.get("pulling_image"), Some(&(6.0, 3)));

    let plan = t
        .store
        .explain_list_logs(
            imported[0].id,
            &LogQuery {
                level: Some(LogLevel::Error),
                text: None,
                skip: 0,
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .join("\n");
    // Which access path wins depends on the table's size (the bench checks it on
    // millions of rows); here: the plan is the log query's.
    assert!(plan.contains("deployment_logs"), "{plan}");
}
