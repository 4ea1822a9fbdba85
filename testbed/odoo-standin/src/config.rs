//! Odoo's configuration: the `[options]` section of odoo.conf, overridden by
//! command-line options, with Odoo's option names as keys.
//!
//! Config file: `-c/--config`, else `$ODOO_RC`, else `~/.odoorc` (as Odoo).
//! Values `False`, `None` and empty strings mean "not set", as in Odoo.

use std::collections::BTreeMap;

/// Command-line options the stand-in knows: (short, long, option key, takes a value).
const OPTIONS: &[(&str, &str, &str, bool)] = &[
    ("-c", "--config", "config", true),
    ("-d", "--database", "db_name", true),
    ("-i", "--init", "init", true),
    ("-u", "--update", "update", true),
    ("", "--stop-after-init", "stop_after_init", false),
    ("", "--db_host", "db_host", true),
    ("", "--db_port", "db_port", true),
    ("-r", "--db_user", "db_user", true),
    ("-w", "--db_password", "db_password", true),
    ("", "--db_replica_host", "db_replica_host", true),
    ("", "--db_replica_port", "db_replica_port", true),
    ("", "--db_sslmode", "db_sslmode", true),
    ("", "--db-template", "db_template", true),
    ("", "--db-filter", "dbfilter", true),
    ("-p", "--http-port", "http_port", true),
    ("", "--http-interface", "http_interface", true),
    ("", "--addons-path", "addons_path", true),
    ("-D", "--data-dir", "data_dir", true),
    ("", "--workers", "workers", true),
    ("", "--max-cron-threads", "max_cron_threads", true),
    ("", "--log-level", "log_level", true),
    ("", "--log-handler", "log_handler", true),
    ("", "--logfile", "logfile", true),
    ("", "--without-demo", "without_demo", true),
    ("", "--load-language", "load_language", true),
    ("", "--proxy-mode", "proxy_mode", false),
    ("", "--no-http", "no_http", false),
    ("", "--unaccent", "unaccent", false),
    ("", "--limit-memory-hard", "limit_memory_hard", true),
    ("", "--limit-memory-soft", "limit_memory_soft", true),
    ("", "--limit-time-cpu", "limit_time_cpu", true),
    ("", "--limit-time-real", "limit_time_real", true),
    // Stand-in only (no such option in Odoo): the admin user's password.
    ("", "--admin-password", "standin_admin_password", true),
];

/// What the command line asked for besides options.
#[derive(Debug, Default, PartialEq)]
pub enum Action {
    #[default]
    Run,
    Version,
    Help,
}

#[derive(Debug, Default)]
pub struct Config {
    values: BTreeMap<String, String>,
    /// The config file that was read, if any.
    pub file: Option<String>,
    pub action: Action,
    /// Unknown options, reported as warnings (real Odoo knows many more).
    pub ignored: Vec<String>,
}

impl Config {
    /// Parse the command line (without argv[0]) and the config file it names.
    pub fn load(args: &[String]) -> Result<Config, String> {
        let mut cli = BTreeMap::new();
        let mut cfg = Config::default();
        let mut it = args.iter().peekable();
        // `odoo server ...` is the same as `odoo ...`.
        if it.peek().map(|s| s.as_str()) == Some("server") {
            it.next();
        }
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--version" => {
                    cfg.action = Action::Version;
                    continue;
                }
                "-h" | "--help" => {
                    cfg.action = Action::Help;
                    continue;
                }
                _ => {}
            }
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
                _ => (arg.as_str(), None),
            };
            let known = OPTIONS
                .iter()
                .find(|(s, l, _, _)| (!s.is_empty() && *s == flag) || *l == flag);
            match known {
                Some((_, long, key, true)) => {
                    let value = match inline {
                        Some(v) => v,
                        None => it
                            .next()
                            .cloned()
                            .ok_or_else(|| format!("option {long} requires an argument"))?,
                    };
                    cli.insert((*key).to_string(), value);
                }
                Some((_, _, key, false)) => {
                    cli.insert((*key).to_string(), "True".to_string());
                }
                None if arg.starts_with('-') => cfg.ignored.push(arg.clone()),
                None => {
                    return Err(format!(
                        "unsupported subcommand or argument {arg:?} (the stand-in implements only the server)"
                    ));
                }
            }
        }

        let file = cli.remove("config").or_else(|| {
            std::env::var("ODOO_RC").ok().or_else(|| {
                std::env::var("HOME")
                    .ok()
                    .map(|h| format!("{h}/.odoorc"))
                    .filter(|p| std::path::Path::new(p).exists())
            })
        });
        if let Some(path) = &file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read config file {path}: {e}"))?;
            cfg.values = parse_options_section(&text);
            cfg.file = Some(path.clone());
        }
        cfg.values.extend(cli);
        Ok(cfg)
    }

    /// An option's value; `None` when absent, empty, `False` or `None`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty() && *v != "False" && *v != "None")
    }

    pub fn get_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.get(key).unwrap_or(default)
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(
            self.get(key).map(str::to_ascii_lowercase).as_deref(),
            Some("true" | "1" | "yes" | "on")
        )
    }

    pub fn port(&self, key: &str, default: u16) -> Result<u16, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("option {key}: invalid port {v:?}")),
        }
    }

    /// A comma-separated option as a list of trimmed, non-empty items.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    #[cfg(test)]
    pub fn set(&mut self, key: &str, value: &str) {
        self.values.insert(key.to_string(), value.to_string());
    }
}

/// The `key = value` pairs of the `[options]` section of an INI text.
pub fn parse_options_section(text: &str) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let mut in_options = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            in_options = &line[1..line.len() - 1] == "options";
            continue;
        }
        if !in_options {
            continue;
        }
        if let Some((k, v)) = line.split_once(['=', ':']) {
            values.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    values
}

pub const HELP: &str = "\
Usage: odoo [options]

Odoo stand-in (paasportal testbed). Options understood:
  -c, --config FILE        config file (default: $ODOO_RC, ~/.odoorc)
  -d, --database DB        database to use (created if missing, as Odoo does)
  -i, --init MODULES       modules to install, comma-separated (e.g. base)
  -u, --update MODULES     modules to update
  --stop-after-init        exit after initialising the database
  --db_host, --db_port, -r/--db_user, -w/--db_password, --db_replica_host,
  --db_replica_port, --db-filter, -p/--http-port, --http-interface,
  --addons-path, -D/--data-dir, --workers, --log-level, --logfile, ...
  --admin-password PW      (stand-in only) password of the admin user
  --version                print the server version
";

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_section_only() {
        let v = parse_options_section(
            "[other]\ndb_host = nope\n[options]\n; comment\ndb_host = x_pgbouncer\ndb_port=6432\nlogfile = False\n",
        );
        assert_eq!(v["db_host"], "x_pgbouncer");
        assert_eq!(v["db_port"], "6432");
        assert_eq!(v["logfile"], "False");
    }

    #[test]
    fn cli_overrides_file_and_false_is_unset() {
        let dir = std::env::temp_dir().join(format!("standin-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("odoo.conf");
        std::fs::write(
            &conf,
            "[options]\ndb_host = a\ndb_name = one\nlogfile = False\n",
        )
        .unwrap();
        let c = Config::load(&args(&[
            "-c",
            conf.to_str().unwrap(),
            "-d",
            "two",
            "-i",
            "base",
            "--stop-after-init",
            "--db_port=6432",
            "--some-unknown",
        ]))
        .unwrap();
        assert_eq!(c.get("db_host"), Some("a"));
        assert_eq!(c.get("db_name"), Some("two"));
        assert_eq!(c.get("logfile"), None);
        assert!(c.flag("stop_after_init"));
        assert_eq!(c.port("db_port", 5432).unwrap(), 6432);
        assert_eq!(c.list("init"), vec!["base"]);
        assert_eq!(c.ignored, vec!["--some-unknown"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_value_and_subcommands_are_errors() {
        assert!(Config::load(&args(&["-d"])).is_err());
        assert!(Config::load(&args(&["shell"])).is_err());
        assert_eq!(
            Config::load(&args(&["--version"])).unwrap().action,
            Action::Version
        );
    }
}
