//! The spec's deployment endpoints, field for field, on both backends.

mod common;

use std::collections::BTreeSet;

use common::TestApp;
use paasportal_core::{DeploymentStatus, LogLevel, NewLog, OrgRole};
use paasportal_testkit::fixtures::{Seeded, seed};
use serde_json::{Value, json};

on_both_backends!(
    detail_list_latest_and_stats_have_the_specs_fields,
    logs_filter_search_page_and_validate,
    progress_lists_every_stage_with_timing,
    a_failed_deployment_reports_only_the_stages_it_reached,
    create_conflict_and_cancel,
    export_streams_every_format,
    trends_summarise_durations_and_stages,
);

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn spec_keys(example: &str) -> BTreeSet<String> {
    keys(&serde_json::from_str(example).unwrap())
}

/// A seeded deployment whose seed user is an owner of the organization; returns a token.
async fn setup(app: &TestApp, tag: &str) -> (Seeded, String) {
    let s = seed(app.store(), tag).await;
    app.store()
        .upsert_org_member(s.org.id, s.user.id, OrgRole::Owner)
        .await
        .unwrap();
    let tok = app.token(s.user.id);
    (s, tok)
}

async fn write_lines(app: &TestApp, dep: uuid::Uuid, n: usize) {
    for i in 0..n {
        let level = match i % 10 {
            0 => LogLevel::Error,
            1 | 2 => LogLevel::Warning,
            3 => LogLevel::Debug,
            _ => LogLevel::Info,
        };
        let mut l = NewLog::now(dep, level, format!("line {i} of the log"));
        l.step = Some(
            if i < n / 2 {
                "initializing"
            } else {
                "pulling_image"
            }
            .into(),
        );
        if level == LogLevel::Error {
            l.data = json!({"error_code": "AUTH_FAILED"});
        }
        app.state.writer.append(l).await.unwrap();
    }
    let mut last = NewLog::now(dep, LogLevel::Info, "Pulling Odoo 18.0 image...");
    last.step = Some("pulling_image".into());
    app.state.writer.write(last).await.unwrap();
}

async fn detail_list_latest_and_stats_have_the_specs_fields(app: TestApp) {
    let (s, tok) = setup(&app, "a").await;
    let id = s.deployment.id;
    let (st, d) = app
        .get(&format!("/api/v1/deployments/{id}"), Some(&tok))
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        keys(&d),
        spec_keys(
            r#"{"id":1,"project_id":1,"environment_id":1,"vm_id":1,"version":1,"status":1,"trigger":1,
            "triggered_by":1,"git_commit":1,"git_branch":1,"git_message":1,"started_at":1,"completed_at":1,
            "duration_seconds":1,"container_id":1,"image_tag":1,"error_message":1,"created_at":1,"updated_at":1}"#
        )
    );
    assert_eq!(d["status"], "pending");
    assert_eq!(d["vm_id"], json!(s.server.id));
    assert_eq!(d["git_branch"], "main");
    assert_eq!(d["version"], 1);

    let (st, list) = app
        .get(
            &format!("/api/v1/deployments?project_id={}&limit=20", s.project.id),
            Some(&tok),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        keys(&list[0]),
        spec_keys(
            r#"{"id":1,"project_id":1,"environment_id":1,"version":1,"status":1,"trigger":1,"triggered_by":1,
            "git_commit":1,"git_branch":1,"git_message":1,"started_at":1,"completed_at":1,"duration_seconds":1,
            "container_id":1,"error_message":1,"created_at":1}"#
        )
    );
    let (_, failed) = app
        .get(
            &format!(
                "/api/v1/deployments?project_id={}&status=failed",
                s.project.id
            ),
            Some(&tok),
        )
        .await;
    assert_eq!(failed, json!([]));
    for bad in [
        "status=done",
        "limit=0",
        "limit=501",
        "skip=-1",
        "project_id=nope",
    ] {
        let (st, b) = app
            .get(&format!("/api/v1/deployments?{bad}"), Some(&tok))
            .await;
        assert_eq!(st, 422, "{bad}: {b}");
        assert!(b["detail"].is_array());
    }

    let env = s.environment.id;
    let (st, latest) = app
        .get(
            &format!("/api/v1/deployments/environment/{env}/latest"),
            Some(&tok),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        keys(&latest),
        spec_keys(
            r#"{"has_deployment":true,"environment_id":1,"deployment_id":1,"status":1,"version":1,
            "started_at":1,"completed_at":1,"error_message":1}"#
        )
    );
    assert_eq!(latest["deployment_id"], json!(id));
    assert_eq!(latest["has_deployment"], true);

    app.store().start_deployment(id).await.unwrap();
    app.store()
        .finish_deployment(id, DeploymentStatus::Success, None)
        .await
        .unwrap();
    for _ in 0..2 {
        let d2 = app
            .store()
            .create_deployment(env, paasportal_core::Trigger::Manual, None)
            .await
            .unwrap();
        app.store()
            .finish_deployment(
                d2.id,
                DeploymentStatus::Failed,
                Some("Failed to connect to server via SSH"),
            )
            .await
            .unwrap();
    }
    let (st, stats) = app
        .get(
            &format!("/api/v1/deployments/project/{}/stats", s.project.id),
            Some(&tok),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        stats,
        json!({
            "project_id": s.project.id,
            "total_deployments": 3,
            "status_counts": {"success": 1, "failed": 2},
            "success_rate": 33.3,
        })
    );
    let (_, latest) = app
        .get(
            &format!("/api/v1/deployments/environment/{env}/latest"),
            Some(&tok),
        )
        .await;
    assert_eq!(latest["version"], 3);
    assert_eq!(
        latest["error_message"],
        "Failed to connect to server via SSH"
    );

    let other = app.store().create_project(s.org.id, "empty").await.unwrap();
    let (_, stats) = app
        .get(
            &format!("/api/v1/deployments/project/{}/stats", other.id),
            Some(&tok),
        )
        .await;
    assert_eq!(stats["total_deployments"], 0);
    assert_eq!(stats["success_rate"], 0.0);
    assert_eq!(stats["status_counts"], json!({}));
}

async fn logs_filter_search_page_and_validate(app: TestApp) {
    let (s, tok) = setup(&app, "l").await;
    let id = s.deployment.id;
    write_lines(&app, id, 100).await;
    let (st, body) = app
        .get(&format!("/api/v1/deployments/{id}/logs"), Some(&tok))
        .await;
    assert_eq!(st, 200);
    assert_eq!(keys(&body), spec_keys(r#"{"deployment_id":1,"logs":1}"#));
    let logs = body["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 101);
    assert_eq!(
        keys(&logs[1]),
        // The spec's keys plus `seq`, the line's stream id and paging anchor.
        spec_keys(r#"{"id":1,"seq":1,"level":1,"message":1,"timestamp":1,"step":1,"data":1}"#)
    );
    assert_eq!(logs[0]["message"], "line 0 of the log");
    assert_eq!(logs[0]["data"], json!({"error_code": "AUTH_FAILED"}));
    assert_eq!(logs[4]["data"], Value::Null);

    let (_, errors) = app
        .get(
            &format!("/api/v1/deployments/{id}/logs?level=error&limit=100"),
            Some(&tok),
        )
        .await;
    let errors = errors["logs"].as_array().unwrap();
    assert_eq!(errors.len(), 10);
    assert!(errors.iter().all(|l| l["level"] == "error"));

    let (_, page) = app
        .get(
            &format!("/api/v1/deployments/{id}/logs?skip=10&limit=5"),
            Some(&tok),
        )
        .await;
    let msgs: Vec<_> = page["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].clone())
        .collect();
    assert_eq!(
        msgs,
        (10..15)
            .map(|i| json!(format!("line {i} of the log")))
            .collect::<Vec<_>>()
    );

    let (_, found) = app
        .get(
            &format!("/api/v1/deployments/{id}/logs?q=LINE%2042%20"),
            Some(&tok),
        )
        .await;
    assert_eq!(found["logs"].as_array().unwrap().len(), 1);
    let (_, none) = app
        .get(&format!("/api/v1/deployments/{id}/logs?q=%25"), Some(&tok))
        .await;
    assert_eq!(none["logs"], json!([]), "% is literal, not a wildcard");

    for bad in [
        "level=fatal",
        "level=ERROR",
        "limit=0",
        "limit=5001",
        "skip=-1",
        "limit=abc",
    ] {
        let (st, b) = app
            .get(&format!("/api/v1/deployments/{id}/logs?{bad}"), Some(&tok))
            .await;
        assert_eq!(st, 422, "{bad}: {b}");
    }
    let (st, _) = app
        .get(
            &format!("/api/v1/deployments/{id}/logs?limit=5000"),
            Some(&tok),
        )
        .await;
    assert_eq!(st, 200);
    let (st, b) = app
        .get("/api/v1/deployments/not-a-uuid/logs", Some(&tok))
        .await;
    assert_eq!(st, 422, "{b}");
    let (st, b) = app
        .get(
            &format!("/api/v1/deployments/{}/logs", uuid::Uuid::new_v4()),
            Some(&tok),
        )
        .await;
    assert_eq!((st, b), (404, json!({"detail": "Deployment not found"})));
}

/// Failed at stage 2 of 17, the way the runner records it: `initializing` completed,
/// `connecting` failed, everything after closed as `skipped`. Progress is what it was
/// when `connecting` began (1 of 16 stages: 6 %), not 93 %.
async fn a_failed_deployment_reports_only_the_stages_it_reached(app: TestApp) {
    use paasportal_core::stage::{CATALOGUE, progress_at};
    use paasportal_core::{Stage, StepStatus};
    let (s, tok) = setup(&app, "fp").await;
    let id = s.deployment.id;
    let store = app.store();
    store.start_deployment(id).await.unwrap();
    let ids: Vec<&str> = CATALOGUE.iter().map(|i| i.id).collect();
    store.init_steps(id, &ids).await.unwrap();
    let now = chrono::Utc::now();
    store
        .start_step(id, "initializing", now, progress_at(Stage::Initializing))
        .await
        .unwrap();
    let after_init = progress_at(Stage::Connecting);
    store
        .finish_step(
            id,
            "initializing",
            StepStatus::Completed,
            now,
            0.1,
            after_init,
        )
        .await
        .unwrap();
    store
        .start_step(id, "connecting", now, after_init)
        .await
        .unwrap();
    store
        .finish_step(id, "connecting", StepStatus::Failed, now, 0.2, after_init)
        .await
        .unwrap();
    store
        .close_open_steps(id, StepStatus::Failed, now)
        .await
        .unwrap();
    store
        .finish_deployment(
            id,
            DeploymentStatus::Failed,
            Some("Failed to connect to server via SSH"),
        )
        .await
        .unwrap();

    let (st, p) = app
        .get(&format!("/api/v1/deployments/{id}/progress"), Some(&tok))
        .await;
    assert_eq!(st, 200, "{p}");
    assert_eq!(p["status"], "failed");
    assert_eq!(p["steps"][1]["status"], "failed");
    assert_eq!(p["steps"][2]["status"], "skipped");
    assert_eq!(p["progress_percent"], 6, "{p}");
}

async fn progress_lists_every_stage_with_timing(app: TestApp) {
    let (s, tok) = setup(&app, "p").await;
    let id = s.deployment.id;
    app.store().start_deployment(id).await.unwrap();
    write_lines(&app, id, 10).await;
    let started = chrono::Utc::now() - chrono::Duration::seconds(5);
    let done = started + chrono::Duration::milliseconds(500);
    let sql = "INSERT INTO deployment_steps (deployment_id, step, status, started_at, completed_at, duration_seconds) \
               VALUES ($1, 'initializing', 'completed', $2, $3, 0.5), ($1, 'pulling_image', 'running', $3, NULL, NULL)";
    paasportal_store::with_db!(app.store().db(), p => sqlx::query(sql).bind(id).bind(started).bind(done).execute(p).await.map(|_| ())).unwrap();
    let upd = "UPDATE deployments SET current_step = 'pulling_image', progress_percent = 50 WHERE id = $1";
    paasportal_store::with_db!(app.store().db(), p => sqlx::query(upd).bind(id).execute(p).await.map(|_| ())).unwrap();

    let (st, p) = app
        .get(&format!("/api/v1/deployments/{id}/progress"), Some(&tok))
        .await;
    assert_eq!(st, 200, "{p}");
    assert_eq!(
        keys(&p),
        spec_keys(
            r#"{"deployment_id":1,"status":1,"progress_percent":1,"steps":1,"current_step":1,
            "error_message":1,"started_at":1,"completed_at":1,"duration_seconds":1}"#
        )
    );
    assert_eq!(p["status"], "running");
    assert_eq!(p["current_step"], "pulling_image");
    assert_eq!(p["progress_percent"], 50);
    let steps = p["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 17);
    assert_eq!(steps[16]["id"], "completed");
    assert_eq!(
        keys(&steps[0]),
        spec_keys(
            r#"{"id":1,"name":1,"description":1,"status":1,"logs":1,"latest_message":1,
            "started_at":1,"completed_at":1,"duration_seconds":1}"#
        )
    );
    assert_eq!(steps[0]["name"], "Initializing");
    assert_eq!(steps[0]["status"], "completed");
    assert_eq!(steps[0]["duration_seconds"], 0.5);
    assert_eq!(steps[0]["logs"].as_array().unwrap().len(), 5);
    assert_eq!(
        keys(&steps[0]["logs"][0]),
        spec_keys(r#"{"message":1,"timestamp":1,"level":1}"#)
    );
    let pulling = &steps[8];
    assert_eq!(pulling["id"], "pulling_image");
    assert_eq!(pulling["status"], "running");
    assert_eq!(pulling["latest_message"], "Pulling Odoo 18.0 image...");
    assert_eq!(pulling["completed_at"], Value::Null);
    assert_eq!(steps[10]["status"], "pending");
    assert_eq!(steps[10]["logs"], json!([]));
    assert_eq!(steps[10]["latest_message"], Value::Null);
}

async fn create_conflict_and_cancel(app: TestApp) {
    let (s, tok) = setup(&app, "c").await;
    let env = s.environment.id;
    // The seed left a pending deployment: a second one conflicts and names it.
    let (st, b) = app
        .post(
            "/api/v1/deployments",
            Some(&tok),
            json!({"environment_id": env}),
        )
        .await;
    assert_eq!(st, 409, "{b}");
    assert_eq!(b["deployment_id"], json!(s.deployment.id));
    assert!(b["detail"].is_string());

    let (st, b) = app
        .post(
            &format!("/api/v1/deployments/{}/cancel", s.deployment.id),
            Some(&tok),
            json!({}),
        )
        .await;
    assert_eq!((st, b), (200, json!({"message": "Deployment cancelled"})));
    let d = app.store().get_deployment(s.deployment.id).await.unwrap();
    assert_eq!(d.status, DeploymentStatus::Cancelled);
    // The queued deployment never ran: one line says it was cancelled, by display name.
    let (st, logs) = app
        .get(
            &format!("/api/v1/deployments/{}/logs", s.deployment.id),
            Some(&tok),
        )
        .await;
    assert_eq!(st, 200, "{logs}");
    let lines = logs["logs"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{logs}");
    assert_eq!(
        lines[0]["message"],
        format!("Deployment cancelled by {} before it started", s.user.name)
    );
    assert_eq!(lines[0]["level"], "warning");
    assert_eq!(lines[0]["data"]["error_code"], "CANCELLED");
    assert!(!logs.to_string().contains(&s.user.email));
    let (st, b) = app
        .post(
            &format!("/api/v1/deployments/{}/cancel", s.deployment.id),
            Some(&tok),
            json!({}),
        )
        .await;
    assert_eq!(st, 400, "{b}");

    let (st, created) = app
        .post(
            "/api/v1/deployments",
            Some(&tok),
            json!({"environment_id": env}),
        )
        .await;
    assert_eq!(st, 202, "{created}");
    assert_eq!(created["status"], "pending");
    assert_eq!(created["version"], 2);
    assert_eq!(created["triggered_by"], json!(s.user.id));
    assert_eq!(created["trigger"], "manual");
    let id: uuid::Uuid = serde_json::from_value(created["id"].clone()).unwrap();
    app.store().start_deployment(id).await.unwrap();
    let (st, _) = app
        .post(
            &format!("/api/v1/deployments/{id}/cancel"),
            Some(&tok),
            json!({}),
        )
        .await;
    assert_eq!(st, 200);
    let d = app.store().get_deployment(id).await.unwrap();
    assert_eq!(d.status, DeploymentStatus::Running, "the worker stops it");
    assert!(app.store().cancel_requested_at(id).await.unwrap().is_some());

    for bad in [
        json!({}),
        json!({"environment_id": "nope"}),
        json!({"environment_id": env, "force": true}),
        json!({"environment_id": 12}),
    ] {
        let (st, b) = app
            .post("/api/v1/deployments", Some(&tok), bad.clone())
            .await;
        assert_eq!(st, 422, "{bad}: {b}");
    }
    let (st, _) = app
        .post(
            "/api/v1/deployments",
            Some(&tok),
            json!({"environment_id": uuid::Uuid::new_v4()}),
        )
        .await;
    assert_eq!(st, 404);
}

async fn export_streams_every_format(app: TestApp) {
    let (s, tok) = setup(&app, "e").await;
    let id = s.deployment.id;
    write_lines(&app, id, 2500).await;
    let r = app
        .http
        .get(app.url(&format!("/api/v1/deployments/{id}/logs/export?format=json")))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        keys(&v),
        spec_keys(
            r#"{"deployment_id":1,"project_name":1,"environment_name":1,"exported_at":1,"logs":1}"#
        )
    );
    assert_eq!(v["project_name"], "Project e");
    assert_eq!(v["environment_name"], "production");
    let logs = v["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 2501);
    assert_eq!(logs[1234]["message"], "line 1234 of the log");

    let txt = app
        .http
        .get(app.url(&format!("/api/v1/deployments/{id}/logs/export?format=txt")))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = txt.lines().collect();
    assert_eq!(lines[0], "=== Deployment Logs ===");
    assert_eq!(lines[1], format!("Deployment ID: {id}"));
    assert_eq!(lines[2], "Project: Project e");
    assert_eq!(lines[3], "Environment: production");
    assert!(lines[4].starts_with("Exported: ") && lines[4].ends_with(" UTC"));
    assert_eq!(lines[5], "");
    assert!(
        lines[6].starts_with('[') && lines[6].ends_with("] [ERROR] line 0 of the log"),
        "{}",
        lines[6]
    );
    assert_eq!(lines.len(), 6 + 2501);

    let nd = app
        .http
        .get(app.url(&format!(
            "/api/v1/deployments/{id}/logs/export?format=ndjson"
        )))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let parsed: Vec<Value> = nd
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed.len(), 2501);
    let (st, _) = app
        .get(
            &format!("/api/v1/deployments/{id}/logs/export?format=xml"),
            Some(&tok),
        )
        .await;
    assert_eq!(st, 422);
}

async fn trends_summarise_durations_and_stages(app: TestApp) {
    let (s, tok) = setup(&app, "t").await;
    let env = s.environment.id;
    let mut ids = vec![s.deployment.id];
    for _ in 0..3 {
        let last = *ids.last().unwrap();
        app.store().start_deployment(last).await.unwrap();
        let sql = "UPDATE deployments SET status = 'success', duration_seconds = $2 WHERE id = $1";
        let dur = 100.0 + ids.len() as f64 * 10.0;
        paasportal_store::with_db!(app.store().db(), p => sqlx::query(sql).bind(last).bind(dur).execute(p).await.map(|_| ())).unwrap();
        let step = "INSERT INTO deployment_steps (deployment_id, step, status, duration_seconds) VALUES ($1, 'pulling_image', 'completed', $2)";
        paasportal_store::with_db!(app.store().db(), p => sqlx::query(step).bind(last).bind(dur / 10.0).execute(p).await.map(|_| ())).unwrap();
        let d = app
            .store()
            .create_deployment(env, paasportal_core::Trigger::Manual, None)
            .await
            .unwrap();
        ids.push(d.id);
    }
    let (st, t) = app
        .get(
            &format!(
                "/api/v1/deployments/project/{}/trends?days=30",
                s.project.id
            ),
            Some(&tok),
        )
        .await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(t["total"], 4);
    assert_eq!(t["successful"], 3);
    assert_eq!(t["failed"], 0);
    assert_eq!(t["avg_duration"], 120.0);
    assert_eq!(t["fastest"], 110.0);
    assert_eq!(t["slowest"], 130.0);
    assert_eq!(t["p95_duration"], 130.0);
    assert_eq!(
        t["stages"],
        json!([{"id": "pulling_image", "name": "Pulling Image", "avg_duration_seconds": 12.0, "runs": 3}])
    );
    for bad in ["days=0", "days=366", "days=x"] {
        let (st, _) = app
            .get(
                &format!("/api/v1/deployments/project/{}/trends?{bad}", s.project.id),
                Some(&tok),
            )
            .await;
        assert_eq!(st, 422, "{bad}");
    }
}
