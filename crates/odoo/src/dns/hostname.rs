//! Host names as DNS records take them: `{subdomain}.{apps_domain}`.

/// Why a host name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a valid DNS host name (letters, digits and '-' in dot-separated labels of at most 63 characters)"
)]
pub struct HostnameError(pub String);

/// Validates a fully qualified host name (no trailing dot): at least two labels of
/// 1–63 letters, digits or `-`, not starting or ending with `-`; 253 characters at most.
pub fn validate_hostname(name: &str) -> Result<(), HostnameError> {
    let labels: Vec<&str> = name.split('.').collect();
    let ok = name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(HostnameError(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names() {
        validate_hostname("staging-myproject.oecsh.com").unwrap();
        validate_hostname("a.b").unwrap();
        for bad in [
            "",
            "com",
            "-a.com",
            "a-.com",
            "a..com",
            "a.com.",
            "a b.com",
            "a_b.com",
            &format!("{}.com", "x".repeat(64)),
        ] {
            assert!(validate_hostname(bad).is_err(), "{bad:?}");
        }
    }
}
