//! An incremental Server-Sent Events parser: feed it bytes as they arrive, get events.

/// One event as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

/// Accumulates bytes and yields complete events (comments such as `: keepalive` are dropped).
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    current: SseEvent,
    has_field: bool,
}

impl SseParser {
    /// Adds bytes; returns every event they completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
            let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line);
            if line.is_empty() {
                if self.has_field {
                    let mut ev = std::mem::take(&mut self.current);
                    if ev.event.is_empty() {
                        ev.event = "message".into();
                    }
                    out.push(ev);
                    self.has_field = false;
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line.as_ref(), ""),
            };
            match field {
                "id" => self.current.id = Some(value.to_owned()),
                "event" => self.current.event = value.to_owned(),
                "data" => {
                    if !self.current.data.is_empty() {
                        self.current.data.push('\n');
                    }
                    self.current.data.push_str(value);
                }
                _ => continue,
            }
            self.has_field = true;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_split_frames_comments_and_multiline_data() {
        let mut p = SseParser::default();
        assert!(
            p.feed(b"event: connected\ndata: {\"status\": \"conn")
                .is_empty()
        );
        let evs = p.feed(b"ected\"}\n\n: keepalive\n\nid: 7\r\nevent: deployment_progress\r\ndata: a\r\ndata: b\r\n\r\n");
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].event, "connected");
        assert_eq!(evs[0].data, "{\"status\": \"connected\"}");
        assert_eq!(evs[0].id, None);
        assert_eq!(evs[1].id.as_deref(), Some("7"));
        assert_eq!(evs[1].event, "deployment_progress");
        assert_eq!(evs[1].data, "a\nb");
        assert!(
            p.feed(b"retry: 3000\n\n").is_empty(),
            "a retry hint is not an event"
        );
    }
}
