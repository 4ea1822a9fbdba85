//! Checks on management input, each a 422 naming the offending field.

use paasportal_core::git_remote::{Remote, validate_branch};
use paasportal_core::overrides::Overrides;
use serde_json::Value;

use crate::error::ApiResult;
use crate::extract::unprocessable;

/// Longest accepted display name.
pub const MAX_NAME: usize = 200;

/// A trimmed, non-empty name of at most [`MAX_NAME`] characters without control characters.
pub fn name(field: &str, v: &str) -> ApiResult<String> {
    let t = v.trim();
    if t.is_empty() || t.chars().count() > MAX_NAME || t.chars().any(char::is_control) {
        return Err(unprocessable(
            field,
            format!("{field} must be 1 to {MAX_NAME} characters without control characters"),
        ));
    }
    Ok(t.to_owned())
}

/// An e-mail address: one `@` with text on both sides, no spaces, at most 254 characters.
pub fn email(v: &str) -> ApiResult<String> {
    let t = v.trim();
    let ok = t.len() <= 254
        && !t.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(t.split_once('@'), Some((a, b)) if !a.is_empty() && !b.is_empty() && !b.contains('@'));
    if !ok {
        return Err(unprocessable(
            "email",
            "email is not a valid e-mail address",
        ));
    }
    Ok(t.to_lowercase())
}

/// A password of 8 to 1024 characters.
pub fn password(v: &str) -> ApiResult<()> {
    let n = v.chars().count();
    if !(8..=1024).contains(&n) {
        return Err(unprocessable(
            "password",
            "password must be 8 to 1024 characters",
        ));
    }
    Ok(())
}

/// An IP address or a DNS host name.
pub fn host(v: &str) -> ApiResult<String> {
    let t = v.trim();
    if t.parse::<std::net::IpAddr>().is_ok() {
        return Ok(t.to_owned());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if t.is_empty() || t.len() > 253 || !t.split('.').all(label_ok) {
        return Err(unprocessable(
            "ip",
            "ip must be an IP address or a host name",
        ));
    }
    Ok(t.to_ascii_lowercase())
}

/// A Unix user name: `^[a-z_][a-z0-9_.-]*$`, at most 32 characters.
pub fn ssh_user(v: &str) -> ApiResult<String> {
    let b = v.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 32
        && (b[0].is_ascii_lowercase() || b[0] == b'_')
        && b.iter().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'.' | b'-')
        });
    if !ok {
        return Err(unprocessable(
            "ssh_user",
            "ssh_user must match ^[a-z_][a-z0-9_.-]*$ and be at most 32 characters",
        ));
    }
    Ok(v.to_owned())
}

/// A TCP port other than 0.
pub fn port(v: u16) -> ApiResult<u16> {
    if v == 0 {
        return Err(unprocessable(
            "ssh_port",
            "ssh_port must be between 1 and 65535",
        ));
    }
    Ok(v)
}

/// A secret given in a request: non-empty, at most 64 KiB.
pub fn secret(field: &str, v: &str) -> ApiResult<()> {
    if v.is_empty() || v.len() > 64 * 1024 {
        return Err(unprocessable(
            field,
            format!("{field} must be 1 byte to 64 KiB"),
        ));
    }
    Ok(())
}

/// A repository URL, as the engine will clone it (no credentials in it).
pub fn git_url(v: &str) -> ApiResult<String> {
    Remote::parse(v)
        .map(|r| r.clean_url().to_owned())
        .map_err(|e| unprocessable("url", e.to_string()))
}

/// A git branch name, as the engine will check it out.
pub fn branch(v: &str) -> ApiResult<String> {
    validate_branch(v).map_err(|e| unprocessable("branch", e.to_string()))?;
    Ok(v.to_owned())
}

/// A DNS label: lower-case letters, digits and inner dashes, at most 63 characters.
pub fn subdomain(v: &str) -> ApiResult<String> {
    let b = v.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 63
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    if !ok {
        return Err(unprocessable(
            "subdomain",
            "subdomain must be a DNS label: a-z, 0-9 and inner dashes, at most 63 characters",
        ));
    }
    Ok(v.to_owned())
}

/// An Odoo version string such as `18.0`.
pub fn odoo_version(v: &str) -> ApiResult<String> {
    let ok = !v.is_empty()
        && v.len() <= 16
        && v.bytes().all(|c| c.is_ascii_digit() || c == b'.')
        && v.as_bytes()[0].is_ascii_digit();
    if !ok {
        return Err(unprocessable("version", "version must look like 18.0"));
    }
    Ok(v.to_owned())
}

/// A Docker image reference, e.g. `odoo:18.0` or `registry.example.com/ns/odoo:18.0`.
pub fn image(v: &str) -> ApiResult<String> {
    let ok = !v.is_empty()
        && v.len() <= 255
        && v.as_bytes()[0].is_ascii_alphanumeric()
        && v.bytes().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'/' | b':' | b'@')
        });
    if !ok {
        return Err(unprocessable(
            "image",
            "image must be a Docker image reference such as odoo:18.0",
        ));
    }
    Ok(v.to_owned())
}

/// CPU cores between 0.1 and 64.
pub fn cpu_cores(v: f64) -> ApiResult<f64> {
    if !v.is_finite() || !(0.1..=64.0).contains(&v) {
        return Err(unprocessable(
            "cpu_cores",
            "cpu_cores must be between 0.1 and 64",
        ));
    }
    Ok(v)
}

/// An integer within `range`, named `field` in the 422.
pub fn within(field: &str, v: i64, range: std::ops::RangeInclusive<i64>) -> ApiResult<i64> {
    if !range.contains(&v) {
        return Err(unprocessable(
            field,
            format!(
                "{field} must be between {} and {}",
                range.start(),
                range.end()
            ),
        ));
    }
    Ok(v)
}

/// odoo.conf overrides, through the one validator the engine also uses.
pub fn config_overrides(v: &Value) -> ApiResult<Value> {
    Overrides::parse(v).map_err(|e| unprocessable("config_overrides", e.to_string()))?;
    Ok(if v.is_null() {
        Value::Object(Default::default())
    } else {
        v.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refuses_what_could_reach_a_shell_or_odoo_conf() {
        assert!(config_overrides(&json!({"workers": 4})).is_ok());
        assert!(config_overrides(&json!({"log_level": "info\n[options]"})).is_err());
        assert!(config_overrides(&json!({"[options]": "x"})).is_err());
        assert!(config_overrides(&json!({"Bad-Key": 1})).is_err());
        assert!(config_overrides(&json!([1])).is_err());
        assert!(branch("main").is_ok());
        assert!(branch("--upload-pack=x").is_err());
        assert!(git_url("https://github.com/a/b.git").is_ok());
        assert!(git_url("https://user:tok@github.com/a/b.git").is_err());
        assert!(subdomain("prod-1").is_ok());
        assert!(subdomain("Prod").is_err());
        assert!(host("10.0.0.1").is_ok());
        assert!(host("a b").is_err());
        assert!(ssh_user("root").is_ok());
        assert!(ssh_user("root;id").is_err());
        assert!(image("odoo:18.0").is_ok());
        assert!(image("-odoo").is_err());
        assert!(email("A@Example.com").unwrap() == "a@example.com");
        assert!(email("nobody").is_err());
        assert!(name("name", "  ").is_err());
    }
}
