//! User odoo.conf overrides: parsed from the environment's JSON and validated so that
//! nothing can be injected into the file (no newline, no `[section]`, no key outside
//! `^[a-z][a-z0-9_]*$`, scalar values only) and nothing paasportal wires itself
//! (database connection, paths, port) can be replaced.
//!
//! The JSON is either flat (`{"workers": 8}`) or grouped as in the spec's example
//! (`{"performance": {"workers": 8}, "logging": {"log_level": "debug"}}`); groups are
//! only a way to organise the settings, every key goes to `[options]`.

use serde_json::Value;

/// Longest accepted key.
pub const MAX_KEY_LEN: usize = 64;
/// Longest accepted value, once rendered.
pub const MAX_VALUE_LEN: usize = 4096;

/// Keys paasportal sets itself: overriding them would break the deployment.
pub const RESERVED_KEYS: &[&str] = &[
    "addons_path",
    "data_dir",
    "db_host",
    "db_name",
    "db_password",
    "db_port",
    "db_replica_host",
    "db_replica_port",
    "db_user",
    "dbfilter",
    "http_port",
];

/// Why an override was refused. `path()` names the offending entry (`performance.workers`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error("odoo.conf overrides must be a JSON object of settings or of groups of settings")]
    NotAnObject,
    #[error(
        "override key {path:?} must match ^[a-z][a-z0-9_]*$ and be at most {MAX_KEY_LEN} characters"
    )]
    InvalidKey { path: String },
    #[error(
        "override {path:?} must be a string, number or boolean (groups may hold settings, not further groups)"
    )]
    NotScalar { path: String },
    #[error("override {path:?} contains a line break or NUL character")]
    LineBreak { path: String },
    #[error("override {path:?} is longer than {MAX_VALUE_LEN} characters")]
    TooLong { path: String },
    #[error("override {path:?} sets a value paasportal manages itself and cannot be overridden")]
    Reserved { path: String },
    #[error("override key {key:?} is set more than once")]
    Duplicate { key: String },
}

impl OverrideError {
    /// The offending entry, `group.key` or `key`; empty for a non-object document.
    pub fn path(&self) -> &str {
        match self {
            OverrideError::NotAnObject => "",
            OverrideError::InvalidKey { path }
            | OverrideError::NotScalar { path }
            | OverrideError::LineBreak { path }
            | OverrideError::TooLong { path }
            | OverrideError::Reserved { path } => path,
            OverrideError::Duplicate { key } => key,
        }
    }
}

/// One validated setting, its value rendered as odoo.conf writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub key: String,
    pub value: String,
}

/// Validated overrides, ordered by group, then key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides(Vec<Override>);

impl Overrides {
    /// Parses and validates the environment's `config_overrides`; `null` means none.
    pub fn parse(doc: &Value) -> Result<Self, OverrideError> {
        let map = match doc {
            Value::Null => return Ok(Overrides::default()),
            Value::Object(m) => m,
            _ => return Err(OverrideError::NotAnObject),
        };
        let mut out: Vec<Override> = Vec::new();
        for (name, value) in sorted(map) {
            check_key(name, name)?;
            match value {
                Value::Object(group) => {
                    for (key, v) in sorted(group) {
                        let path = format!("{name}.{key}");
                        push(&mut out, key, v, &path)?;
                    }
                }
                v => push(&mut out, name, v, name)?,
            }
        }
        Ok(Overrides(out))
    }

    /// The settings, ordered by group, then key.
    pub fn iter(&self) -> impl Iterator<Item = &Override> {
        self.0.iter()
    }

    /// How many settings there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Entries by key: the order is the same whatever the JSON library or database kept.
fn sorted(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

fn push(out: &mut Vec<Override>, key: &str, v: &Value, path: &str) -> Result<(), OverrideError> {
    check_key(key, path)?;
    if RESERVED_KEYS.contains(&key) {
        return Err(OverrideError::Reserved { path: path.into() });
    }
    if out.iter().any(|o| o.key == key) {
        return Err(OverrideError::Duplicate { key: key.into() });
    }
    let value = render(v, path)?;
    out.push(Override {
        key: key.to_owned(),
        value,
    });
    Ok(())
}

fn check_key(key: &str, path: &str) -> Result<(), OverrideError> {
    let b = key.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= MAX_KEY_LEN
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_');
    if ok {
        Ok(())
    } else {
        Err(OverrideError::InvalidKey { path: path.into() })
    }
}

fn render(v: &Value, path: &str) -> Result<String, OverrideError> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Null | Value::Array(_) | Value::Object(_) => {
            return Err(OverrideError::NotScalar { path: path.into() });
        }
    };
    if s.contains(['\n', '\r', '\0']) {
        return Err(OverrideError::LineBreak { path: path.into() });
    }
    if s.len() > MAX_VALUE_LEN {
        return Err(OverrideError::TooLong { path: path.into() });
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_example_is_four_overrides() {
        let o = Overrides::parse(&json!({
            "performance": {"workers": 8, "max_cron_threads": 2},
            "logging": {"log_level": "debug", "log_handler": ":DEBUG"}
        }))
        .unwrap();
        let pairs: Vec<_> = o
            .iter()
            .map(|o| (o.key.as_str(), o.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("log_handler", ":DEBUG"),
                ("log_level", "debug"),
                ("max_cron_threads", "2"),
                ("workers", "8"),
            ]
        );
    }

    #[test]
    fn flat_and_typed_values() {
        let o =
            Overrides::parse(&json!({"proxy_mode": false, "limit_time_real": 1.5, "x": "a=b ; c"}))
                .unwrap();
        let v: Vec<_> = o.iter().map(|o| o.value.as_str()).collect();
        assert_eq!(v, ["1.5", "False", "a=b ; c"]);
        assert!(Overrides::parse(&Value::Null).unwrap().is_empty());
    }

    #[test]
    fn injection_is_refused() {
        let cases = [
            (
                json!({"workers": "2\n[options]\ndb_host = evil"}),
                "workers",
            ),
            (json!({"log_level": "a\rb"}), "log_level"),
            (json!({"[options]": 1}), "[options]"),
            (json!({"g": {"Workers": 1}}), "g.Workers"),
            (json!({"g": {"db host": 1}}), "g.db host"),
            (json!({"1abc": 1}), "1abc"),
            (json!({"": 1}), ""),
            (json!({"g": {"h": {"workers": 1}}}), "g.h"),
            (json!({"workers": [1, 2]}), "workers"),
            (json!({"workers": null}), "workers"),
            (json!({"perf": {"db_password": "x"}}), "perf.db_password"),
            (json!({"addons_path": "/tmp"}), "addons_path"),
        ];
        for (doc, path) in cases {
            let err = Overrides::parse(&doc).unwrap_err();
            assert_eq!(err.path(), path, "{doc}: {err}");
        }
        assert_eq!(
            Overrides::parse(&json!([1])).unwrap_err(),
            OverrideError::NotAnObject
        );
        assert_eq!(
            Overrides::parse(&json!({"a": {"workers": 1}, "b": {"workers": 2}})).unwrap_err(),
            OverrideError::Duplicate {
                key: "workers".into()
            }
        );
        let long = "x".repeat(MAX_VALUE_LEN + 1);
        assert!(matches!(
            Overrides::parse(&json!({ "k": long })),
            Err(OverrideError::TooLong { .. })
        ));
        let long_key = "k".repeat(MAX_KEY_LEN + 1);
        assert!(matches!(
            Overrides::parse(&json!({ long_key: 1 })),
            Err(OverrideError::InvalidKey { .. })
        ));
    }

    proptest::proptest! {
        /// Whatever the input, an accepted override renders to one `key = value` line.
        #[test]
        fn accepted_values_stay_on_one_line(key in "\\PC{0,12}", value in "\\PC{0,40}|[\\s\\S]{0,10}") {
            if let Ok(o) = Overrides::parse(&json!({ key: value })) {
                for ov in o.iter() {
                    let line = format!("{} = {}", ov.key, ov.value);
                    proptest::prop_assert!(!line.contains('\n') && !line.contains('\r'));
                    proptest::prop_assert!(!ov.key.contains('['));
                }
            }
        }
    }
}
