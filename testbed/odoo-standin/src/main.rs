//! odoo-standin: a test double for the official Odoo image, which cannot be
//! fetched on machines without a registry. One binary, several names:
//!
//! - `odoo` reads odoo.conf (`-c`, `$ODOO_RC`), creates the configured
//!   database through PgBouncer if it is missing (as Odoo's server does),
//!   installs the requested modules (`-i base`: a few real Odoo tables and
//!   rows), and unless `--stop-after-init` serves HTTP on `http_port` (8069).
//! - `apt-get`/`apt` and `pip3`/`pip` validate arguments and record package
//!   names (see `pkg`).
//!
//! `odoo-standin <name> args...` runs the named personality directly.

mod config;
mod db;
mod http;
mod log;
mod pkg;

use std::path::Path;
use std::time::Duration;

use config::{Action, Config};
use db::{DbParams, InitRequest};

/// Exit at once on SIGTERM/SIGINT (`docker stop`), as Odoo's server does;
/// only async-signal-safe calls here.
extern "C" fn on_stop_signal(_: libc::c_int) {
    const MSG: &[u8] = b"odoo-standin: signal received, shutting down\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe.
    unsafe {
        libc::write(1, MSG.as_ptr().cast(), MSG.len());
        libc::_exit(0);
    }
}

fn install_signal_handlers() {
    let handler = on_stop_signal as extern "C" fn(libc::c_int);
    // SAFETY: the handler only calls async-signal-safe functions.
    unsafe {
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
    }
}

fn main() {
    install_signal_handlers();
    let mut args: Vec<String> = std::env::args().collect();
    let argv0 = if args.is_empty() {
        String::from("odoo")
    } else {
        args.remove(0)
    };
    let mut prog = Path::new(&argv0)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("odoo")
        .to_string();
    if prog == "odoo-standin"
        && let Some(first) = args.first()
        && matches!(first.as_str(), "odoo" | "apt-get" | "apt" | "pip3" | "pip")
    {
        prog = args.remove(0);
    }
    let code = match prog.as_str() {
        "apt-get" | "apt" => pkg::apt_get(&args),
        "pip3" | "pip" => pkg::pip(&args),
        _ => odoo(&args),
    };
    std::process::exit(code);
}

/// The Odoo series this image stands in for (`ODOO_VERSION`, set by the image).
fn version() -> String {
    std::env::var("ODOO_VERSION").unwrap_or_else(|_| "18.0".into())
}

fn odoo(args: &[String]) -> i32 {
    let cfg = match Config::load(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("odoo: error: {e}");
            return 2;
        }
    };
    match cfg.action {
        Action::Version => {
            println!("Odoo Server {}", version());
            return 0;
        }
        Action::Help => {
            print!("{}", config::HELP);
            return 0;
        }
        Action::Run => {}
    }
    if let Some(f) = cfg.get("logfile")
        && let Err(e) = log::set_logfile(f)
    {
        eprintln!("ERROR: cannot open logfile {f}: {e}");
        return 1;
    }
    match run(&cfg) {
        Ok(()) => 0,
        Err(e) => {
            log::error(cfg.get_or("db_name", ""), "odoo", &e);
            if cfg.get("logfile").is_some() {
                eprintln!("ERROR: {e}");
            }
            1
        }
    }
}

fn db_params(cfg: &Config) -> Result<DbParams, String> {
    let user = cfg
        .get("db_user")
        .map(String::from)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "odoo".into());
    Ok(DbParams {
        // Unset db_host means libpq's default: the local Unix socket.
        host: cfg.get_or("db_host", "/var/run/postgresql").to_string(),
        port: cfg.port("db_port", 5432)?,
        user,
        password: cfg.get("db_password").map(String::from),
    })
}

/// The database the HTTP side serves: `db_name` (first), else a dbfilter of
/// the literal form `^name$`.
fn served_database(cfg: &Config) -> Option<String> {
    if let Some(first) = cfg.list("db_name").into_iter().next() {
        return Some(first);
    }
    let filter = cfg.get("dbfilter")?;
    let inner = filter.strip_prefix('^')?.strip_suffix('$')?;
    (!inner.contains(|c: char| "\\.*+?[](){}|%".contains(c))).then(|| inner.to_string())
}

fn run(cfg: &Config) -> Result<(), String> {
    let params = db_params(cfg)?;
    if params.user == "postgres" {
        // Odoo refuses this too (odoo/service/server.py).
        eprintln!("Using the database user 'postgres' is a security risk, aborting.");
        std::process::exit(1);
    }
    if std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
    {
        eprintln!("Running as user 'root' is a security risk.");
    }
    let ver = version();
    log::info(
        "",
        "odoo",
        &format!("Odoo version {ver} (paasportal stand-in)"),
    );
    if let Some(f) = &cfg.file {
        log::info("", "odoo", &format!("Using configuration file at {f}"));
    }
    let addons_path = cfg.list("addons_path");
    log::info("", "odoo", &format!("addons paths: {addons_path:?}"));
    log::info("", "odoo", &format!("database: {}", params.describe()));
    for opt in &cfg.ignored {
        log::warn(
            "",
            "odoo",
            &format!("stand-in ignores unknown option {opt}"),
        );
    }
    if let Some(w) = cfg.get("workers") {
        log::info(
            "",
            "odoo.service.server",
            &format!("configured workers: {w}"),
        );
    }

    let wait = Duration::from_secs(
        cfg.get("standin_db_wait")
            .map(String::from)
            .or_else(|| std::env::var("STANDIN_DB_WAIT").ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(30),
    );
    let databases = cfg.list("db_name");
    let modules = cfg.list("init");
    let updates = cfg.list("update");
    if (!modules.is_empty() || !updates.is_empty()) && databases.is_empty() {
        return Err(
            "-i/--init and -u/--update need a database: -d DB or db_name in the config file".into(),
        );
    }

    // As Odoo's `main()`: create every configured database that is missing,
    // before anything else; a new database gets `base` installed.
    let mut pending = Vec::new();
    for name in &databases {
        let created = db::ensure_database(
            &params,
            name,
            cfg.get_or("db_template", "template0"),
            cfg.flag("unaccent"),
            wait,
        )?;
        if created || !modules.is_empty() || !updates.is_empty() {
            pending.push(name.clone());
        }
    }

    let admin_password = cfg
        .get("standin_admin_password")
        .map(String::from)
        .or_else(|| std::env::var("ODOO_ADMIN_PASSWORD").ok())
        .or_else(|| cfg.get("admin_passwd").map(String::from));
    let http_port = cfg.port("http_port", 8069)?;
    let base_url = format!("http://localhost:{http_port}");
    let init = {
        let params = params.clone();
        let data_dir = cfg.get("data_dir").map(String::from);
        move || -> Result<(), String> {
            for name in &pending {
                if let Some(dir) = &data_dir {
                    db::check_data_dir(Path::new(dir), name)?;
                }
                let mut client = params.connect_retry(name, wait)?;
                let mut mods = modules.clone();
                mods.extend(updates.iter().cloned());
                db::init_modules(
                    &mut client,
                    name,
                    &InitRequest {
                        modules: &mods,
                        addons_path: &addons_path,
                        admin_password: admin_password.as_deref(),
                        version: &ver,
                        web_base_url: &base_url,
                    },
                )?;
                log::info(name, "odoo.modules.loading", "Modules loaded.");
            }
            Ok(())
        }
    };

    if cfg.flag("stop_after_init") {
        init()?;
        log::info("", "odoo.service.server", "Initiating shutdown");
        return Ok(());
    }

    // Server mode: HTTP starts while modules load, as in Odoo.
    std::thread::spawn(move || {
        if let Err(e) = init() {
            log::error(
                "",
                "odoo.modules.registry",
                &format!("Failed to load registry: {e}"),
            );
        }
    });
    if let (Some(host), port) = (
        cfg.get("db_replica_host"),
        cfg.port("db_replica_port", 5432)?,
    ) {
        let replica = DbParams {
            host: host.to_string(),
            port,
            ..params.clone()
        };
        let name = served_database(cfg).unwrap_or_else(|| "postgres".into());
        std::thread::spawn(move || match replica.connect_retry(&name, wait) {
            Ok(_) => log::info(
                &name,
                "odoo.sql_db",
                &format!("read replica reachable at {}", replica.describe()),
            ),
            Err(e) => log::warn(&name, "odoo.sql_db", &format!("read replica: {e}")),
        });
    }
    let app = http::App {
        db: params,
        db_name: served_database(cfg),
        version: version(),
        force_fail: cfg.get("standin_health") == Some("fail")
            || std::env::var("STANDIN_HEALTH").as_deref() == Ok("fail"),
    };
    if cfg.flag("no_http") {
        loop {
            std::thread::park();
        }
    }
    http::serve(app, cfg.get_or("http_interface", "0.0.0.0"), http_port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_database_from_name_or_literal_filter() {
        let mut c = Config::default();
        c.set("dbfilter", "^3f4a5e2b-9c1d$");
        assert_eq!(served_database(&c).as_deref(), Some("3f4a5e2b-9c1d"));
        c.set("dbfilter", "^%d$");
        assert_eq!(served_database(&c), None);
        c.set("db_name", "a,b");
        assert_eq!(served_database(&c).as_deref(), Some("a"));
    }
}
