//! Incremental decoding for the load client: HTTP/1.1 chunked bodies and SSE events,
//! with the end-to-end latency of each counted event taken from its `"timestamp"`.

use chrono::{DateTime, Utc};

/// Decodes a `Transfer-Encoding: chunked` body as its bytes arrive.
#[derive(Debug, Default)]
pub struct Dechunk {
    pending: Vec<u8>,
    /// Bytes left in the current chunk's data.
    remaining: usize,
    /// The CRLF after a chunk's data is still to be skipped.
    crlf: bool,
    /// The last (empty) chunk was seen.
    pub done: bool,
}

impl Dechunk {
    /// Feeds `input`; calls `out` with each piece of body data it completes.
    pub fn feed(&mut self, input: &[u8], mut out: impl FnMut(&[u8])) -> Result<(), String> {
        let joined;
        let buf: &[u8] = if self.pending.is_empty() {
            input
        } else {
            self.pending.extend_from_slice(input);
            joined = std::mem::take(&mut self.pending);
            &joined
        };
        let mut at = 0;
        while at < buf.len() && !self.done {
            if self.remaining > 0 {
                let n = self.remaining.min(buf.len() - at);
                out(&buf[at..at + n]);
                at += n;
                self.remaining -= n;
                self.crlf = self.remaining == 0;
                continue;
            }
            if self.crlf {
                if buf.len() - at < 2 {
                    break;
                }
                if &buf[at..at + 2] != b"\r\n" {
                    return Err("chunk not followed by CRLF".into());
                }
                at += 2;
                self.crlf = false;
                continue;
            }
            let Some(eol) = find(&buf[at..], b"\r\n") else {
                break;
            };
            let line = &buf[at..at + eol];
            let hex = line.split(|b| *b == b';').next().unwrap_or_default();
            let hex = std::str::from_utf8(hex).map_err(|_| "chunk size is not ASCII")?;
            let size = usize::from_str_radix(hex.trim(), 16)
                .map_err(|_| format!("bad chunk size {hex:?}"))?;
            at += eol + 2;
            if size == 0 {
                self.done = true;
            } else {
                self.remaining = size;
            }
        }
        self.pending = buf[at..].to_vec();
        Ok(())
    }
}

/// What the parser reports for one complete event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Seen {
    /// `event: connected`.
    Connected,
    /// An event of the counted type: its `id:` and latency in ms, when it had them.
    Counted {
        id: Option<i64>,
        latency_ms: Option<f32>,
    },
    /// A `: comment` line (keepalive).
    Comment,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Message,
    Connected,
    Counted,
    Other,
}

/// Splits an SSE body into events.
#[derive(Debug)]
pub struct SseParser {
    counted: Vec<u8>,
    line: Vec<u8>,
    kind: Kind,
    id: Option<i64>,
    data: bool,
    latency_ms: Option<f32>,
}

impl SseParser {
    /// A parser counting events named `counted`.
    pub fn new(counted: &str) -> SseParser {
        SseParser {
            counted: counted.as_bytes().to_vec(),
            line: Vec::new(),
            kind: Kind::Message,
            id: None,
            data: false,
            latency_ms: None,
        }
    }

    /// Feeds body bytes received at `now`; calls `seen` for each event completed.
    pub fn feed(&mut self, mut input: &[u8], now: DateTime<Utc>, mut seen: impl FnMut(Seen)) {
        while let Some(nl) = input.iter().position(|b| *b == b'\n') {
            let mut line = std::mem::take(&mut self.line);
            line.extend_from_slice(&input[..nl]);
            input = &input[nl + 1..];
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if let Some(s) = self.line_done(&line, now) {
                seen(s);
            }
            line.clear();
            self.line = line;
        }
        self.line.extend_from_slice(input);
    }

    fn line_done(&mut self, line: &[u8], now: DateTime<Utc>) -> Option<Seen> {
        if line.is_empty() {
            let s = match self.kind {
                Kind::Connected => Some(Seen::Connected),
                Kind::Counted if self.data => Some(Seen::Counted {
                    id: self.id,
                    latency_ms: self.latency_ms,
                }),
                _ => None,
            };
            self.kind = Kind::Message;
            self.id = None;
            self.data = false;
            self.latency_ms = None;
            return s;
        }
        if line[0] == b':' {
            return Some(Seen::Comment);
        }
        let (field, value) = match line.iter().position(|b| *b == b':') {
            Some(c) => (&line[..c], line[c + 1..].trim_ascii_start()),
            None => (line, &b""[..]),
        };
        match field {
            b"event" => {
                self.kind = if value == b"connected" {
                    Kind::Connected
                } else if value == self.counted.as_slice() {
                    Kind::Counted
                } else {
                    Kind::Other
                };
            }
            b"id" => self.id = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok()),
            b"data" => {
                self.data = true;
                if self.kind == Kind::Counted {
                    self.latency_ms = timestamp(value).map(|ts| {
                        (now - ts).num_microseconds().unwrap_or(i64::MAX) as f32 / 1000.0
                    });
                }
            }
            _ => {}
        }
        None
    }
}

/// The first `"timestamp": "…"` in a JSON text, anywhere in it.
pub fn timestamp(json: &[u8]) -> Option<DateTime<Utc>> {
    let key = find(json, b"\"timestamp\"")?;
    let rest = &json[key + 11..];
    let colon = rest.iter().position(|b| *b == b':')?;
    let rest = &rest[colon + 1..];
    let q1 = rest.iter().position(|b| *b == b'"')?;
    let rest = &rest[q1 + 1..];
    let q2 = rest.iter().position(|b| *b == b'"')?;
    let s = std::str::from_utf8(&rest[..q2]).ok()?;
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Position of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_decode_across_any_split() {
        let body = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
        for split in 1..body.len() {
            let mut d = Dechunk::default();
            let mut out = Vec::new();
            d.feed(&body[..split], |b| out.extend_from_slice(b))
                .unwrap();
            d.feed(&body[split..], |b| out.extend_from_slice(b))
                .unwrap();
            assert_eq!(out, b"hello, world", "split at {split}");
            assert!(d.done);
        }
    }

    #[test]
    fn events_are_counted_with_their_latency() {
        let now = Utc::now();
        let ts = (now - chrono::Duration::milliseconds(25)).to_rfc3339();
        let body = format!(
            "retry: 3000\nevent: connected\ndata: {{\"status\": \"connected\"}}\n\n: keepalive\n\n\
             id: 7\nevent: deployment_progress\ndata: {{\"type\": \"deployment_progress\", \"data\": {{\"timestamp\": \"{ts}\"}}}}\n\n\
             id: 8\nevent: environment_status\ndata: {{}}\n\n"
        );
        let mut p = SseParser::new("deployment_progress");
        let mut seen = Vec::new();
        for piece in body.as_bytes().chunks(3) {
            p.feed(piece, now, |s| seen.push(s));
        }
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert_eq!(seen[0], Seen::Connected);
        assert_eq!(seen[1], Seen::Comment);
        let Seen::Counted { id, latency_ms } = seen[2] else {
            panic!("{seen:?}")
        };
        assert_eq!(id, Some(7));
        assert!((latency_ms.unwrap() - 25.0).abs() < 0.01, "{latency_ms:?}");
    }

    #[test]
    fn timestamps_parse_in_both_layouts() {
        assert!(timestamp(br#"{"timestamp":"2026-01-02T03:04:05.123456Z"}"#).is_some());
        assert!(
            timestamp(br#"{"data": {"timestamp": "2026-01-02T03:04:05.123456+00:00"}}"#).is_some()
        );
        assert!(timestamp(br#"{"data": {}}"#).is_none());
    }
}
