//! The restore on the server, as argument vectors in order. Two steps read their
//! standard input from the checked backup (the dump, the filestore tarball), which the
//! stage streams from the control plane over the same SSH channel.
//!
//! The Odoo container is stopped first: at start-up it creates and initialises the
//! database named in odoo.conf (as real Odoo does), which the restore replaces.

use uuid::Uuid;

use crate::docker_args::{Argv, argv, container_start, container_stop};
use crate::naming::{DB_USER, EnvNames, ODOO_GID, ODOO_UID, container};

use super::progress::RestorePhase;

/// Which checked file a step reads on its standard input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdinSource {
    Dump,
    Filestore,
}

/// One command of the restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreStep {
    pub phase: RestorePhase,
    /// What the step does, for debug logs.
    pub what: &'static str,
    pub argv: Argv,
    pub stdin: Option<StdinSource>,
}

/// What the restore needs.
#[derive(Debug, Clone)]
pub struct RestoreInput<'a> {
    pub names: &'a EnvNames,
    /// The image the Odoo container runs: its `tar`, `rm`, `mkdir` unpack the filestore.
    pub odoo_image: &'a str,
    /// The environment's public host name, for `web.base.url`.
    pub hostname: &'a str,
    /// From the filestore check: 1 when the tarball wraps everything in `filestore/`.
    pub filestore_strip: u32,
    /// The restored database's new `database.uuid`.
    pub new_database_uuid: Uuid,
}

fn step(
    phase: RestorePhase,
    what: &'static str,
    argv: Argv,
    stdin: Option<StdinSource>,
) -> RestoreStep {
    RestoreStep {
        phase,
        what,
        argv,
        stdin,
    }
}

/// A throwaway container of the Odoo image, as the Odoo user, with the data directory.
fn as_odoo_user(input: &RestoreInput<'_>, interactive: bool, entrypoint: &str) -> Argv {
    let mut a = argv(["docker", "run", "--rm"]);
    if interactive {
        a.push("-i".to_owned());
    }
    a.extend(argv([
        "--user".to_owned(),
        format!("{ODOO_UID}:{ODOO_GID}"),
        "--network".to_owned(),
        "none".to_owned(),
        "--entrypoint".to_owned(),
        entrypoint.to_owned(),
        "--volume".to_owned(),
        format!("{}:{}", input.names.data_dir(), container::DATA),
        input.odoo_image.to_owned(),
    ]));
    a
}

/// The restore's commands, in order.
pub fn restore_steps(input: &RestoreInput<'_>) -> Vec<RestoreStep> {
    let n = input.names;
    let db = n.db_name();
    let db_container = n.db_container();
    let filestore = format!("{}/filestore/{db}", container::DATA);
    let exec_db = |interactive: bool, cmd: &[&str]| {
        let mut a = argv(["docker", "exec"]);
        if interactive {
            a.push("-i".to_owned());
        }
        a.push(db_container.clone());
        a.extend(cmd.iter().map(|s| (*s).to_owned()));
        a
    };
    let mut unpack = as_odoo_user(input, true, "tar");
    unpack.extend(argv([
        "-xzf",
        "-",
        "-C",
        &filestore,
        "--no-same-permissions",
    ]));
    if input.filestore_strip > 0 {
        unpack.push("--strip-components".to_owned());
        unpack.push(input.filestore_strip.to_string());
    }
    let mut clear = as_odoo_user(input, false, "rm");
    clear.extend(argv(["-rf", "--", &filestore]));
    let mut mkdir = as_odoo_user(input, false, "mkdir");
    mkdir.extend(argv(["-p", "--", &filestore]));
    use RestorePhase::*;
    vec![
        step(
            RestoringDatabase,
            "stop Odoo",
            container_stop(&n.odoo_container(), 30),
            None,
        ),
        step(
            RestoringDatabase,
            "drop the database Odoo created",
            exec_db(
                false,
                &["dropdb", "-U", DB_USER, "--if-exists", "--force", &db],
            ),
            None,
        ),
        step(
            RestoringDatabase,
            "create an empty database",
            exec_db(
                false,
                &[
                    "createdb",
                    "-U",
                    DB_USER,
                    "-E",
                    "UTF8",
                    "-T",
                    "template0",
                    "--lc-collate=C",
                    &db,
                ],
            ),
            None,
        ),
        step(
            RestoringDatabase,
            "restore dump.sql",
            exec_db(
                true,
                &[
                    "psql",
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "--single-transaction",
                    "-U",
                    DB_USER,
                    "-d",
                    &db,
                    "-f",
                    "-",
                ],
            ),
            Some(StdinSource::Dump),
        ),
        step(RestoringFilestore, "clear the filestore", clear, None),
        step(RestoringFilestore, "create the filestore", mkdir, None),
        step(
            RestoringFilestore,
            "unpack filestore.tar.gz",
            unpack,
            Some(StdinSource::Filestore),
        ),
        step(
            Sanitizing,
            "sanitize ir_config_parameter and mail servers",
            exec_db(
                false,
                &[
                    "psql",
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-U",
                    DB_USER,
                    "-d",
                    &db,
                    "-c",
                    &sanitize_sql(input),
                ],
            ),
            None,
        ),
        step(
            Sanitizing,
            "start Odoo",
            container_start(&n.odoo_container()),
            None,
        ),
    ]
}

/// A SQL string literal: `'…'` with `'` doubled (standard_conforming_strings is on).
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The sanitisation: a new `database.uuid`, `web.base.url` set to the environment's
/// URL (and frozen), outgoing mail servers disabled — in one transaction.
pub fn sanitize_sql(input: &RestoreInput<'_>) -> String {
    let set = |key: &str, value: &str| {
        let (k, v) = (literal(key), literal(value));
        format!(
            "UPDATE ir_config_parameter SET value = {v} WHERE key = {k};\n\
             INSERT INTO ir_config_parameter (key, value) SELECT {k}, {v} \
             WHERE NOT EXISTS (SELECT 1 FROM ir_config_parameter WHERE key = {k});\n"
        )
    };
    let mut sql = String::from("BEGIN;\n");
    sql.push_str(&set("database.uuid", &input.new_database_uuid.to_string()));
    sql.push_str(&set("web.base.url", &format!("https://{}", input.hostname)));
    sql.push_str(&set("web.base.url.freeze", "True"));
    sql.push_str(
        "DO $$ BEGIN IF to_regclass('ir_mail_server') IS NOT NULL THEN \
         UPDATE ir_mail_server SET active = false; END IF; END $$;\n",
    );
    sql.push_str("COMMIT;\n");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::BaseDir;

    #[test]
    fn restore_plan() {
        let n = EnvNames::new(Uuid::nil(), BaseDir::default(), false);
        let input = RestoreInput {
            names: &n,
            odoo_image: "odoo:17.0",
            hostname: "staging-myproject.oecsh.com",
            filestore_strip: 1,
            new_database_uuid: Uuid::nil(),
        };
        let steps = restore_steps(&input);
        let u = n.env_uuid();
        assert_eq!(steps.len(), 9);
        assert_eq!(steps[0].argv[..2], ["docker", "stop"]);
        assert!(steps[1].argv.contains(&"--force".to_owned()));
        let psql = &steps[3];
        assert_eq!(psql.stdin, Some(StdinSource::Dump));
        assert_eq!(psql.argv[..4], ["docker", "exec", "-i", &format!("{u}_db")]);
        let unpack = &steps[6];
        assert_eq!(unpack.stdin, Some(StdinSource::Filestore));
        assert!(
            unpack
                .argv
                .contains(&format!("/opt/paasportal/{u}/data:/var/lib/odoo"))
        );
        assert!(
            unpack
                .argv
                .contains(&format!("/var/lib/odoo/filestore/{u}"))
        );
        assert!(
            unpack
                .argv
                .ends_with(&["--strip-components".into(), "1".into()])
        );
        assert!(unpack.argv.contains(&"100:101".to_owned()));
        assert_eq!(steps[8].argv[..2], ["docker", "start"]);
        let phases: Vec<_> = steps.iter().map(|s| s.phase).collect();
        assert!(phases.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn sanitisation_sql() {
        let n = EnvNames::new(Uuid::nil(), BaseDir::default(), false);
        let id = Uuid::new_v4();
        let sql = sanitize_sql(&RestoreInput {
            names: &n,
            odoo_image: "odoo:17.0",
            hostname: "o'brien.example.com",
            filestore_strip: 0,
            new_database_uuid: id,
        });
        assert!(sql.starts_with("BEGIN;\n") && sql.ends_with("COMMIT;\n"));
        assert!(sql.contains(&format!("SET value = '{id}' WHERE key = 'database.uuid'")));
        assert!(sql.contains("'https://o''brien.example.com'"));
        assert!(sql.contains("UPDATE ir_mail_server SET active = false"));
    }
}
