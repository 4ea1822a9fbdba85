//! The redactor: replaces every registered secret with `***` before a line is stored or streamed.
//!
//! A secret is searched for in every form it commonly takes in command output and
//! error text: as written; JSON-escaped; URL-encoded the ways common encoders do it
//! (all non-alphanumerics, `encodeURIComponent`'s set, RFC 3986's unreserved set, form
//! encoding with `+`, upper- and lower-case hex); base64 (standard and URL-safe, with
//! and without padding, and the part that stays the same wherever the secret sits
//! inside a longer base64 text, such as an HTTP basic-auth header); and each line of a
//! multi-line secret (a private key) on its own, in all those forms.
//!
//! Matching is one Aho-Corasick pass, leftmost-longest, so a line costs the same
//! whatever the number of secrets.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What every secret is replaced with.
pub const MASK: &str = "***";

/// Derived forms (lines, encodings) shorter than this are not searched for: they would
/// mask ordinary text. The whole secret as written is always searched for.
pub const MIN_DERIVED_LEN: usize = 4;

/// `encodeURIComponent` leaves `A-Z a-z 0-9 - _ . ! ~ * ' ( )` alone.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// RFC 3986 unreserved characters: `A-Z a-z 0-9 - . _ ~`.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Replaces registered secrets with [`MASK`]. Cheap to clone; clones share their secrets.
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Default)]
struct Inner {
    secrets: BTreeSet<String>,
    matcher: Option<AhoCorasick>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.inner.read().map(|i| i.secrets.len()).unwrap_or(0);
        write!(f, "Redactor({n} secrets)")
    }
}

impl Redactor {
    /// A redactor that knows no secrets yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a secret; empty strings are ignored. Every later call redacts it.
    pub fn register(&self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if !inner.secrets.insert(secret.to_owned()) {
            return;
        }
        let mut patterns: BTreeSet<String> = BTreeSet::new();
        for s in &inner.secrets {
            patterns.extend(variants(s));
        }
        let patterns: Vec<String> = patterns.into_iter().collect();
        inner.matcher = Some(
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .expect("literal patterns always build"),
        );
    }

    /// How many secrets are registered.
    pub fn len(&self) -> usize {
        self.inner.read().map(|i| i.secrets.len()).unwrap_or(0)
    }

    /// True when no secret is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `text` with every registered secret (in every form) replaced by [`MASK`].
    pub fn redact(&self, text: &str) -> String {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let Some(ac) = &inner.matcher else {
            return text.to_owned();
        };
        // A secret that itself contains the mask could reappear around a replacement;
        // a few passes reach the fixpoint for any such case.
        let mut current = text.to_owned();
        for _ in 0..3 {
            if !ac.is_match(&current) {
                break;
            }
            current = ac.replace_all_with_bytes_or_str(&current);
        }
        current
    }

    /// Redacts every string, object key and number (by its text) inside a JSON value.
    pub fn redact_value(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        if self.is_empty() {
            return;
        }
        match value {
            Value::String(s) => {
                let r = self.redact(s);
                if r != *s {
                    *s = r;
                }
            }
            Value::Number(n) => {
                let text = n.to_string();
                let r = self.redact(&text);
                if r != text {
                    *value = Value::String(r);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_value(v)),
            Value::Object(map) => {
                let old = std::mem::take(map);
                for (k, mut v) in old {
                    self.redact_value(&mut v);
                    map.insert(self.redact(&k), v);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }
}

trait ReplaceAll {
    fn replace_all_with_bytes_or_str(&self, text: &str) -> String;
}

impl ReplaceAll for AhoCorasick {
    fn replace_all_with_bytes_or_str(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        self.replace_all_with(text, &mut out, |_, _, dst| {
            dst.push_str(MASK);
            true
        });
        out
    }
}

/// Every form of `secret` the redactor searches for.
pub fn variants(secret: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    out.insert(secret.to_owned());
    encodings(secret, &mut out);
    if secret.contains('\n') || secret.contains('\r') {
        for line in secret.lines() {
            let line = line.trim();
            if line.len() >= MIN_DERIVED_LEN {
                out.insert(line.to_owned());
                encodings(line, &mut out);
            }
        }
    }
    out.retain(|v| v == secret || v.len() >= MIN_DERIVED_LEN);
    out
}

fn encodings(s: &str, out: &mut BTreeSet<String>) {
    // JSON string escaping (what a JSON body or a `{:?}`-like dump shows).
    let json = serde_json::to_string(s).expect("strings serialize");
    out.insert(json[1..json.len() - 1].to_owned());
    // Rust/Debug-style escaping of newlines and quotes differs little from JSON's; cover `\'`.
    out.insert(s.escape_default().to_string());
    // URL encodings.
    for set in [NON_ALPHANUMERIC, URI_COMPONENT, UNRESERVED] {
        let upper = utf8_percent_encode(s, set).to_string();
        out.insert(lower_hex(&upper));
        out.insert(upper.replace("%20", "+"));
        out.insert(upper);
    }
    // base64, whole.
    let bytes = s.as_bytes();
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        out.insert(engine.encode(bytes));
    }
    // base64 inside a longer text: for each alignment of the secret within 3-byte groups,
    // the characters that depend on the secret's bytes alone.
    for skip in 0..3 {
        if bytes.len() <= skip {
            break;
        }
        let rest = &bytes[skip..];
        let whole = rest.len() - rest.len() % 3;
        if whole >= 3 {
            out.insert(STANDARD_NO_PAD.encode(&rest[..whole]));
            out.insert(URL_SAFE_NO_PAD.encode(&rest[..whole]));
        }
    }
}

/// `%2F` → `%2f`: some encoders emit lower-case hex.
fn lower_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut hex_left = 0;
    for c in encoded.chars() {
        if c == '%' {
            hex_left = 2;
            out.push(c);
        } else if hex_left > 0 {
            hex_left -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn forms(secret: &str) -> Vec<String> {
        let mut f = vec![
            secret.to_owned(),
            utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string(),
            utf8_percent_encode(secret, URI_COMPONENT).to_string(),
            utf8_percent_encode(secret, UNRESERVED).to_string(),
            STANDARD.encode(secret),
            URL_SAFE_NO_PAD.encode(secret),
        ];
        let json = serde_json::to_string(secret).unwrap();
        f.push(json[1..json.len() - 1].to_owned());
        f
    }

    #[test]
    fn masks_every_form() {
        let r = Redactor::new();
        r.register("p@ss w/rd:\"1\"");
        for form in forms("p@ss w/rd:\"1\"") {
            let line = format!("before {form} after");
            assert_eq!(r.redact(&line), "before *** after", "form {form}");
        }
        let basic = STANDARD.encode("deploy:p@ss w/rd:\"1\"");
        assert!(
            !r.redact(&basic)
                .contains(&STANDARD_NO_PAD.encode("ss w/rd:\"1\""))
        );
        assert_eq!(r.redact("nothing here"), "nothing here");
    }

    #[test]
    fn multi_line_secrets_are_masked_line_by_line() {
        let key = "-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQ\nC7vbqajDhA9Ssg\n-----END KEY-----\n";
        let r = Redactor::new();
        r.register(key);
        let out = r.redact("stderr: C7vbqajDhA9Ssg was rejected");
        assert_eq!(out, "stderr: *** was rejected");
        assert!(!r.redact(key).contains("AAAAB3"));
    }

    #[test]
    fn json_values_are_walked() {
        let r = Redactor::new();
        r.register("hunter22");
        r.register("12345678");
        let mut v = serde_json::json!({
            "url": "https://hunter22@github.com/x.git",
            "nested": [{"hunter22": 1}, 12345678, true, null],
        });
        r.redact_value(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"url": "https://***@github.com/x.git", "nested": [{"***": 1}, "***", true, null]})
        );
    }

    fn secret() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9]{4,32}",
            "[ -~]{4,32}",
            "\\PC{4,24}",
            "[a-zA-Z0-9+/=:@%]{6,20}(\n[a-zA-Z0-9+/=]{6,20}){1,4}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn no_registered_secret_survives(
            secrets in proptest::collection::vec(secret(), 1..4),
            prefix in "[ -~]{0,12}",
            suffix in "[ -~]{0,12}",
            which in 0usize..7,
        ) {
            let r = Redactor::new();
            for s in &secrets {
                r.register(s);
            }
            for s in &secrets {
                let mut pieces = forms(s);
                for line in s.lines().map(str::trim).filter(|l| l.len() >= MIN_DERIVED_LEN) {
                    pieces.push(line.to_owned());
                }
                let form = pieces[which % pieces.len()].clone();
                let text = format!("{prefix}{form}{suffix}");
                let out = r.redact(&text);
                prop_assert!(!out.contains(s.as_str()), "secret survived in {out:?}");
                prop_assert!(!out.contains(&form), "form {form:?} survived in {out:?}");
                let embedded = STANDARD.encode(format!("{prefix}{s}{suffix}"));
                let out = r.redact(&embedded);
                let core = &s.as_bytes()[(3 - prefix.len() % 3) % 3..];
                let core = &core[..core.len() - core.len() % 3];
                if core.len() >= 3 {
                    prop_assert!(!out.contains(&STANDARD_NO_PAD.encode(core)), "base64 core survived in {out:?}");
                }
                let mut data = serde_json::json!({"message": text, "list": [form.clone()], form.clone(): 1});
                r.redact_value(&mut data);
                let obj = data.as_object().unwrap();
                prop_assert!(!obj["message"].as_str().unwrap().contains(&form));
                prop_assert!(!obj["list"][0].as_str().unwrap().contains(&form));
                prop_assert!(obj.keys().all(|k| !k.contains(&form)), "form survived in a key");
            }
        }
    }
}
