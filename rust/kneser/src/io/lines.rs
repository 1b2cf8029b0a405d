//! A reader of `\n`-separated lines as bytes, with line numbers, that reuses one buffer.

use std::io::BufRead;

use crate::error::{Error, IoContext, Location, Result};

/// One line as read: its bytes without the `\n`, its 1-based number, and whether a `\n` ended it
/// (false only for text after the last newline).
#[derive(Debug, Clone, Copy)]
pub struct RawLine<'a> {
    /// The bytes of the line, without the terminating `\n` (a `\r` before it is kept).
    pub bytes: &'a [u8],
    /// 1-based line number.
    pub number: u64,
    /// Whether the line ended with `\n`.
    pub terminated: bool,
}

impl<'a> RawLine<'a> {
    /// The line as `&str`, or [`Error::InvalidUtf8`] naming `source` and the line.
    pub fn as_str(&self, source: &str) -> Result<&'a str> {
        std::str::from_utf8(self.bytes).map_err(|e| Error::InvalidUtf8 {
            at: Location::new(source, self.number),
            byte_offset: e.valid_up_to(),
        })
    }
}

/// Reads lines from any `BufRead`, keeping the file name for error messages.
pub struct LineReader<R> {
    inner: R,
    name: String,
    buf: Vec<u8>,
    number: u64,
}

impl<R: BufRead> LineReader<R> {
    /// A reader of `inner`; `name` appears in error messages.
    pub fn new(inner: R, name: impl Into<String>) -> Self {
        LineReader {
            inner,
            name: name.into(),
            buf: Vec::with_capacity(1 << 12),
            number: 0,
        }
    }

    /// The name given at construction.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next line, or `None` at the end of the input.
    pub fn next_line(&mut self) -> Result<Option<RawLine<'_>>> {
        self.buf.clear();
        let n = self
            .inner
            .read_until(b'\n', &mut self.buf)
            .at_path("cannot read", &self.name)?;
        if n == 0 {
            return Ok(None);
        }
        self.number += 1;
        let terminated = self.buf.last() == Some(&b'\n');
        let end = if terminated {
            self.buf.len() - 1
        } else {
            self.buf.len()
        };
        Ok(Some(RawLine {
            bytes: &self.buf[..end],
            number: self.number,
            terminated,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_lines_and_flags_the_unterminated_tail() {
        let mut r = LineReader::new(&b"a b\n\nlast"[..], "t");
        let l = r.next_line().unwrap().unwrap();
        assert_eq!((l.bytes, l.number, l.terminated), (&b"a b"[..], 1, true));
        let l = r.next_line().unwrap().unwrap();
        assert_eq!((l.bytes, l.number, l.terminated), (&b""[..], 2, true));
        let l = r.next_line().unwrap().unwrap();
        assert_eq!((l.bytes, l.number, l.terminated), (&b"last"[..], 3, false));
        assert!(r.next_line().unwrap().is_none());
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let mut r = LineReader::new(&b"ok\nbad \xff here\n"[..], "corpus.txt");
        r.next_line().unwrap();
        let l = r.next_line().unwrap().unwrap();
        let err = l.as_str("corpus.txt").unwrap_err();
        assert_eq!(
            err.to_string(),
            "corpus.txt:2: invalid UTF-8 at byte 4 of the line; re-encode the input as UTF-8 or enable replacement of invalid bytes"
        );
    }
}
