//! Splits a byte stream into lines as it arrives, bounded in memory.

/// Longest line kept whole; a longer one is cut into pieces of this size.
pub const MAX_LINE: usize = 16 * 1024;

/// Accumulates chunks of output and yields complete lines (without `\n` or a trailing `\r`).
#[derive(Debug, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    /// An empty splitter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a chunk; returns the lines it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        for &b in chunk {
            if b == b'\n' {
                lines.push(take_line(&mut self.buf));
            } else {
                self.buf.push(b);
                if self.buf.len() >= MAX_LINE {
                    lines.push(std::mem::take(&mut self.buf));
                }
            }
        }
        lines
    }

    /// The unterminated last line, if any output is left.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        if self.buf.is_empty() {
            None
        } else {
            Some(take_line(&mut self.buf))
        }
    }
}

fn take_line(buf: &mut Vec<u8>) -> Vec<u8> {
    let mut line = std::mem::take(buf);
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_span_chunks_and_long_lines_are_cut() {
        let mut s = LineSplitter::new();
        assert!(s.push(b"hel").is_empty());
        assert_eq!(s.push(b"lo\r\nwor"), vec![b"hello".to_vec()]);
        assert_eq!(s.push(b"ld\n\n"), vec![b"world".to_vec(), b"".to_vec()]);
        assert_eq!(s.push(b"tail"), Vec::<Vec<u8>>::new());
        assert_eq!(s.finish(), Some(b"tail".to_vec()));
        assert_eq!(s.finish(), None);
        let long = vec![b'x'; MAX_LINE + 5];
        let lines = s.push(&long);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].len(), MAX_LINE);
        assert_eq!(s.finish().unwrap().len(), 5);
    }
}
