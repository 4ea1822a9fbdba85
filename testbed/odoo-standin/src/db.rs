//! Database side: connecting (with retries while PostgreSQL starts), creating
//! the database the way Odoo does, and the stand-in's "install base".
//!
//! Only the simple-query protocol is used (no named prepared statements), so
//! everything works through PgBouncer in transaction mode, as psycopg2 does.

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use postgres::{Client, NoTls, SimpleQueryMessage};
use sha2::{Digest, Sha256};

use crate::log;

/// Where and as whom to connect (from odoo.conf `db_*` or the command line).
#[derive(Clone, Debug)]
pub struct DbParams {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
}

impl DbParams {
    fn config(&self, dbname: &str, timeout: Duration) -> postgres::Config {
        let mut c = postgres::Config::new();
        c.host(&self.host)
            .port(self.port)
            .user(&self.user)
            .dbname(dbname)
            .application_name("odoo-standin")
            .connect_timeout(timeout);
        if let Some(p) = &self.password {
            c.password(p);
        }
        c
    }

    pub fn describe(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }

    /// One connection attempt.
    pub fn connect(&self, dbname: &str, timeout: Duration) -> Result<Client, postgres::Error> {
        self.config(dbname, timeout).connect(NoTls)
    }

    /// Connect, retrying transient failures (server starting up, connection
    /// refused, DNS not yet resolvable, PgBouncer's login back-off) until
    /// `wait` has passed. Authentication errors fail at once.
    pub fn connect_retry(&self, dbname: &str, wait: Duration) -> Result<Client, String> {
        let start = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match self.connect(dbname, Duration::from_secs(5)) {
                Ok(c) => return Ok(c),
                Err(e) if is_transient(&e) && start.elapsed() < wait => {
                    log::warn(
                        dbname,
                        "odoo.sql_db",
                        &format!(
                            "Connection to the database failed ({}), retrying in 1s (attempt {attempt}, {:.0}s of {}s)",
                            describe_error(&e),
                            start.elapsed().as_secs_f64(),
                            wait.as_secs()
                        ),
                    );
                    sleep(Duration::from_secs(1));
                }
                Err(e) => {
                    return Err(format!(
                        "Connection to the database {dbname:?} at {} failed after {attempt} attempt(s): {}",
                        self.describe(),
                        describe_error(&e)
                    ));
                }
            }
        }
    }
}

/// The message of a PostgreSQL error (`FATAL: ...`), or the I/O cause.
pub fn describe_error(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

fn is_transient(e: &postgres::Error) -> bool {
    match e.as_db_error() {
        // No SQLSTATE: refused, reset, DNS failure, timeout.
        None => true,
        Some(db) => {
            let code = db.code().code();
            // 57P03 cannot_connect_now ("the database system is starting up"),
            // 08xxx connection exceptions (PgBouncer's "server login has been
            // failing, try again later"), 53300 too_many_connections.
            code == "57P03" || code.starts_with("08") || code == "53300"
        }
    }
}

/// `"name"` with embedded quotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'` with embedded quotes doubled (standard_conforming_strings is on).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Rows of a simple query, as text columns.
pub fn rows(client: &mut Client, sql: &str) -> Result<Vec<Vec<Option<String>>>, postgres::Error> {
    Ok(client
        .simple_query(sql)?
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| r.get(i).map(String::from))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .collect())
}

pub fn database_exists(admin: &mut Client, name: &str) -> Result<bool, postgres::Error> {
    let sql = format!(
        "SELECT 1 FROM pg_database WHERE datname = {}",
        quote_literal(name)
    );
    Ok(!rows(admin, &sql)?.is_empty())
}

/// Create `name` if missing, like Odoo's `_create_empty_database`: connect to
/// the `postgres` database, `CREATE DATABASE .. ENCODING 'unicode' LC_COLLATE 'C'
/// TEMPLATE template0`, then try the pg_trgm (and unaccent) extensions.
/// Returns whether the database was created.
pub fn ensure_database(
    params: &DbParams,
    name: &str,
    template: &str,
    unaccent: bool,
    wait: Duration,
) -> Result<bool, String> {
    let mut admin = params.connect_retry("postgres", wait)?;
    let exists = database_exists(&mut admin, name)
        .map_err(|e| format!("cannot list databases: {}", describe_error(&e)))?;
    if exists {
        return Ok(false);
    }
    let collate = if template == "template0" {
        "LC_COLLATE 'C'"
    } else {
        ""
    };
    let sql = format!(
        "CREATE DATABASE {} ENCODING 'unicode' {collate} TEMPLATE {}",
        quote_ident(name),
        quote_ident(template)
    );
    if let Err(e) = admin.simple_query(&sql) {
        // Another process (the server's own auto-creation) may have won.
        if e.as_db_error().map(|d| d.code().code()) == Some("42P04") {
            return Ok(false);
        }
        return Err(format!(
            "Could not create database {name:?}: {}",
            describe_error(&e)
        ));
    }
    drop(admin);
    log::info(
        name,
        "odoo.service.db",
        &format!("Create database `{name}`."),
    );
    match params.connect_retry(name, wait) {
        Ok(mut c) => {
            let mut sql = String::from("CREATE EXTENSION IF NOT EXISTS pg_trgm;");
            if unaccent {
                sql.push_str(
                    "CREATE EXTENSION IF NOT EXISTS unaccent; ALTER FUNCTION unaccent(text) IMMUTABLE;",
                );
            }
            if let Err(e) = c.batch_execute(&sql) {
                log::warn(
                    name,
                    "odoo.service.db",
                    &format!(
                        "Unable to create PostgreSQL extensions : {}",
                        describe_error(&e)
                    ),
                );
            }
        }
        Err(e) => log::warn(name, "odoo.service.db", &e),
    }
    Ok(true)
}

/// What `-i` installs besides writing the stand-in's tables.
pub struct InitRequest<'a> {
    pub modules: &'a [String],
    pub addons_path: &'a [String],
    /// `Some` replaces the admin password; `None` keeps it (or sets "admin" on
    /// a new database, Odoo's default).
    pub admin_password: Option<&'a str>,
    pub version: &'a str,
    pub web_base_url: &'a str,
}

/// Hash stored in `res_users.password` (Odoo stores pbkdf2-sha512; the
/// stand-in a salted SHA-256 in the same `$scheme$salt$hash` shape).
pub fn hash_password(password: &str) -> String {
    let salt = uuid::Uuid::new_v4().simple().to_string();
    format!("$standin-sha256${salt}${}", sha_hex(&salt, password))
}

pub fn verify_password(stored: &str, password: &str) -> bool {
    match stored.split('$').collect::<Vec<_>>().as_slice() {
        ["", "standin-sha256", salt, hash] => sha_hex(salt, password) == *hash,
        _ => false,
    }
}

fn sha_hex(salt: &str, password: &str) -> String {
    let digest = Sha256::digest(format!("{salt}{password}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Modules found in the addons path: directories holding `__manifest__.py`.
pub fn scan_addons(addons_path: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for dir in addons_path {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().join("__manifest__.py").is_file()
                && let Some(name) = entry.file_name().to_str()
            {
                found.push(name.to_string());
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Install the requested modules: the stand-in's schema (ir_module_module,
/// res_users, ir_config_parameter) in one transaction, serialised by an
/// advisory transaction lock (works through PgBouncer in transaction mode).
pub fn init_modules(client: &mut Client, db: &str, req: &InitRequest) -> Result<(), String> {
    let available = scan_addons(req.addons_path);
    let mut to_install = vec!["base".to_string()];
    let mut invalid = Vec::new();
    for m in req.modules {
        if m == "base" || m == "all" {
            continue;
        }
        if available.contains(m) {
            to_install.push(m.clone());
        } else {
            invalid.push(m.clone());
        }
    }
    if !invalid.is_empty() {
        log::warn(
            db,
            "odoo.modules.loading",
            &format!("invalid module names, ignored: {}", invalid.join(", ")),
        );
    }
    let module_version = format!("{}.1.3", req.version);
    let mut sql = String::from(
        "BEGIN;
        SELECT pg_advisory_xact_lock(8069);
        CREATE TABLE IF NOT EXISTS ir_module_module (
            id serial PRIMARY KEY, name varchar NOT NULL UNIQUE, state varchar NOT NULL,
            latest_version varchar, write_date timestamp DEFAULT (now() AT TIME ZONE 'UTC'));
        CREATE TABLE IF NOT EXISTS res_users (
            id serial PRIMARY KEY, login varchar NOT NULL UNIQUE, password varchar,
            active boolean NOT NULL DEFAULT true,
            create_date timestamp DEFAULT (now() AT TIME ZONE 'UTC'));
        CREATE TABLE IF NOT EXISTS ir_config_parameter (
            id serial PRIMARY KEY, key varchar NOT NULL UNIQUE, value text NOT NULL);
        ",
    );
    for m in &available {
        sql.push_str(&format!(
            "INSERT INTO ir_module_module (name, state) VALUES ({}, 'uninstalled') ON CONFLICT (name) DO NOTHING;\n",
            quote_literal(m)
        ));
    }
    for m in &to_install {
        sql.push_str(&format!(
            "INSERT INTO ir_module_module (name, state, latest_version) VALUES ({}, 'installed', {v})
             ON CONFLICT (name) DO UPDATE SET state = 'installed', latest_version = {v},
             write_date = now() AT TIME ZONE 'UTC';\n",
            quote_literal(m),
            v = quote_literal(&module_version)
        ));
    }
    let hash = quote_literal(&hash_password(req.admin_password.unwrap_or("admin")));
    sql.push_str(&format!(
        "INSERT INTO res_users (id, login, password, active) VALUES (1, '__system__', NULL, false)
           ON CONFLICT DO NOTHING;
         INSERT INTO res_users (id, login, password, active) VALUES (2, 'admin', {hash}, true)
           ON CONFLICT (login) DO {};
         SELECT setval(pg_get_serial_sequence('res_users', 'id'), GREATEST(2, (SELECT max(id) FROM res_users)));
         INSERT INTO ir_config_parameter (key, value) VALUES
           ('database.uuid', {uuid}),
           ('database.create_date', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')),
           ('web.base.url', {url})
           ON CONFLICT (key) DO NOTHING;
         COMMIT;",
        if req.admin_password.is_some() {
            "UPDATE SET password = EXCLUDED.password"
        } else {
            "NOTHING"
        },
        uuid = quote_literal(&uuid::Uuid::new_v4().to_string()),
        url = quote_literal(req.web_base_url),
    ));
    client.batch_execute(&sql).map_err(|e| {
        let _ = client.batch_execute("ROLLBACK");
        format!("module installation failed: {}", describe_error(&e))
    })?;
    for m in &to_install {
        log::info(
            db,
            "odoo.modules.loading",
            &format!("module {m}: installed ({module_version})"),
        );
    }
    Ok(())
}

/// Whether `db` holds an installed `base` module.
pub fn is_initialised(client: &mut Client) -> Result<bool, postgres::Error> {
    let present = rows(client, "SELECT to_regclass('ir_module_module') IS NOT NULL")?;
    if present.first().and_then(|r| r[0].as_deref()) != Some("t") {
        return Ok(false);
    }
    let r = rows(
        client,
        "SELECT 1 FROM ir_module_module WHERE name = 'base' AND state = 'installed'",
    )?;
    Ok(!r.is_empty())
}

/// Fail early, as Odoo does when it cannot write its filestore.
pub fn check_data_dir(data_dir: &Path, db: &str) -> Result<(), String> {
    let filestore = data_dir.join("filestore").join(db);
    std::fs::create_dir_all(&filestore)
        .and_then(|_| std::fs::create_dir_all(data_dir.join("sessions")))
        .map_err(|e| format!("data_dir {} is not writable: {e}", data_dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_ident("3f4a5e2b-9c1d-4e8a"), "\"3f4a5e2b-9c1d-4e8a\"");
    }

    #[test]
    fn password_round_trip() {
        let h = hash_password("s3cret");
        assert!(h.starts_with("$standin-sha256$"));
        assert!(verify_password(&h, "s3cret"));
        assert!(!verify_password(&h, "wrong"));
        assert!(!verify_password("plain", "plain"));
    }

    #[test]
    fn scan_finds_manifests() {
        let dir = std::env::temp_dir().join(format!("standin-addons-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("my_mod")).unwrap();
        std::fs::create_dir_all(dir.join("not_a_mod")).unwrap();
        std::fs::write(dir.join("my_mod/__manifest__.py"), "{}").unwrap();
        let found = scan_addons(&[dir.to_string_lossy().into_owned(), "/nonexistent".into()]);
        assert_eq!(found, vec!["my_mod"]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
