//! The infrastructure argument vectors against the real Docker engine and the
//! testbed images: the database pair with a streaming replica and PGTune in force,
//! the spec's Odoo container with its Traefik labels and health check, dependency
//! installation as root and its cache as a committed image, a failing health check.
//!
//! Needs Docker and the testbed images (`testbed/build-images`).

use paasportal_core::ResourceSplit;
use paasportal_odoo::config_file::{ConfigInput, generate};
use paasportal_odoo::dependencies::{
    MergedDeps, apt_install, apt_update, commit_image, pip_install,
};
use paasportal_odoo::diagnostics::last_lines;
use paasportal_odoo::docker_args::database::{
    DbImages, DbRun, REPLICA_STATUS_QUERY, pg_isready, pgbouncer_primary, pgbouncer_replica,
    postgres_primary, postgres_replica, psql, tuned_settings_query,
};
use paasportal_odoo::docker_args::image;
use paasportal_odoo::docker_args::odoo::{
    OdooRun, health_check, parse_health_status, prepare_dirs, run,
};
use paasportal_odoo::docker_args::traefik::{inspect_labels, label_differences, labels};
use paasportal_odoo::docker_args::{container_remove, container_status, network_create};
use paasportal_odoo::naming::EnvNames;
use paasportal_odoo::overrides::Overrides;
use paasportal_odoo::pgtune::PgTune;

mod common;
use common::{
    ODOO_18, PGBOUNCER_IMAGE, POSTGRES_IMAGE, TestEnv, must, require_images, run_argv, wait_until,
};

fn images() -> DbImages {
    DbImages {
        postgres: POSTGRES_IMAGE.into(),
        pgbouncer: PGBOUNCER_IMAGE.into(),
    }
}

fn write_conf(n: &EnvNames, split: ResourceSplit, password: &str, overrides: serde_json::Value) {
    let overrides = Overrides::parse(&overrides).unwrap();
    let conf = generate(&ConfigInput {
        names: n,
        odoo_major: 18,
        env_ram_mb: 2048,
        resources: split,
        db_password: password,
        repos: &[],
        overrides: &overrides,
    })
    .unwrap();
    std::fs::write(n.conf_path(), conf.text).unwrap();
}

#[test]
fn database_pair_streams_and_runs_tuned() {
    require_images();
    let env = TestEnv::new(true);
    let n = &env.names;
    let split = ResourceSplit::of(2.0, 2048);
    let imgs = images();
    let db = DbRun {
        names: n,
        images: &imgs,
        resources: split,
        env_ram_mb: 2048,
        db_password: "primary-password-1",
        replication_password: Some("replication-password-1"),
    };
    must(&network_create(n));
    must(&postgres_primary(&db));
    wait_until("the primary", 60, || {
        run_argv(&pg_isready(&n.db_container()), None).ok
    });
    must(&postgres_replica(&db));
    must(&pgbouncer_primary(&db));
    must(&pgbouncer_replica(&db));
    wait_until("the replica", 90, || {
        run_argv(
            &psql(&n.replica_container(), "postgres", REPLICA_STATUS_QUERY),
            None,
        )
        .stdout
        .trim()
            == "t"
    });

    let tune = PgTune::for_container(split.db_ram_mb, split.db_cpus, true);
    let shown = must(&psql(
        &n.db_container(),
        "postgres",
        &tuned_settings_query(),
    ));
    for (k, v) in tune.settings() {
        assert!(
            shown.lines().any(|l| l == format!("{k}={v}")),
            "{k}={v} not in force:\n{shown}"
        );
    }

    must(&psql(
        &n.db_container(),
        "postgres",
        "CREATE TABLE replicated (x int); INSERT INTO replicated VALUES (42)",
    ));
    wait_until("the row on the replica", 30, || {
        run_argv(
            &psql(
                &n.replica_container(),
                "postgres",
                "SELECT x FROM replicated",
            ),
            None,
        )
        .stdout
        .trim()
            == "42"
    });
    let write = run_argv(
        &psql(
            &n.replica_container(),
            "postgres",
            "INSERT INTO replicated VALUES (1)",
        ),
        None,
    );
    assert!(
        !write.ok && write.stderr.contains("read-only"),
        "{}",
        write.stderr
    );
    assert_eq!(
        must(&container_status(&n.pgbouncer_replica())).trim(),
        "running"
    );
}

#[test]
fn odoo_container_labels_health_and_dependencies() {
    require_images();
    let env = TestEnv::new(false);
    let n = &env.names;
    let split = ResourceSplit::of(2.0, 2048);
    let imgs = images();
    let password = "odoo-db-password-2";
    let db = DbRun {
        names: n,
        images: &imgs,
        resources: split,
        env_ram_mb: 2048,
        db_password: password,
        replication_password: None,
    };
    let host = "odoo-test.apps.paasportal.test";
    must(&network_create(n));
    must(&postgres_primary(&db));
    wait_until("PostgreSQL", 60, || {
        run_argv(&pg_isready(&n.db_container()), None).ok
    });
    must(&pgbouncer_primary(&db));
    for cmd in prepare_dirs(n, ODOO_18) {
        must(&cmd);
    }
    write_conf(n, split, password, serde_json::Value::Null);
    let odoo = OdooRun {
        names: n,
        image: ODOO_18,
        hostname: host,
        resources: split,
    };
    must(&run(&odoo));

    // Labels, checked as the configuring_traefik stage checks them.
    let diff = label_differences(
        &labels(n, host),
        &must(&inspect_labels(&n.odoo_container())),
    )
    .unwrap();
    assert!(diff.is_empty(), "{diff:?}");

    let health = health_check(n, 5);
    wait_until("a healthy Odoo", 90, || {
        parse_health_status(&run_argv(&health, None).stdout) == Some(200)
    });

    // Dependencies: installed as root, failures carry the installer's own words.
    let apt = vec!["libldap2-dev".to_owned(), "libsasl2-dev".to_owned()];
    let pip = vec!["python-ldap==3.4.3".to_owned()];
    let before_update = run_argv(&apt_install(n, &apt), None);
    assert!(
        !before_update.ok,
        "apt-get install must need apt-get update first"
    );
    must(&apt_update(n));
    must(&apt_install(n, &apt));
    must(&pip_install(n, &pip));
    let broken = run_argv(
        &pip_install(n, &["does-not-exist-pkg==1.0".to_owned()]),
        None,
    );
    assert!(!broken.ok);
    let tail = last_lines(&format!("{}{}", broken.stdout, broken.stderr), 5);
    assert!(
        tail.iter().any(|l| l.contains("does-not-exist-pkg")),
        "{tail:?}"
    );

    // The cache: the container committed under the dependency hash; a new container
    // from that image has the packages without installing.
    let base_id = must(&image::inspect(ODOO_18)).trim().to_owned();
    let merged = MergedDeps {
        apt: apt.clone(),
        pip: pip.clone(),
        ..Default::default()
    };
    let hash = merged.content_hash(&base_id);
    must(&commit_image(n, &hash));
    assert!(run_argv(&image::inspect(&n.deps_image(&hash)), None).ok);
    must(&container_remove(&n.odoo_container()));
    must(&run(&OdooRun {
        image: &n.deps_image(&hash),
        ..odoo.clone()
    }));
    let installed = must(&[
        "docker".into(),
        "exec".into(),
        n.odoo_container(),
        "cat".into(),
        "/var/lib/standin/installed-pip.txt".into(),
    ]);
    assert!(installed.contains("python-ldap"), "{installed}");
    wait_until("Odoo from the dependency image", 90, || {
        parse_health_status(&run_argv(&health, None).stdout) == Some(200)
    });

    // A failing health check is seen as such (the stand-in's test hook).
    write_conf(
        n,
        split,
        password,
        serde_json::json!({"standin_health": "fail"}),
    );
    must(&[
        "docker".into(),
        "restart".into(),
        "--time".into(),
        "1".into(),
        n.odoo_container(),
    ]);
    wait_until("the failing health check", 60, || {
        parse_health_status(&run_argv(&health, None).stdout) == Some(500)
    });
}
