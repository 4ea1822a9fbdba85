//! The database containers: PostgreSQL with PGTune and 30 % of the environment,
//! PgBouncer in transaction mode, and the optional streaming read replica pair.
//!
//! Replication uses the testbed PostgreSQL image's variables
//! (`POSTGRES_REPLICATION_USER`/`_PASSWORD` on both, `POSTGRES_REPLICA_OF` on the
//! replica); the configured PostgreSQL image must understand them.

use paasportal_core::ResourceSplit;

use super::{Argv, argv, cpus, env_label, log_rotation};
use crate::naming::{DB_USER, EnvNames, container};
use crate::pgtune::{PgBouncerSettings, PgTune};

/// The role streaming replication connects as.
pub const REPLICATION_USER: &str = "replicator";
/// How often readiness is polled before the stage gives up (the spec's "max 30 retries").
pub const READY_RETRIES: u32 = 30;
/// Memory cap for each PgBouncer container.
pub const PGBOUNCER_MEMORY: &str = "64m";

/// The images the database containers run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbImages {
    /// e.g. `postgres:15` or `paasportal/postgres:15`.
    pub postgres: String,
    /// e.g. `pgbouncer/pgbouncer` or `paasportal/pgbouncer:latest`.
    pub pgbouncer: String,
}

/// What the database containers need.
#[derive(Debug, Clone)]
pub struct DbRun<'a> {
    pub names: &'a EnvNames,
    pub images: &'a DbImages,
    pub resources: ResourceSplit,
    /// The environment's total memory (PgBouncer's client limit derives from it).
    pub env_ram_mb: i64,
    /// The password of the `odoo` role (a secret).
    pub db_password: &'a str,
    /// The replication role's password (a secret), when the environment has a replica.
    pub replication_password: Option<&'a str>,
}

fn common(run: &DbRun<'_>, name: &str) -> Argv {
    let mut a = argv([
        "docker",
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        &run.names.network(),
        "--restart",
        "unless-stopped",
    ]);
    a.extend(log_rotation());
    a.extend(env_label(run.names));
    a
}

fn postgres(run: &DbRun<'_>, name: &str, volume: &str, replica_of: Option<&str>) -> Argv {
    let mut a = common(run, name);
    a.extend(argv([
        "--memory".to_owned(),
        format!("{}m", run.resources.db_ram_mb),
        "--cpus".to_owned(),
        cpus(run.resources.db_cpus),
        "--shm-size".to_owned(),
        "256m".to_owned(),
        "--volume".to_owned(),
        format!("{volume}:{}", container::PGDATA),
        "--env".to_owned(),
        format!("POSTGRES_USER={DB_USER}"),
        "--env".to_owned(),
        format!("POSTGRES_PASSWORD={}", run.db_password),
        "--env".to_owned(),
        "POSTGRES_DB=postgres".to_owned(),
    ]));
    if let Some(pw) = run.replication_password {
        a.extend(argv([
            "--env".to_owned(),
            format!("POSTGRES_REPLICATION_USER={REPLICATION_USER}"),
            "--env".to_owned(),
            format!("POSTGRES_REPLICATION_PASSWORD={pw}"),
        ]));
    }
    if let Some(primary) = replica_of {
        a.extend(argv([
            "--env".to_owned(),
            format!("POSTGRES_REPLICA_OF={primary}:5432"),
        ]));
    }
    a.push(run.images.postgres.clone());
    let tune = PgTune::for_container(
        run.resources.db_ram_mb,
        run.resources.db_cpus,
        run.replication_password.is_some(),
    );
    a.extend(tune.args());
    a
}

/// `docker run` for the primary PostgreSQL: `{env_uuid}_db`, or `postgres-primary-…`
/// with a replica; 30 % of CPU and RAM, the data volume, PGTune as `-c` arguments.
pub fn postgres_primary(run: &DbRun<'_>) -> Argv {
    let n = run.names;
    postgres(run, &n.db_container(), &n.pg_volume(), None)
}

/// `docker run` for the streaming read replica `postgres-replica-{env_uuid}`, same size
/// as the primary, cloning it with `pg_basebackup` on first start.
pub fn postgres_replica(run: &DbRun<'_>) -> Argv {
    let n = run.names;
    postgres(
        run,
        &n.replica_container(),
        &n.replica_volume(),
        Some(&n.db_container()),
    )
}

fn pgbouncer(run: &DbRun<'_>, name: &str, upstream: &str, replica: bool) -> Argv {
    let s = PgBouncerSettings::for_environment(run.env_ram_mb, replica);
    let mut a = common(run, name);
    a.extend(argv([
        "--memory".to_owned(),
        PGBOUNCER_MEMORY.to_owned(),
        "--env".to_owned(),
        format!("DATABASES_HOST={upstream}"),
        "--env".to_owned(),
        "DATABASES_PORT=5432".to_owned(),
        "--env".to_owned(),
        format!("DATABASES_USER={DB_USER}"),
        "--env".to_owned(),
        format!("DATABASES_PASSWORD={}", run.db_password),
        "--env".to_owned(),
        format!("PGBOUNCER_LISTEN_PORT={}", s.listen_port),
        "--env".to_owned(),
        format!("PGBOUNCER_POOL_MODE={}", s.pool_mode),
        "--env".to_owned(),
        format!("PGBOUNCER_MAX_CLIENT_CONN={}", s.max_client_conn),
        "--env".to_owned(),
        format!("PGBOUNCER_DEFAULT_POOL_SIZE={}", s.default_pool_size),
        run.images.pgbouncer.clone(),
    ]));
    a
}

/// `docker run` for `{env_uuid}_pgbouncer`: transaction pooling on 6432 in front of the primary.
pub fn pgbouncer_primary(run: &DbRun<'_>) -> Argv {
    let n = run.names;
    pgbouncer(run, &n.pgbouncer(), &n.db_container(), false)
}

/// `docker run` for `{env_uuid}_pgbouncer-replica`: transaction pooling on 6433 in front of the replica.
pub fn pgbouncer_replica(run: &DbRun<'_>) -> Argv {
    let n = run.names;
    pgbouncer(run, &n.pgbouncer_replica(), &n.replica_container(), true)
}

/// `docker exec CONTAINER pg_isready -h 127.0.0.1 …`: exit 0 once PostgreSQL accepts
/// TCP connections (the image's init phase listens on the Unix socket only).
pub fn pg_isready(container: &str) -> Argv {
    argv([
        "docker",
        "exec",
        container,
        "pg_isready",
        "-h",
        "127.0.0.1",
        "-U",
        DB_USER,
        "-d",
        "postgres",
    ])
}

/// `docker exec CONTAINER psql … -c SQL` as the `odoo` role on database `db`; prints
/// unaligned tuples only, so the output is the bare values.
pub fn psql(container: &str, db: &str, sql: &str) -> Argv {
    argv([
        "docker",
        "exec",
        container,
        "psql",
        "-X",
        "-v",
        "ON_ERROR_STOP=1",
        "-U",
        DB_USER,
        "-d",
        db,
        "-At",
        "-c",
        sql,
    ])
}

/// The query that shows the PGTune settings in force: one `name=value` per line.
pub fn tuned_settings_query() -> String {
    let names: Vec<String> = PgTune::for_container(1024, 1.0, true)
        .settings()
        .iter()
        .map(|(k, _)| format!("'{k}'"))
        .collect();
    format!(
        "SELECT name || '=' || current_setting(name) FROM pg_settings WHERE name IN ({}) ORDER BY name",
        names.join(", ")
    )
}

/// The query a replica answers `t` to while it is a streaming hot standby.
pub const REPLICA_STATUS_QUERY: &str = "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::BaseDir;

    fn run_for<'a>(n: &'a EnvNames, images: &'a DbImages, repl: Option<&'a str>) -> DbRun<'a> {
        DbRun {
            names: n,
            images,
            resources: ResourceSplit::of(2.0, 2048),
            env_ram_mb: 2048,
            db_password: "s3cret",
            replication_password: repl,
        }
    }

    fn images() -> DbImages {
        DbImages {
            postgres: "postgres:15".into(),
            pgbouncer: "pgbouncer/pgbouncer".into(),
        }
    }

    fn pair(a: &[String], flag: &str, value: &str) -> bool {
        a.windows(2).any(|w| w[0] == flag && w[1] == value)
    }

    #[test]
    fn primary_without_replica() {
        let n = EnvNames::new(uuid::Uuid::nil(), BaseDir::default(), false);
        let imgs = images();
        let a = postgres_primary(&run_for(&n, &imgs, None));
        let u = n.env_uuid();
        assert_eq!(
            &a[..5],
            ["docker", "run", "--detach", "--name", &format!("{u}_db")]
        );
        assert!(pair(&a, "--network", &format!("paasportal_net_{u}")));
        assert!(pair(&a, "--restart", "unless-stopped"));
        assert!(pair(&a, "--memory", "614m"));
        assert!(pair(&a, "--cpus", "0.6"));
        assert!(pair(
            &a,
            "--volume",
            &format!("paasportal_pgdata_{u}:/var/lib/postgresql/data")
        ));
        assert!(pair(&a, "--env", "POSTGRES_USER=odoo"));
        assert!(pair(&a, "--env", "POSTGRES_PASSWORD=s3cret"));
        let img = a.iter().position(|x| x == "postgres:15").unwrap();
        assert!(pair(&a[img..], "-c", "shared_buffers=157184kB"));
        assert!(a[img + 1..].chunks(2).all(|p| p[0] == "-c"));
        assert!(!a.iter().any(|x| x.contains("REPLICATION")));
    }

    #[test]
    fn replica_pair() {
        let n = EnvNames::new(uuid::Uuid::nil(), BaseDir::default(), true);
        let imgs = images();
        let run = run_for(&n, &imgs, Some("r3pl"));
        let u = n.env_uuid();
        let p = postgres_primary(&run);
        assert_eq!(p[4], format!("postgres-primary-{u}"));
        assert!(pair(&p, "--env", "POSTGRES_REPLICATION_USER=replicator"));
        assert!(pair(&p, "--env", "POSTGRES_REPLICATION_PASSWORD=r3pl"));
        assert!(pair(&p, "-c", "wal_level=replica"));
        let r = postgres_replica(&run);
        assert_eq!(r[4], format!("postgres-replica-{u}"));
        assert!(pair(
            &r,
            "--env",
            &format!("POSTGRES_REPLICA_OF=postgres-primary-{u}:5432")
        ));
        assert!(pair(
            &r,
            "--volume",
            &format!("paasportal_pgdata_{u}_replica:/var/lib/postgresql/data")
        ));
        let b = pgbouncer_replica(&run);
        assert_eq!(b[4], format!("{u}_pgbouncer-replica"));
        assert!(pair(
            &b,
            "--env",
            &format!("DATABASES_HOST=postgres-replica-{u}")
        ));
        assert!(pair(&b, "--env", "PGBOUNCER_LISTEN_PORT=6433"));
    }

    #[test]
    fn pgbouncer_in_transaction_mode() {
        let n = EnvNames::new(uuid::Uuid::nil(), BaseDir::default(), false);
        let imgs = images();
        let b = pgbouncer_primary(&run_for(&n, &imgs, None));
        let u = n.env_uuid();
        assert_eq!(b[4], format!("{u}_pgbouncer"));
        assert!(pair(&b, "--env", &format!("DATABASES_HOST={u}_db")));
        assert!(pair(&b, "--env", "PGBOUNCER_POOL_MODE=transaction"));
        assert!(pair(&b, "--env", "PGBOUNCER_LISTEN_PORT=6432"));
        assert!(pair(&b, "--env", "PGBOUNCER_MAX_CLIENT_CONN=100"));
        assert_eq!(b.last().unwrap(), "pgbouncer/pgbouncer");
        assert!(!b.iter().any(|x| x.starts_with("DATABASES_DBNAME")));
    }

    #[test]
    fn probes() {
        assert_eq!(
            pg_isready("c"),
            [
                "docker",
                "exec",
                "c",
                "pg_isready",
                "-h",
                "127.0.0.1",
                "-U",
                "odoo",
                "-d",
                "postgres"
            ]
        );
        let q = tuned_settings_query();
        assert!(q.contains("'shared_buffers'") && q.contains("'wal_level'"));
        assert_eq!(psql("c", "d", "SELECT 1").last().unwrap(), "SELECT 1");
    }
}
