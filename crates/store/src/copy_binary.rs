//! PostgreSQL's binary COPY format, for the log writer's bulk inserts.
//! Each tuple is a field count, then per field a length (-1 for NULL) and the bytes.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 UTC).
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// Builds a binary COPY payload tuple by tuple.
pub(crate) struct CopyBuf {
    buf: Vec<u8>,
}

impl CopyBuf {
    /// A payload with the binary COPY header.
    pub fn new(capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes());
        buf.extend_from_slice(&0i32.to_be_bytes());
        CopyBuf { buf }
    }

    /// Starts a tuple of `fields` fields.
    pub fn tuple(&mut self, fields: i16) {
        self.buf.extend_from_slice(&fields.to_be_bytes());
    }

    pub fn null(&mut self) {
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
    }

    pub fn uuid(&mut self, v: Uuid) {
        self.buf.extend_from_slice(&16i32.to_be_bytes());
        self.buf.extend_from_slice(v.as_bytes());
    }

    pub fn opt_uuid(&mut self, v: Option<Uuid>) {
        match v {
            Some(v) => self.uuid(v),
            None => self.null(),
        }
    }

    pub fn int8(&mut self, v: i64) {
        self.buf.extend_from_slice(&8i32.to_be_bytes());
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub fn timestamptz(&mut self, v: DateTime<Utc>) {
        self.int8(v.timestamp_micros() - PG_EPOCH_OFFSET_MICROS);
    }

    pub fn text(&mut self, v: &str) {
        self.buf.extend_from_slice(&(v.len() as i32).to_be_bytes());
        self.buf.extend_from_slice(v.as_bytes());
    }

    pub fn opt_text(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    /// A `jsonb` field: version byte 1, then the JSON text. `null` becomes SQL NULL.
    pub fn jsonb(&mut self, v: &serde_json::Value) {
        if v.is_null() {
            return self.null();
        }
        let len_at = self.buf.len();
        self.buf.extend_from_slice(&0i32.to_be_bytes());
        self.buf.push(1);
        serde_json::to_writer(&mut self.buf, v)
            .expect("serializing a JSON value into memory cannot fail");
        let len = (self.buf.len() - len_at - 4) as i32;
        self.buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
    }

    /// Adds the trailer and returns the payload.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_format() {
        let mut b = CopyBuf::new(64);
        b.tuple(2);
        b.int8(7);
        b.null();
        let out = b.finish();
        assert_eq!(&out[..11], b"PGCOPY\n\xff\r\n\0");
        assert_eq!(&out[19..21], &2i16.to_be_bytes());
        assert_eq!(&out[21..25], &8i32.to_be_bytes());
        assert_eq!(&out[25..33], &7i64.to_be_bytes());
        assert_eq!(&out[33..37], &(-1i32).to_be_bytes());
        assert_eq!(&out[37..], &(-1i16).to_be_bytes());
    }

    #[test]
    fn timestamps_count_from_2000() {
        let mut b = CopyBuf::new(64);
        b.timestamptz("2000-01-01T00:00:01Z".parse().unwrap());
        let out = b.finish();
        assert_eq!(&out[23..31], &1_000_000i64.to_be_bytes());
    }
}
