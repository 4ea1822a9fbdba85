//! The redactor: replaces every registered secret with `***` before a line is stored or streamed.
//!
//! A secret is searched for in every form it commonly takes in command output and
//! error text: as written; JSON-escaped (also with `\uXXXX` escapes: ASCII-only and
//! HTML-safe encoders, and every character escaped); URL-encoded the ways common
//! encoders do it (all non-alphanumerics, `encodeURIComponent`'s set, RFC 3986's
//! unreserved set, form encoding with `+`, upper- and lower-case hex); base64 (standard
//! and URL-safe, with and without padding, and the part that stays the same wherever the
//! secret sits inside a longer base64 text, such as an HTTP basic-auth header); hex;
//! shell-quoted (`'\''` inside single quotes, backslashes inside double quotes); and each
//! line of a multi-line secret (a private key) on its own, in all those forms.
//!
//! Secrets are found across line breaks: a text's lines are searched as one text
//! without its line breaks (a secret printed over two lines, base64 wrapped at 76
//! columns), and [`StreamRedactor`] does the same for a command's output as it arrives
//! line by line (or in 16 KiB pieces of a longer line), holding back a line only while
//! its end could still be the beginning of a secret. Each part of a secret is masked
//! in the line that holds it.
//!
//! A secret shorter than [`MIN_SECRET_LEN`] is not searched for (it would mask ordinary
//! text): [`Redactor::register`] refuses it and counts it, so the caller can say so.
//!
//! Matching is one Aho-Corasick pass whose cost does not grow with the number of secrets.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What every secret is replaced with.
pub const MASK: &str = "***";

/// Shortest secret the redactor masks: a shorter one would mask ordinary words.
pub const MIN_SECRET_LEN: usize = 6;

/// Derived forms (lines, encodings) shorter than this are not searched for: they would
/// mask ordinary text. The whole secret as written is always searched for.
pub const MIN_DERIVED_LEN: usize = 4;

/// Most bytes of released output a [`StreamRedactor`] keeps to find a secret that
/// began in it, and most bytes it holds back waiting for a secret's end.
const MAX_CARRY: usize = 4096;

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

/// How [`Redactor::register`] took a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Every later call masks it.
    Registered,
    /// Empty, or registered before.
    Ignored,
    /// Shorter than [`MIN_SECRET_LEN`]: not masked (it would mask ordinary text).
    TooShort,
}

/// Replaces registered secrets with [`MASK`]. Cheap to clone; clones share their secrets.
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Default)]
struct Inner {
    secrets: BTreeSet<String>,
    /// Secrets refused as too short since [`Redactor::take_refused`] was last called.
    refused: usize,
    matcher: Option<Matcher>,
}

/// The compiled patterns.
struct Matcher {
    ac: AhoCorasick,
    /// Every pattern, sorted: is the end of a text the beginning of one?
    sorted: Vec<Vec<u8>>,
    /// The first four bytes of every pattern.
    heads: HashSet<[u8; 4]>,
    /// Every prefix of one to three bytes of every pattern.
    short_heads: HashSet<Vec<u8>>,
    /// The longest pattern's length.
    longest: usize,
}

impl Matcher {
    fn build(patterns: BTreeSet<String>) -> Option<Matcher> {
        let sorted: Vec<Vec<u8>> = patterns
            .into_iter()
            // Text is searched without its line breaks: a pattern holding one never matches.
            .filter(|p| !p.contains(['\n', '\r']) && !p.is_empty())
            .map(String::into_bytes)
            .collect();
        if sorted.is_empty() {
            return None;
        }
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&sorted)
            .expect("literal patterns always build");
        let mut heads = HashSet::new();
        let mut short_heads = HashSet::new();
        for p in &sorted {
            if p.len() >= 4 {
                heads.insert([p[0], p[1], p[2], p[3]]);
            }
            for n in 1..=p.len().min(3) {
                short_heads.insert(p[..n].to_vec());
            }
        }
        let longest = sorted.iter().map(Vec::len).max().unwrap_or(0);
        Some(Matcher {
            ac,
            sorted,
            heads,
            short_heads,
            longest,
        })
    }

    /// The byte ranges of every match in `hay` (overlapping ones too), merged.
    fn spans(&self, hay: &[u8]) -> Vec<(usize, usize)> {
        let mut found: Vec<(usize, usize)> = self
            .ac
            .find_overlapping_iter(hay)
            .map(|m| (m.start(), m.end()))
            .collect();
        found.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(found.len());
        for (a, b) in found {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        merged
    }

    /// Where the longest end of `hay` that is the beginning (not the whole) of some
    /// pattern starts, looking no earlier than `from`; `hay.len()` when no end of it is.
    fn open_tail(&self, hay: &[u8], from: usize) -> usize {
        let window = self.longest.saturating_sub(1).min(MAX_CARRY);
        for q in hay.len().saturating_sub(window).max(from)..hay.len() {
            let rest = &hay[q..];
            let candidate = if rest.len() >= 4 {
                self.heads.contains(&[rest[0], rest[1], rest[2], rest[3]])
            } else {
                self.short_heads.contains(rest)
            };
            if !candidate {
                continue;
            }
            let from = self.sorted.partition_point(|p| p.as_slice() < rest);
            let begins = self.sorted[from..]
                .iter()
                .take_while(|p| p.starts_with(rest))
                .any(|p| p.len() > rest.len());
            if begins {
                return q;
            }
        }
        hay.len()
    }

    /// `pieces` masked as if they were one text: a match running over the joins is
    /// masked in every piece it touches. `extra` are further ranges to mask.
    fn mask_pieces(&self, pieces: &[&str], extra: Option<(usize, usize)>) -> Vec<String> {
        let joined: Vec<u8> = pieces.iter().flat_map(|p| p.bytes()).collect();
        let mut spans = self.spans(&joined);
        if let Some(e) = extra {
            spans.push(e);
            spans.sort_unstable();
        }
        apply(pieces, &spans)
    }
}

/// Each piece with the parts of `spans` (byte ranges of the pieces joined, sorted) that
/// fall inside it replaced by [`MASK`].
fn apply(pieces: &[&str], spans: &[(usize, usize)]) -> Vec<String> {
    let mut out = Vec::with_capacity(pieces.len());
    let mut base = 0;
    for piece in pieces {
        let (start, end) = (base, base + piece.len());
        base = end;
        let mut text = String::with_capacity(piece.len());
        let mut at = 0;
        for &(a, b) in spans.iter().filter(|&&(a, b)| b > start && a < end) {
            let a = floor_boundary(piece, a.max(start) - start).max(at);
            let b = ceil_boundary(piece, b.min(end) - start);
            if b <= a {
                continue;
            }
            text.push_str(&piece[at..a]);
            text.push_str(MASK);
            at = b;
        }
        text.push_str(&piece[at..]);
        out.push(text);
    }
    out
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
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

    /// Registers a secret; every later call redacts it. Empty strings are ignored; a
    /// secret shorter than [`MIN_SECRET_LEN`] characters is refused (masking it would
    /// mask ordinary text) and counted for [`Redactor::take_refused`].
    pub fn register(&self, secret: &str) -> Registration {
        if secret.is_empty() {
            return Registration::Ignored;
        }
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if secret.chars().count() < MIN_SECRET_LEN {
            inner.refused += 1;
            return Registration::TooShort;
        }
        if !inner.secrets.insert(secret.to_owned()) {
            return Registration::Ignored;
        }
        let mut patterns: BTreeSet<String> = BTreeSet::new();
        for s in &inner.secrets {
            patterns.extend(variants(s));
        }
        inner.matcher = Matcher::build(patterns);
        Registration::Registered
    }

    /// How many secrets were refused as too short since the last call (then zero).
    pub fn take_refused(&self) -> usize {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut inner.refused)
    }

    /// How many secrets are registered.
    pub fn len(&self) -> usize {
        self.inner.read().map(|i| i.secrets.len()).unwrap_or(0)
    }

    /// True when no secret is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `text` with every registered secret (in every form, also across its line breaks)
    /// replaced by [`MASK`].
    pub fn redact(&self, text: &str) -> String {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let Some(m) = &inner.matcher else {
            return text.to_owned();
        };
        // A secret that itself contains the mask could reappear around a replacement;
        // a few passes reach the fixpoint for any such case.
        let mut current = text.to_owned();
        for _ in 0..3 {
            let next = redact_lines(m, &current);
            if next == current {
                break;
            }
            current = next;
        }
        current
    }

    /// `pieces` redacted as one text (joined without separators), each masked part in
    /// the piece that holds it: for consecutive lines of output, or strings of a list.
    pub fn redact_pieces(&self, pieces: &[&str]) -> Vec<String> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        match &inner.matcher {
            Some(m) => m.mask_pieces(pieces, None),
            None => pieces.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    /// A redactor for one stream of output lines (see [`StreamRedactor`]).
    pub fn stream(&self) -> StreamRedactor {
        StreamRedactor {
            redactor: self.clone(),
            carry: String::new(),
            held: Vec::new(),
            scan_from: 0,
        }
    }

    /// Redacts every string, object key and number (by its text) inside a JSON value;
    /// the strings of a list are searched as consecutive lines.
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
            Value::Array(items) => {
                items.iter_mut().for_each(|v| self.redact_value(v));
                if items.len() > 1 && items.iter().all(Value::is_string) {
                    let texts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                    let masked = self.redact_pieces(&texts);
                    for (v, m) in items.iter_mut().zip(masked) {
                        *v = Value::String(m);
                    }
                }
            }
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

/// One pass over `text`, its lines searched as one text without the line breaks.
fn redact_lines(m: &Matcher, text: &str) -> String {
    if !text.contains(['\n', '\r']) {
        return m.mask_pieces(&[text], None).pop().unwrap_or_default();
    }
    let mut pieces = Vec::new();
    let mut breaks = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['\n', '\r']) {
        pieces.push(&rest[..i]);
        let sep_len = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
        breaks.push(&rest[i..i + sep_len]);
        rest = &rest[i + sep_len..];
    }
    pieces.push(rest);
    let masked = m.mask_pieces(&pieces, None);
    let mut out = String::with_capacity(text.len());
    for (i, line) in masked.iter().enumerate() {
        out.push_str(line);
        if let Some(b) = breaks.get(i) {
            out.push_str(b);
        }
    }
    out
}

/// Redacts one stream of output (a command's stdout, say) line by line as it arrives,
/// finding secrets that run over line breaks or over the cut of a long line: a line is
/// held back while its end could be the beginning of a secret, and released masked
/// once the next line shows it is not (or is) one. Lines come out in order, one for one.
pub struct StreamRedactor {
    redactor: Redactor,
    /// The end of the text released so far (unredacted, for matching only).
    carry: String,
    held: Vec<String>,
    /// Where in `carry` (and the held lines after it) an unfinished secret may begin:
    /// text before it was shown not to begin one, whatever follows.
    scan_from: usize,
}

impl StreamRedactor {
    /// Adds a line; returns the lines that can now be released, redacted.
    pub fn push(&mut self, line: &str) -> Vec<String> {
        self.held.push(line.to_owned());
        self.release(Release::Settled)
    }

    /// True while lines are held back.
    pub fn is_holding(&self) -> bool {
        !self.held.is_empty()
    }

    /// Releases every held line now (the stream went quiet): an end of four or more
    /// bytes that could begin a secret is masked, since its rest may follow later.
    pub fn flush(&mut self) -> Vec<String> {
        self.release(Release::Idle)
    }

    /// Releases every held line: the stream has ended.
    pub fn finish(&mut self) -> Vec<String> {
        let out = self.release(Release::End);
        self.carry.clear();
        self.scan_from = 0;
        out
    }

    fn release(&mut self, how: Release) -> Vec<String> {
        let inner = self
            .redactor
            .inner
            .read()
            .unwrap_or_else(|p| p.into_inner());
        let Some(m) = &inner.matcher else {
            self.carry.clear();
            self.scan_from = 0;
            return std::mem::take(&mut self.held);
        };
        let mut pieces: Vec<&str> = Vec::with_capacity(self.held.len() + 1);
        pieces.push(&self.carry);
        pieces.extend(self.held.iter().map(String::as_str));
        let joined: Vec<u8> = pieces.iter().flat_map(|p| p.bytes()).collect();
        let held_bytes = joined.len() - self.carry.len();
        // Releasing everything early masks an end that could begin a secret: one of four
        // bytes or more when the stream went quiet; any when more than MAX_CARRY bytes
        // are held (a line cut at the splitter's limit), since its rest is on its way.
        let tail = m.open_tail(&joined, self.scan_from);
        let masked_end = |least: usize| {
            let from = tail.max(self.carry.len());
            (joined.len() - from >= least).then_some((from, joined.len()))
        };
        let (open, extra) = match how {
            Release::End => (joined.len(), None),
            Release::Idle => (joined.len(), masked_end(MIN_DERIVED_LEN)),
            Release::Settled if held_bytes > MAX_CARRY => (joined.len(), masked_end(1)),
            Release::Settled => (tail, None),
        };
        // Release every held line that ends at or before `open`.
        let mut count = 0;
        let mut end = self.carry.len();
        for line in &self.held {
            if end + line.len() > open {
                break;
            }
            end += line.len();
            count += 1;
        }
        if count == 0 {
            self.scan_from = tail;
            return Vec::new();
        }
        let masked = m.mask_pieces(&pieces, extra);
        let out: Vec<String> = masked.into_iter().skip(1).take(count).collect();
        drop(inner);
        let released: Vec<String> = self.held.drain(..count).collect();
        for line in &released {
            self.carry.push_str(line);
        }
        let mut cut = 0;
        if self.carry.len() > MAX_CARRY {
            cut = ceil_boundary(&self.carry, self.carry.len() - MAX_CARRY);
            self.carry.drain(..cut);
        }
        self.scan_from = tail.saturating_sub(cut);
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Release {
    /// Only lines no later output can turn into part of a secret.
    Settled,
    /// Everything, masking an end that could begin a secret.
    Idle,
    /// Everything.
    End,
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
    // `\uXXXX` escapes: ASCII-only encoders (Python's default), HTML-safe ones (Go's
    // `<`, `>`, `&`), both, and every character escaped.
    let html = |c: char| matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}');
    out.insert(json_escape(s, |c| !c.is_ascii(), false));
    out.insert(json_escape(s, html, false));
    out.insert(json_escape(s, |c| html(c) || c == '\'', false));
    out.insert(json_escape(s, |c| !c.is_ascii() || html(c), false));
    out.insert(json_escape(s, |_| true, false));
    out.insert(json_escape(s, |_| true, true));
    out.insert(json_escape(s, |c| !c.is_ascii(), true));
    // Rust/Debug-style escaping of newlines and quotes differs little from JSON's; cover `\'`.
    out.insert(s.escape_default().to_string());
    // Shell quoting: inside single quotes (`'\''`), and inside double quotes.
    out.insert(s.replace('\'', "'\\''"));
    out.insert(shell_double_quoted(s));
    // URL encodings.
    for set in [NON_ALPHANUMERIC, URI_COMPONENT, UNRESERVED] {
        let upper = utf8_percent_encode(s, set).to_string();
        out.insert(lower_hex(&upper));
        out.insert(upper.replace("%20", "+"));
        out.insert(upper);
    }
    // Hex of the bytes.
    let bytes = s.as_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    out.insert(hex.to_ascii_uppercase());
    out.insert(hex);
    // base64, whole.
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

/// JSON string content with the characters `escape` picks written as `\uXXXX`
/// (surrogate pairs above U+FFFF; upper-case hex when `upper`).
fn json_escape(s: &str, escape: impl Fn(char) -> bool, upper: bool) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    let push_unit = |out: &mut String, u: u16| {
        if upper {
            out.push_str(&format!("\\u{u:04X}"));
        } else {
            out.push_str(&format!("\\u{u:04x}"));
        }
    };
    for c in s.chars() {
        match c {
            _ if escape(c) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    push_unit(&mut out, *u);
                }
            }
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => push_unit(&mut out, c as u16),
            c => out.push(c),
        }
    }
    out
}

/// The secret inside shell double quotes: `\`, `"`, `$` and `` ` `` backslash-escaped.
fn shell_double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
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
        // Hex, `\uXXXX` escapes, and the shell-quoted forms.
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        f.push(hex.to_ascii_uppercase());
        f.push(hex);
        f.push(
            secret
                .encode_utf16()
                .map(|u| format!("\\u{u:04x}"))
                .collect(),
        );
        f.push(python_ensure_ascii(secret));
        f.push(quote_inner(secret));
        f
    }

    /// What Python's `json.dumps` (ensure_ascii) writes between the quotes.
    fn python_ensure_ascii(s: &str) -> String {
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
                c => {
                    let mut b = [0u16; 2];
                    for u in c.encode_utf16(&mut b) {
                        out.push_str(&format!("\\u{u:04x}"));
                    }
                }
            }
        }
        out
    }

    /// `crate::shell::quote` without its outer quotes.
    fn quote_inner(s: &str) -> String {
        let q = String::from_utf8(crate::shell::quote(s)).unwrap();
        q[1..q.len() - 1].to_owned()
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
    fn new_forms_hex_unicode_escapes_and_shell_quotes() {
        let secret = "it's <ünïcode> & \"more\" $HOME";
        let r = Redactor::new();
        assert_eq!(r.register(secret), Registration::Registered);
        let go_json = serde_json::to_string(secret)
            .unwrap()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026");
        let cases = [
            secret
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
            python_ensure_ascii(secret),
            go_json[1..go_json.len() - 1].to_owned(),
            format!(
                "echo {}",
                String::from_utf8(crate::shell::quote(secret)).unwrap()
            ),
            "echo \"it's <ünïcode> & \\\"more\\\" \\$HOME\"".to_owned(),
        ];
        for text in cases {
            let out = r.redact(&text);
            assert!(out.contains(MASK), "{text} -> {out}");
            assert!(!out.contains("cod"), "{text} -> {out}");
        }
    }

    #[test]
    fn secrets_too_short_to_mask_safely_are_refused_and_counted() {
        let r = Redactor::new();
        assert_eq!(r.register("ab"), Registration::TooShort);
        assert_eq!(r.register("abcde"), Registration::TooShort);
        assert_eq!(r.register(""), Registration::Ignored);
        assert_eq!(r.take_refused(), 2);
        assert_eq!(r.take_refused(), 0);
        assert!(r.is_empty());
        assert_eq!(r.redact("about a cab"), "about a cab");
        assert_eq!(r.register("abcdef"), Registration::Registered);
        assert_eq!(r.register("abcdef"), Registration::Ignored);
        assert_eq!(r.redact("xabcdefx"), "x***x");
    }

    #[test]
    fn secrets_over_line_breaks_are_masked_in_each_line() {
        let r = Redactor::new();
        r.register("hunter2-correct-horse");
        assert_eq!(
            r.redact("pw: hunter2-cor\r\nrect-horse done"),
            "pw: ***\r\n*** done"
        );
        let mut s = r.stream();
        assert!(s.push("pw: hunter2-cor").is_empty(), "held: it may go on");
        let mut out = s.push("rect-horse done");
        out.extend(s.push("next"));
        out.extend(s.finish());
        assert_eq!(out, ["pw: ***", "*** done", "next"]);
        // A line that cannot begin a secret is released at once.
        let mut s = r.stream();
        assert_eq!(s.push("zzz"), vec!["zzz".to_owned()]);
        // Quiet: released, with a possible beginning of four or more bytes masked.
        assert!(s.push("then hunt").is_empty());
        assert_eq!(s.flush(), vec!["then ***".to_owned()]);
        assert_eq!(s.push("er2-correct-horse!"), vec!["***!".to_owned()]);
        // Strings of a JSON list are consecutive lines.
        let mut v = serde_json::json!({"output_tail": ["a hunter2-co", "rrect-horse b"]});
        r.redact_value(&mut v);
        assert_eq!(v["output_tail"], serde_json::json!(["a ***", "*** b"]));
    }

    #[test]
    fn base64_wrapped_at_76_columns_is_masked() {
        let secret = "s3cr3t-Pa55word-for-the-db";
        let r = Redactor::new();
        r.register(secret);
        for pad in 0..3 {
            let text = format!("{}{secret}{}", "y".repeat(57 + pad), "z".repeat(40));
            let b64 = STANDARD.encode(&text);
            let wrapped: Vec<&str> = b64
                .as_bytes()
                .chunks(76)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            let out = r.redact(&wrapped.join("\n")).replace('\n', "");
            let mut stream = r.stream();
            let mut lines = Vec::new();
            for l in &wrapped {
                lines.extend(stream.push(l));
            }
            lines.extend(stream.finish());
            assert_eq!(lines.len(), wrapped.len());
            let streamed = lines.concat();
            let skip = (3 - (57 + pad) % 3) % 3;
            let core = &secret.as_bytes()[skip..];
            let core = STANDARD_NO_PAD.encode(&core[..core.len() - core.len() % 3]);
            assert!(!out.contains(&core), "pad {pad}: {out}");
            assert!(!streamed.contains(&core), "pad {pad}: {streamed}");
            assert!(out.contains(MASK));
        }
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
            "[a-zA-Z0-9]{6,32}",
            "[ -~]{6,32}",
            "\\PC{6,24}",
            "[a-zA-Z0-9+/=:@%]{6,20}(\n[a-zA-Z0-9+/=]{6,20}){1,4}",
        ]
    }

    /// `text` cut at the char boundaries nearest to `cuts` (fractions of its length).
    fn cut(text: &str, cuts: &[f64]) -> Vec<String> {
        let mut at: Vec<usize> = cuts
            .iter()
            .map(|f| {
                let mut i = (text.len() as f64 * f) as usize;
                while !text.is_char_boundary(i) {
                    i -= 1;
                }
                i
            })
            .collect();
        at.sort_unstable();
        at.dedup();
        let mut pieces = Vec::new();
        let mut from = 0;
        for i in at {
            pieces.push(text[from..i].to_owned());
            from = i;
        }
        pieces.push(text[from..].to_owned());
        pieces
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

        #[test]
        fn no_secret_survives_random_splits_into_lines_or_chunks(
            secret in "[a-zA-Z0-9+/=:@%'\"<>&$ _-]{6,32}|\\PC{6,20}",
            other in "[a-zA-Z0-9]{6,16}",
            prefix in "[ -~]{0,40}",
            suffix in "[ -~]{0,40}",
            which in 0usize..12,
            cuts in proptest::collection::vec(0.0f64..1.0, 1..5),
            quiet in proptest::collection::vec(any::<bool>(), 6),
        ) {
            prop_assume!(!secret.contains('*'));
            let r = Redactor::new();
            r.register(&secret);
            r.register(&other);
            let all = forms(&secret);
            let form = all[which % all.len()].clone();
            prop_assume!(form.len() >= MIN_DERIVED_LEN);
            let text = format!("{prefix}{form}{suffix}");
            let pieces = cut(&text, &cuts);

            // One text with line breaks at the cuts.
            let out = r.redact(&pieces.join("\n"));
            prop_assert!(!out.replace('\n', "").contains(&form), "{form:?} survived in {out:?}");
            prop_assert_eq!(out.matches('\n').count(), pieces.len() - 1);

            // A stream of lines, going quiet (flush) at random moments.
            let mut stream = r.stream();
            let mut lines = Vec::new();
            for (i, p) in pieces.iter().enumerate() {
                lines.extend(stream.push(p));
                if quiet[i % quiet.len()] {
                    lines.extend(stream.flush());
                }
            }
            lines.extend(stream.finish());
            prop_assert_eq!(lines.len(), pieces.len(), "one line out for each line in");
            let joined = lines.concat();
            prop_assert!(!joined.contains(&form), "{form:?} survived in {lines:?}");
            prop_assert!(!joined.contains(secret.as_str()), "secret survived in {lines:?}");

            // Text without secrets comes out as it went in.
            let mut stream = r.stream();
            let mut plain = Vec::new();
            let clean = cut(&format!("{prefix}{suffix}"), &cuts);
            for p in &clean {
                plain.extend(stream.push(p));
            }
            plain.extend(stream.finish());
            if !r.redact(&clean.concat()).contains(MASK) {
                prop_assert_eq!(plain, clean);
            }
        }
    }
}
