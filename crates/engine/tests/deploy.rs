//! The infrastructure stages end to end: real deployments through the worker, over the
//! private test sshd, with every `docker` command real, on the testbed images. What
//! the pipeline built is checked with `docker inspect` run here.
//!
//! The repository, dependency, database-initialisation and DNS stages belong to another
//! issue and have their own tests; these run [`Pipeline::infrastructure`], which leaves
//! them out (the Odoo stand-in initialises its database at start-up, as Odoo does).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::harness::{Harness, Seeded, TestAuth, messages};
use common::testbed::{
    BaseDirGuard, EnvGuard, ODOO_18, deploy_config, inspect, must, odoo_version, require_testbed,
    sh,
};
use paasportal_core::{DeploymentStatus, EnvironmentStatus, LogLevel, StepStatus, Trigger};
use paasportal_engine::Pipeline;
use paasportal_testkit::TestBackend;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(180);

struct Deployed {
    h: Harness,
    s: Seeded,
    base: BaseDirGuard,
    guard: EnvGuard,
}

/// Seeds an environment (adjusted by `adjust`) with Odoo 18.0 as `image` and runs its
/// first deployment with `pipeline` to its end.
async fn deploy(
    backend: TestBackend,
    tag: &str,
    image: &str,
    pipeline: Pipeline,
    adjust: impl FnOnce(&mut paasportal_store::environments::NewEnvironment),
) -> Deployed {
    require_testbed();
    let h = Harness::new(backend).await;
    odoo_version(&h, image).await;
    let s = h.seed_with(tag, TestAuth::Key, adjust).await;
    let guard = EnvGuard {
        env_uuid: s.environment.id.to_string(),
    };
    let base = BaseDirGuard::new();
    let worker = h.start_worker(h.engine(pipeline, deploy_config(&base)));
    h.wait_finished(s.deployment.id, LIMIT).await;
    worker.stop().await;
    Deployed { h, s, base, guard }
}

fn step_statuses(steps: &[paasportal_core::DeploymentStep]) -> BTreeMap<String, StepStatus> {
    steps.iter().map(|s| (s.step.clone(), s.status)).collect()
}

fn labels(container: &str) -> BTreeMap<String, String> {
    serde_json::from_str(&inspect(container, "{{json .Config.Labels}}")).unwrap()
}

async fn fresh_deploy(backend: TestBackend, tag: &str) {
    let d = deploy(backend, tag, ODOO_18, Pipeline::infrastructure(), |_| {}).await;
    let (h, s) = (&d.h, &d.s);
    let store = &h.t.store;
    let dep = store.get_deployment(s.deployment.id).await.unwrap();
    let lines = h.logs(dep.id).await;
    let text = messages(&lines);
    assert_eq!(
        dep.status,
        DeploymentStatus::Success,
        "{dep:?}\n{}",
        text.join("\n")
    );
    let u = d.guard.env_uuid.clone();
    let env = store.get_environment(s.environment.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Running);

    // The spec's log lines, each closing line with its duration.
    let has = |want: &str| text.iter().any(|m| m == want);
    let starts = |prefix: &str| text.iter().any(|m| m.starts_with(prefix));
    assert!(has(&format!("Creating network paasportal_net_{u}...")));
    assert!(starts("Network created ("), "{text:#?}");
    assert!(has(&format!("Creating PostgreSQL container {u}_db...")));
    assert!(starts("PostgreSQL container running ("));
    assert!(has("Waiting for PostgreSQL to accept connections..."));
    assert!(has("PostgreSQL is ready and accepting connections"));
    assert!(has(&format!(
        "PgBouncer {u}_pgbouncer running on port 6432 (transaction mode)"
    )));
    assert!(starts("PostgreSQL optimized ("));
    assert!(has("Pulling Odoo 18.0 image..."));
    assert!(starts("Image ready ("));
    assert!(has("Generating Odoo configuration..."));
    assert!(has("Configuration generated"));
    assert!(starts("Generated odoo.conf with 0 custom overrides ("));
    assert!(has(&format!("Starting Odoo container {u}_odoo...")));
    assert!(has(
        "Applying Odoo resource limits: CPU=1.4 cores, RAM=1434m (70% of allocated)"
    ));
    assert!(starts("Container started: "));
    assert!(has(&format!(
        "Odoo container started on internal network: paasportal_net_{u}"
    )));
    assert!(starts("Container connected to traefik-public network ("));
    assert!(has("Configuring Traefik routing..."));
    assert!(starts("Traefik configured ("));
    assert!(has("Performing health check..."));
    assert!(starts("Health check passed! ("));
    assert!(starts("Deployment completed successfully! Total time: "));
    assert!(
        !lines.iter().any(|l| l.log.level == LogLevel::Error),
        "{text:#?}"
    );

    // Steps: the infrastructure stages completed, the other issue's skipped.
    let steps = step_statuses(&store.list_steps(dep.id).await.unwrap());
    for done in [
        "initializing",
        "connecting",
        "creating_network",
        "creating_database",
        "pulling_image",
        "generating_config",
        "starting_container",
        "configuring_traefik",
        "health_check",
        "completed",
    ] {
        assert_eq!(steps[done], StepStatus::Completed, "{done}: {steps:?}");
    }
    for skipped in ["configuring_dns", "cloning_repo", "initializing_database"] {
        assert_eq!(steps[skipped], StepStatus::Skipped, "{skipped}");
    }

    // The deployment records its container and image.
    let odoo = format!("{u}_odoo");
    let id = inspect(&odoo, "{{.Id}}");
    assert_eq!(dep.container_id.as_deref(), Some(id.as_str()));
    assert_eq!(dep.image_tag.as_deref(), Some(ODOO_18));

    // Network.
    assert_eq!(
        inspect(&format!("paasportal_net_{u}"), "{{.Driver}}"),
        "bridge"
    );
    // PostgreSQL: 30 % of 2 cores / 2048 MB, its volume, PGTune in force.
    let db = format!("{u}_db");
    assert_eq!(inspect(&db, "{{.State.Status}}"), "running");
    assert_eq!(
        inspect(&db, "{{.HostConfig.Memory}}"),
        (614 << 20).to_string()
    );
    assert_eq!(inspect(&db, "{{.HostConfig.NanoCpus}}"), "600000000");
    assert_eq!(
        inspect(
            &db,
            "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}"
        ),
        format!("volume paasportal_pgdata_{u} /var/lib/postgresql/data")
    );
    let shown = must(&[
        "docker",
        "exec",
        &db,
        "psql",
        "-U",
        "odoo",
        "-d",
        "postgres",
        "-At",
        "-c",
        "SHOW shared_buffers",
    ]);
    assert_eq!(shown, "157184kB");
    // PgBouncer in transaction mode, in front of it.
    let pgb = format!("{u}_pgbouncer");
    assert_eq!(inspect(&pgb, "{{.State.Status}}"), "running");
    let env_vars = inspect(&pgb, "{{json .Config.Env}}");
    assert!(env_vars.contains("PGBOUNCER_POOL_MODE=transaction"));
    assert!(env_vars.contains("PGBOUNCER_MAX_CLIENT_CONN=100"));

    // Odoo: the spec's docker run.
    assert_eq!(inspect(&odoo, "{{.State.Status}}"), "running");
    assert_eq!(inspect(&odoo, "{{.Config.Image}}"), ODOO_18);
    assert_eq!(
        inspect(&odoo, "{{.HostConfig.Memory}}"),
        (1434 << 20).to_string()
    );
    assert_eq!(inspect(&odoo, "{{.HostConfig.NanoCpus}}"), "1400000000");
    assert_eq!(
        inspect(&odoo, "{{.HostConfig.RestartPolicy.Name}}"),
        "unless-stopped"
    );
    assert_eq!(
        inspect(
            &odoo,
            "{{.HostConfig.LogConfig.Type}} {{json .HostConfig.LogConfig.Config}}"
        ),
        r#"json-file {"max-file":"3","max-size":"10m"}"#
    );
    assert!(inspect(&odoo, "{{json .Config.Env}}").contains("\"ODOO_RC=/etc/odoo/odoo.conf\""));
    let env_dir = format!("{}/{u}", d.base.path());
    let mounts = inspect(
        &odoo,
        "{{range .Mounts}}{{.Source}}:{{.Destination}}:{{.RW}}\n{{end}}",
    );
    let mut mounts: Vec<&str> = mounts.lines().collect();
    mounts.sort();
    assert_eq!(
        mounts,
        [
            format!("{env_dir}/addons:/mnt/extra-addons:false"),
            format!("{env_dir}/data:/var/lib/odoo:true"),
            format!("{env_dir}/logs:/var/log/odoo:true"),
            format!("{env_dir}/odoo.conf:/etc/odoo/odoo.conf:false"),
        ]
    );
    let networks = inspect(
        &odoo,
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
    );
    let mut networks: Vec<&str> = networks.split_whitespace().collect();
    networks.sort();
    assert_eq!(
        networks,
        [format!("paasportal_net_{u}").as_str(), "traefik-public"]
    );
    let l = labels(&odoo);
    let host = format!("Host(`prod-{tag}.apps.example.com`)");
    for (k, v) in [
        ("traefik.enable".to_owned(), "true"),
        (format!("traefik.http.routers.{u}.rule"), host.as_str()),
        (format!("traefik.http.routers.{u}.entrypoints"), "websecure"),
        (format!("traefik.http.routers.{u}.tls"), "true"),
        (
            format!("traefik.http.routers.{u}.tls.certresolver"),
            "letsencrypt",
        ),
        (
            format!("traefik.http.services.{u}.loadbalancer.server.port"),
            "8069",
        ),
        (
            format!("traefik.http.middlewares.{u}-ratelimit.ratelimit.average"),
            "100",
        ),
        (
            format!("traefik.http.middlewares.{u}-ratelimit.ratelimit.burst"),
            "50",
        ),
    ] {
        assert_eq!(l.get(&k).map(String::as_str), Some(v), "label {k}");
    }
    // Directories: data/ and logs/ and odoo.conf belong to the Odoo user; odoo.conf is private.
    for (path, owner) in [
        (format!("{env_dir}/data"), "100:101"),
        (format!("{env_dir}/logs"), "100:101"),
        (format!("{env_dir}/odoo.conf"), "100:101"),
    ] {
        assert_eq!(must(&["stat", "-c", "%u:%g", &path]), owner, "{path}");
    }
    assert_eq!(
        must(&["stat", "-c", "%a", &format!("{env_dir}/odoo.conf")]),
        "600"
    );
    let conf = std::fs::read_to_string(format!("{env_dir}/odoo.conf")).unwrap();
    assert!(conf.contains(&format!("db_host = {u}_pgbouncer\n")));
    assert!(conf.contains("db_port = 6432\n"));
    assert!(conf.contains(&format!("dbfilter = ^{u}$\n")));
    assert!(conf.contains("workers = 2\n"));

    // /web/health answers through the stand-in, on the Traefik network as Traefik sees it.
    let health = must(&[
        "docker",
        "run",
        "--rm",
        "--network",
        "traefik-public",
        "--entrypoint",
        "curl",
        ODOO_18,
        "--silent",
        "--max-time",
        "10",
        &format!("http://{odoo}:8069/web/health"),
    ]);
    assert!(health.contains("pass"), "{health}");

    // The generated password is sealed at rest and never in a log line.
    let sealed = store.get_db_secrets(env.id).await.unwrap();
    let password = h
        .secrets
        .open(sealed.db_password_enc.as_deref().unwrap())
        .unwrap();
    assert!(conf.contains(&format!("db_password = {password}\n")));
    assert!(
        !sealed
            .db_password_enc
            .unwrap()
            .windows(password.len())
            .any(|w| w == password.as_bytes())
    );
    for l in &lines {
        assert!(!l.log.message.contains(&password), "{}", l.log.message);
        assert!(!l.log.data.to_string().contains(&password));
    }
    drop(d.guard);
    d.h.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fresh_deploy_postgres() {
    fresh_deploy(TestBackend::Postgres, "fresh-pg").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fresh_deploy_sqlite() {
    fresh_deploy(TestBackend::Sqlite, "fresh-lite").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redeploy_replaces_the_container_and_keeps_the_data() {
    let d = deploy(
        TestBackend::Postgres,
        "redeploy",
        ODOO_18,
        Pipeline::infrastructure(),
        |_| {},
    )
    .await;
    let (h, s) = (&d.h, &d.s);
    let store = &h.t.store;
    let first = store.get_deployment(s.deployment.id).await.unwrap();
    assert_eq!(first.status, DeploymentStatus::Success);
    let u = d.guard.env_uuid.clone();
    let (db, odoo) = (format!("{u}_db"), format!("{u}_odoo"));
    let db_id = inspect(&db, "{{.Id}}");
    must(&[
        "docker",
        "exec",
        &db,
        "psql",
        "-U",
        "odoo",
        "-d",
        &u,
        "-c",
        "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)",
    ]);
    let marker = format!("{}/{u}/data/marker", d.base.path());
    std::fs::write(&marker, "still here").unwrap();

    let second = store
        .create_deployment(s.environment.id, Trigger::Manual, Some(s.user.id))
        .await
        .unwrap();
    let worker = h.start_worker(h.engine(Pipeline::infrastructure(), deploy_config(&d.base)));
    let dep = h.wait_finished(second.id, LIMIT).await;
    worker.stop().await;
    let text = messages(&h.logs(second.id).await);
    assert_eq!(dep.status, DeploymentStatus::Success, "{}", text.join("\n"));

    // A new Odoo container; the same database container, its data, the data directory.
    let new_id = inspect(&odoo, "{{.Id}}");
    assert_ne!(Some(new_id.as_str()), first.container_id.as_deref());
    assert_eq!(dep.container_id.as_deref(), Some(new_id.as_str()));
    assert!(!sh(&["docker", "inspect", first.container_id.as_deref().unwrap()]).ok);
    assert_eq!(inspect(&db, "{{.Id}}"), db_id);
    assert_eq!(
        must(&[
            "docker",
            "exec",
            &db,
            "psql",
            "-U",
            "odoo",
            "-d",
            &u,
            "-At",
            "-c",
            "SELECT x FROM kept"
        ]),
        "42"
    );
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "still here");
    assert!(
        text.iter()
            .any(|m| m.starts_with(&format!("Network paasportal_net_{u} already exists (")))
    );
    assert!(
        text.iter()
            .any(|m| m == &format!("Stopped and removed the previous container {odoo}"))
    );
    assert!(text.iter().any(|m| m.starts_with("Health check passed! (")));
    // A dependency image built on the current Odoo image is what the next container runs.
    let deps = format!("paasportal/deps-{u}:test");
    must(&["docker", "commit", &odoo, &deps]);
    std::fs::write(
        format!("{}/{u}/deps-image", d.base.path()),
        format!("{deps}\n"),
    )
    .unwrap();
    let third = store
        .create_deployment(s.environment.id, Trigger::Manual, Some(s.user.id))
        .await
        .unwrap();
    let worker = h.start_worker(h.engine(Pipeline::infrastructure(), deploy_config(&d.base)));
    let dep3 = h.wait_finished(third.id, LIMIT).await;
    worker.stop().await;
    let text3 = messages(&h.logs(third.id).await);
    assert_eq!(
        dep3.status,
        DeploymentStatus::Success,
        "{}",
        text3.join("\n")
    );
    assert_eq!(inspect(&odoo, "{{.Config.Image}}"), deps);
    assert_eq!(dep3.image_tag.as_deref(), Some(deps.as_str()));
    assert!(
        text3
            .iter()
            .any(|m| m.starts_with(&format!("Starting from {deps}: ")))
    );

    let image_line = h
        .logs(second.id)
        .await
        .into_iter()
        .find(|l| l.log.message.starts_with("Image ready"))
        .unwrap();
    assert_eq!(image_line.log.data["pulled"], Value::Bool(false));
    drop(d.guard);
    d.h.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_image_fails_at_pulling_image() {
    let image = "paasportal/no-such-image:18.0";
    let d = deploy(
        TestBackend::Sqlite,
        "noimage",
        image,
        Pipeline::infrastructure().without(paasportal_core::Stage::CreatingDatabase),
        |_| {},
    )
    .await;
    let (h, s) = (&d.h, &d.s);
    let dep = h.t.store.get_deployment(s.deployment.id).await.unwrap();
    assert_eq!(dep.status, DeploymentStatus::Failed);
    let steps = step_statuses(&h.t.store.list_steps(dep.id).await.unwrap());
    assert_eq!(steps["pulling_image"], StepStatus::Failed);
    assert_eq!(steps["starting_container"], StepStatus::Skipped);
    let lines = h.logs(dep.id).await;
    let error = lines
        .iter()
        .find(|l| {
            l.log.level == LogLevel::Error
                && l.log.message.starts_with("Failed to pull Docker image: ")
        })
        .unwrap_or_else(|| panic!("{:#?}", messages(&lines)));
    let data = &error.log.data;
    assert_eq!(data["image"], image);
    assert_eq!(data["registry"], "docker.io");
    assert!(!data["error"].as_str().unwrap().is_empty());
    assert!(data["error_code"].is_string());
    assert_eq!(
        dep.error_message.as_deref(),
        Some(error.log.message.as_str())
    );
    assert!(!sh(&["docker", "inspect", &format!("{}_odoo", d.guard.env_uuid)]).ok);
    d.h.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_health_check_is_a_warning() {
    let d = deploy(
        TestBackend::Sqlite,
        "unhealthy",
        ODOO_18,
        Pipeline::infrastructure(),
        |e| e.config_overrides = serde_json::json!({"testing": {"standin_health": "fail"}}),
    )
    .await;
    let (h, s) = (&d.h, &d.s);
    let dep = h.t.store.get_deployment(s.deployment.id).await.unwrap();
    let lines = h.logs(dep.id).await;
    assert_eq!(
        dep.status,
        DeploymentStatus::Success,
        "{:#?}",
        messages(&lines)
    );
    let steps = step_statuses(&h.t.store.list_steps(dep.id).await.unwrap());
    assert_eq!(steps["health_check"], StepStatus::Warning);
    let warning = lines
        .iter()
        .find(|l| l.log.message.starts_with("Health check failed ("))
        .unwrap_or_else(|| panic!("{:#?}", messages(&lines)));
    assert_eq!(warning.log.level, LogLevel::Warning);
    assert!(warning.log.message.ends_with("), but container is running"));
    let data = &warning.log.data;
    assert_eq!(data["error_code"], "HEALTH_CHECK_FAILED");
    assert_eq!(data["http_status"], 500);
    assert!(!data["container_logs"].as_array().unwrap().is_empty());
    assert!(data["troubleshooting"].as_array().unwrap().len() >= 2);
    assert!(lines.iter().any(|l| {
        l.log
            .message
            .starts_with("Generated odoo.conf with 1 custom overrides (")
    }));
    let env = h.t.store.get_environment(s.environment.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Running);
    drop(d.guard);
    d.h.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_during_creating_database() {
    require_testbed();
    let h = Harness::new(TestBackend::Postgres).await;
    odoo_version(&h, ODOO_18).await;
    let s = h.seed("cancel", TestAuth::Key).await;
    let guard = EnvGuard {
        env_uuid: s.environment.id.to_string(),
    };
    let base = BaseDirGuard::new();
    let worker = h.start_worker(h.engine(Pipeline::infrastructure(), deploy_config(&base)));
    let u = guard.env_uuid.clone();
    h.wait_for_line(s.deployment.id, LIMIT, |l| {
        l.log.message == format!("Creating PostgreSQL container {u}_db...")
    })
    .await;
    h.t.store
        .cancel_deployment(s.deployment.id, s.user.id)
        .await
        .unwrap();
    let dep = h
        .wait_finished(s.deployment.id, Duration::from_secs(30))
        .await;
    worker.stop().await;
    assert_eq!(dep.status, DeploymentStatus::Cancelled);
    let steps = step_statuses(&h.t.store.list_steps(dep.id).await.unwrap());
    assert_eq!(steps["creating_database"], StepStatus::Failed);
    assert_eq!(steps["pulling_image"], StepStatus::Skipped);
    let text = messages(&h.logs(dep.id).await);
    assert!(
        text.iter()
            .any(|m| m.starts_with("Deployment cancelled by Owner cancel")),
        "{text:#?}"
    );
    let env = h.t.store.get_environment(s.environment.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Failed);
    assert!(!sh(&["docker", "inspect", &format!("{u}_odoo")]).ok);
    drop(guard);
    h.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_environments_on_one_server_are_isolated() {
    require_testbed();
    let h = Harness::new(TestBackend::Postgres).await;
    odoo_version(&h, ODOO_18).await;
    let a = h.seed("iso-a", TestAuth::Key).await;
    let b = h.seed("iso-b", TestAuth::Key).await;
    let guards = [
        EnvGuard {
            env_uuid: a.environment.id.to_string(),
        },
        EnvGuard {
            env_uuid: b.environment.id.to_string(),
        },
    ];
    let base = BaseDirGuard::new();
    let worker = h.start_worker(h.engine(Pipeline::infrastructure(), deploy_config(&base)));
    for s in [&a, &b] {
        let dep = h.wait_finished(s.deployment.id, LIMIT).await;
        assert_eq!(
            dep.status,
            DeploymentStatus::Success,
            "{:#?}",
            messages(&h.logs(dep.id).await)
        );
    }
    worker.stop().await;
    let (ua, ub) = (&guards[0].env_uuid, &guards[1].env_uuid);
    assert_ne!(
        inspect(&format!("paasportal_net_{ua}"), "{{.Id}}"),
        inspect(&format!("paasportal_net_{ub}"), "{{.Id}}")
    );
    // Each Odoo reaches its own database through its PgBouncer...
    let psql = |from: &str, host: &str, port: &str| {
        sh(&[
            "docker",
            "exec",
            "-e",
            "PGCONNECT_TIMEOUT=3",
            from,
            "psql",
            "-h",
            host,
            "-p",
            port,
            "-U",
            "odoo",
            "-d",
            "postgres",
            "-At",
            "-c",
            "SELECT 1",
        ])
    };
    let own = sh(&[
        "docker",
        "exec",
        &format!("{ua}_odoo"),
        "sh",
        "-c",
        &format!(
            "PGPASSWORD=\"$(sed -n 's/^db_password = //p' /etc/odoo/odoo.conf)\" PGCONNECT_TIMEOUT=3 psql -h {ua}_pgbouncer -p 6432 -U odoo -d postgres -At -c 'SELECT 1'"
        ),
    ]);
    assert!(own.ok && own.stdout == "1", "{} {}", own.stdout, own.stderr);
    // ...but neither the other's by name nor by address.
    for (from, other) in [(ua, ub), (ub, ua)] {
        let by_name = psql(
            &format!("{from}_odoo"),
            &format!("{other}_pgbouncer"),
            "6432",
        );
        assert!(!by_name.ok);
        assert!(
            by_name.stderr.contains("could not translate host name"),
            "{}",
            by_name.stderr
        );
        let ip = inspect(
            &format!("{other}_db"),
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        );
        let by_ip = psql(&format!("{from}_odoo"), &ip, "5432");
        assert!(!by_ip.ok, "{from} reached {other}'s database at {ip}");
        assert!(!by_ip.stderr.contains("password"), "{}", by_ip.stderr);
    }
    drop(guards);
    h.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn odoo_18_with_a_read_replica_streams_through_its_own_pgbouncer() {
    let d = deploy(
        TestBackend::Postgres,
        "replica",
        ODOO_18,
        Pipeline::infrastructure(),
        |e| e.read_replica = true,
    )
    .await;
    let (h, s) = (&d.h, &d.s);
    let dep = h.t.store.get_deployment(s.deployment.id).await.unwrap();
    let text = messages(&h.logs(dep.id).await);
    assert_eq!(dep.status, DeploymentStatus::Success, "{}", text.join("\n"));
    let u = d.guard.env_uuid.clone();
    let (primary, replica) = (
        format!("postgres-primary-{u}"),
        format!("postgres-replica-{u}"),
    );
    assert!(
        text.iter()
            .any(|m| m == &format!("Creating PostgreSQL container {primary}..."))
    );
    assert!(text.iter().any(|m| m.starts_with(&format!(
        "Read replica {replica} streaming from the primary ("
    ))));
    assert!(text.iter().any(|m| m
        == &format!("PgBouncer {u}_pgbouncer-replica running on port 6433 (transaction mode)")));
    assert!(!sh(&["docker", "inspect", &format!("{u}_db")]).ok);
    for c in [
        &primary,
        &replica,
        &format!("{u}_pgbouncer"),
        &format!("{u}_pgbouncer-replica"),
    ] {
        assert_eq!(inspect(c, "{{.State.Status}}"), "running", "{c}");
    }
    assert_eq!(
        must(&[
            "docker",
            "exec",
            &replica,
            "psql",
            "-U",
            "odoo",
            "-d",
            "postgres",
            "-At",
            "-c",
            "SELECT pg_is_in_recovery()"
        ]),
        "t"
    );
    let conf_path = format!("{}/{u}/odoo.conf", d.base.path());
    let conf = std::fs::read_to_string(conf_path).unwrap();
    assert!(
        conf.contains(&format!("db_replica_host = {u}_pgbouncer-replica\n")),
        "{conf}"
    );
    assert!(conf.contains("db_replica_port = 6433\n"));
    let sealed = h.t.store.get_db_secrets(s.environment.id).await.unwrap();
    assert!(sealed.replication_password_enc.is_some());
    drop(d.guard);
    d.h.close().await;
}
