//! A streaming reader of ARPA language-model files (KenLM's, SRILM's and ours).
//!
//! Input: an ARPA file, plain or compressed (gzip, xz, zstd: see [`crate::io::open_input`]):
//!
//! ```text
//! \data\
//! ngram 1=3
//! ngram 2=1
//!
//! \1-grams:
//! -1.0<TAB><unk><TAB>0
//! 0<TAB><s><TAB>-0.3
//! -0.5<TAB></s>
//!
//! \2-grams:
//! -0.2<TAB><s> </s>
//!
//! \end\
//! ```
//!
//! Output: the header counts, then every n-gram in file order, passed to an [`ArpaVisitor`] as
//! `(order, words, log10 p, backoff)`. Fields are separated by runs of tab, space, CR and LF
//! (vertical tab and form feed stay inside words, as in KenLM's reader): a line of order `n` has `n + 1` fields, or `n + 2`
//! when it carries a backoff (below the top order; on the top order only an explicit zero, as
//! KenLM accepts; a missing backoff is 0). Words
//! are bytes: they are not required to be UTF-8. Lines before `\data\` are skipped (some tools
//! write comments there); blank lines separate sections.
//!
//! Errors: every departure from the format (a wrong field count, a number that does not parse
//! or is NaN, a section whose n-gram count differs from the header, a missing section or `\end\`)
//! is an [`Error::Format`] naming the file and the line.
//!
//! Memory: one line buffer; nothing is kept between lines except the header counts.

use std::io::BufRead;
use std::path::Path;

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::io::{display_name, open_input, LineReader};

/// The largest order the reader accepts.
pub const MAX_ARPA_ORDER: usize = 16;

/// Where an n-gram came from, for the error messages of a visitor.
#[derive(Debug, Clone, Copy)]
pub struct LineRef<'a> {
    /// The file name as given (`<stdin>` for `-`).
    pub source: &'a str,
    /// 1-based line number.
    pub line: u64,
}

impl LineRef<'_> {
    /// An [`Error::Format`] at this line.
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::format(self.source, self.line, message)
    }
}

/// Receives the content of an ARPA file as [`read_arpa`] parses it.
pub trait ArpaVisitor {
    /// The counts of the `\data\` header: `counts[n - 1]` n-grams of order `n`.
    fn header(&mut self, counts: &[u64], at: LineRef<'_>) -> Result<()>;

    /// One n-gram of order `words.len()`, in file order. `backoff` is 0 when the line has none.
    fn ngram(&mut self, words: &[&[u8]], log10p: f32, backoff: f32, at: LineRef<'_>) -> Result<()>;

    /// The section of `order` is complete (its count matched the header).
    fn end_order(&mut self, order: usize, at: LineRef<'_>) -> Result<()>;
}

/// Whether `b` separates fields in an ARPA line: tab, LF, CR and space. Vertical tab and form
/// feed are not separators here (lmplz keeps them inside words, and KenLM's ARPA reader reads
/// such words back whole).
#[inline]
pub fn is_arpa_field_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\r' | b' ')
}

/// Whether `b` separates words in text to score: tab, LF, VT, FF, CR and space, as C's
/// `isspace` in the C locale, Python's `bytes.split()` (which the kenlm module uses) and KenLM's
/// `query`.
#[inline]
pub fn is_arpa_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// The bytes of [`is_arpa_space`], for [`crate::text::whitespace::Spans`].
pub struct ArpaSpaces;

impl crate::text::whitespace::Separators for ArpaSpaces {
    const BYTES: &'static [u8] = b"\t\n\x0b\x0c\r ";
}

/// Reads the ARPA file at `path` (`-` for stdin) into `visitor`, polling `cancel` every 64k
/// lines.
///
/// Args:
///     path: the ARPA file, plain or gzip/xz/zstd-compressed.
///     visitor: receives the header and each n-gram.
///     cancel: checked between blocks of lines.
///
/// Example:
///     `read_arpa(Path::new("lm.arpa.xz"), &mut my_visitor, &Cancel::new())?`
pub fn read_arpa(path: &Path, visitor: &mut dyn ArpaVisitor, cancel: &Cancel) -> Result<()> {
    let input = open_input(path)?;
    read_arpa_from(input, &display_name(path), visitor, cancel)
}

/// The counts of the `\data\` header of the ARPA file at `path` (`-` for stdin), reading
/// nothing past the header (what build_binary's memory estimate reads).
pub fn read_arpa_counts(path: &Path) -> Result<Vec<u64>> {
    let name = display_name(path);
    let mut reader = Reader::new(open_input(path)?, &name);
    reader.skip_preamble()?;
    reader.header_counts()
}

/// Reads ARPA text from `input`; `name` is used in error messages. See [`read_arpa`].
pub fn read_arpa_from(
    input: impl BufRead,
    name: &str,
    visitor: &mut dyn ArpaVisitor,
    cancel: &Cancel,
) -> Result<()> {
    let mut reader = Reader::new(input, name);
    reader.skip_preamble()?;
    let counts = reader.header_counts()?;
    visitor.header(&counts, reader.at(reader.last_line))?;
    for (index, &expected) in counts.iter().enumerate() {
        reader.section(index + 1, counts.len(), expected, visitor, cancel)?;
    }
    reader.end()
}

/// The state of one read: the lines, the number of the last line read (for errors at the end
/// of the input) and a section header met without a blank line before it.
struct Reader<'n, R> {
    lines: LineReader<R>,
    name: &'n str,
    last_line: u64,
    pending: Option<(Vec<u8>, u64)>,
}

impl<'n, R: BufRead> Reader<'n, R> {
    fn new(input: R, name: &'n str) -> Self {
        Reader {
            lines: LineReader::new(input, name),
            name,
            last_line: 0,
            pending: None,
        }
    }

    fn at(&self, line: u64) -> LineRef<'_> {
        LineRef {
            source: self.name,
            line,
        }
    }

    fn error(&self, line: u64, message: impl Into<String>) -> Error {
        Error::format(self.name, line, message)
    }

    /// Skips anything before `\data\`.
    fn skip_preamble(&mut self) -> Result<()> {
        loop {
            let Some(line) = self.lines.next_line()? else {
                return Err(self.error(
                    self.last_line,
                    "not an ARPA file: no \\data\\ header was found",
                ));
            };
            self.last_line = line.number;
            if trim(line.bytes) == b"\\data\\" {
                return Ok(());
            }
        }
    }

    /// The counts: `ngram N=count`, up to the first blank line after one.
    fn header_counts(&mut self) -> Result<Vec<u64>> {
        let mut counts: Vec<u64> = Vec::new();
        loop {
            let Some(line) = self.lines.next_line()? else {
                return Err(self.error(self.last_line, "the file ends inside the \\data\\ header"));
            };
            self.last_line = line.number;
            let text = trim(line.bytes);
            if text.is_empty() {
                if counts.is_empty() {
                    continue;
                }
                return Ok(counts);
            }
            let number = line.number;
            let (order, count) = parse_count_line(text).ok_or_else(|| {
                let found = String::from_utf8_lossy(text).into_owned();
                Error::format(
                    self.name,
                    number,
                    format!("expected `ngram N=count` in the \\data\\ header, found {found:?}"),
                )
            })?;
            check_count_order(order, counts.len() + 1).map_err(|m| self.error(number, m))?;
            counts.push(count);
        }
    }

    /// The next non-blank line: the pending section header, or one read now.
    fn next_nonblank(&mut self) -> Result<Option<(Vec<u8>, u64)>> {
        if let Some(p) = self.pending.take() {
            return Ok(Some(p));
        }
        while let Some(line) = self.lines.next_line()? {
            self.last_line = line.number;
            let text = trim(line.bytes);
            if !text.is_empty() {
                return Ok(Some((text.to_vec(), line.number)));
            }
        }
        Ok(None)
    }

    /// The section of `order`: its header, then `expected` n-gram lines up to a blank line or
    /// the next `\` line, each passed to `visitor`.
    fn section(
        &mut self,
        order: usize,
        top: usize,
        expected: u64,
        visitor: &mut dyn ArpaVisitor,
        cancel: &Cancel,
    ) -> Result<()> {
        let header = format!("\\{order}-grams:");
        let Some((text, number)) = self.next_nonblank()? else {
            let message = format!("the file ends before the {header} section");
            return Err(self.error(self.last_line, message));
        };
        if text != header.as_bytes() {
            let found = String::from_utf8_lossy(&text);
            return Err(self.error(
                number,
                format!("expected the {header} section, found {found:?}"),
            ));
        }
        let mut seen = 0u64;
        while let Some(line) = self.lines.next_line()? {
            self.last_line = line.number;
            let text = trim(line.bytes);
            if text.is_empty() {
                break;
            }
            if text.starts_with(b"\\") {
                // The next section or \end\ without a blank line before it.
                self.pending = Some((text.to_vec(), line.number));
                break;
            }
            let at = LineRef {
                source: self.name,
                line: line.number,
            };
            if seen == expected {
                return Err(at.error(format!(
                    "the {header} section has more n-grams than the {expected} announced in the \\data\\ header"
                )));
            }
            seen += 1;
            if seen.is_multiple_of(65_536) {
                cancel.check()?;
            }
            let (fields, log10p, backoff) = parse_ngram_line(text, order, top, at)?;
            visitor.ngram(&fields[1..=order], log10p, backoff, at)?;
        }
        if seen != expected {
            return Err(self.error(
                self.last_line,
                format!(
                    "the {header} section has {seen} n-grams but the \\data\\ header announced {expected}"
                ),
            ));
        }
        visitor.end_order(order, self.at(self.last_line))
    }

    /// `\end\` after blank lines.
    fn end(&mut self) -> Result<()> {
        let Some((text, number)) = self.next_nonblank()? else {
            let message = "the file ends without \\end\\ (is it truncated?)";
            return Err(self.error(self.last_line, message));
        };
        if text == b"\\end\\" {
            return Ok(());
        }
        let found = String::from_utf8_lossy(&text);
        Err(self.error(
            number,
            format!("expected \\end\\ after the last section, found {found:?}"),
        ))
    }
}

/// Checks that the header's count line of `order` is the one expected next, and supported.
fn check_count_order(order: usize, expected: usize) -> std::result::Result<(), String> {
    if order != expected {
        return Err(format!(
            "expected the count of order {expected} in the \\data\\ header, found order {order}"
        ));
    }
    if order > MAX_ARPA_ORDER {
        return Err(format!(
            "order {order} is above the largest supported order {MAX_ARPA_ORDER}"
        ));
    }
    Ok(())
}

/// At most top + 3 fields are kept: enough to tell a wrong count.
type Fields<'a> = [&'a [u8]; MAX_ARPA_ORDER + 3];

/// One n-gram line of `order` (of a model of order `top`): its fields, log10 p and backoff (0
/// when absent). Below the top order a backoff is optional; on the top order only an explicit
/// zero is accepted, as KenLM accepts it.
fn parse_ngram_line<'a>(
    text: &'a [u8],
    order: usize,
    top: usize,
    at: LineRef<'_>,
) -> Result<(Fields<'a>, f32, f32)> {
    let mut fields: Fields<'a> = [&[]; MAX_ARPA_ORDER + 3];
    let mut n_fields = 0usize;
    for f in text
        .split(|&b| is_arpa_field_space(b))
        .filter(|f| !f.is_empty())
    {
        if n_fields < fields.len() {
            fields[n_fields] = f;
        }
        n_fields += 1;
    }
    let backoff_field = match n_fields {
        n if n == order + 1 => None,
        n if n == order + 2 => Some(fields[order + 1]),
        n => return Err(at.error(field_count_message(order, top, n))),
    };
    let number = |what: &str, f: &[u8]| parse_float(f).ok_or_else(|| bad_number(at, what, f));
    let log10p = number("probability", fields[0])?;
    let backoff = match backoff_field {
        None => 0.0,
        Some(f) if order < top => number("backoff", f)?,
        Some(f) => {
            if number("backoff", f)? != 0.0 {
                return Err(at.error(format!(
                    "non-zero backoff {} on an n-gram of the top order {order}, which has no backoff",
                    String::from_utf8_lossy(f)
                )));
            }
            0.0
        }
    };
    Ok((fields, log10p, backoff))
}

/// The message for a line of `order` with `n` fields.
fn field_count_message(order: usize, top: usize, n: usize) -> String {
    let (allowed, optional) = if order < top {
        (
            format!("{} or {}", order + 1, order + 2),
            ", optional backoff",
        )
    } else {
        (format!("{}", order + 1), "")
    };
    format!("a line of order {order} needs {allowed} fields (log10 p, {order} words{optional}), found {n}")
}

fn bad_number(at: LineRef<'_>, what: &str, field: &[u8]) -> Error {
    at.error(format!(
        "expected a {what} (a log10 number), found {:?}",
        String::from_utf8_lossy(field)
    ))
}

/// The bytes without leading and trailing ARPA spaces.
fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_arpa_field_space(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_arpa_field_space(b))
        .map_or(start, |p| p + 1);
    &bytes[start..end]
}

/// `ngram N=count` (spaces around `=` tolerated).
fn parse_count_line(text: &[u8]) -> Option<(usize, u64)> {
    let text = std::str::from_utf8(text).ok()?;
    let rest = text.strip_prefix("ngram")?;
    let (order, count) = rest.split_once('=')?;
    let order: usize = crate::text::whitespace::Rule::Unicode
        .trim(order)
        .parse()
        .ok()?;
    let count: u64 = crate::text::whitespace::Rule::Unicode
        .trim(count)
        .parse()
        .ok()?;
    if order == 0 {
        return None;
    }
    Some((order, count))
}

/// A log10 value: a decimal number, or `-inf`/`inf` (SRILM and some tools write `-inf`). NaN is
/// refused.
pub(crate) fn parse_float(field: &[u8]) -> Option<f32> {
    let text = std::str::from_utf8(field).ok()?;
    let value: f32 = text.parse().ok()?;
    if value.is_nan() {
        None
    } else {
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arpa_space_set_is_the_rule() {
        use crate::text::whitespace::{separator_mask, Separators};
        let set: Vec<u8> = (0..=255u8).filter(|&b| is_arpa_space(b)).collect();
        assert_eq!(ArpaSpaces::BYTES, set.as_slice());
        for b in 0..=255u8 {
            let mut block = [b'a'; 64];
            block[37] = b;
            let want = u64::from(is_arpa_space(b)) << 37;
            assert_eq!(separator_mask::<ArpaSpaces>(&block), want, "byte {b:#x}");
        }
    }

    #[derive(Default)]
    struct Collect {
        counts: Vec<u64>,
        grams: Vec<(Vec<String>, f32, f32)>,
        ends: Vec<usize>,
    }

    impl ArpaVisitor for Collect {
        fn header(&mut self, counts: &[u64], _at: LineRef<'_>) -> Result<()> {
            self.counts = counts.to_vec();
            Ok(())
        }
        fn ngram(&mut self, words: &[&[u8]], p: f32, b: f32, _at: LineRef<'_>) -> Result<()> {
            let words = words
                .iter()
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            self.grams.push((words, p, b));
            Ok(())
        }
        fn end_order(&mut self, order: usize, _at: LineRef<'_>) -> Result<()> {
            self.ends.push(order);
            Ok(())
        }
    }

    fn read(text: &str) -> Result<Collect> {
        let mut c = Collect::default();
        read_arpa_from(text.as_bytes(), "t.arpa", &mut c, &Cancel::new())?;
        Ok(c)
    }

    const GOOD: &str = "\\data\\\nngram 1=3\nngram 2=1\n\n\\1-grams:\n-1\t<unk>\t0\n0\t<s>\t-0.5\n-0.25 </s>\n\n\\2-grams:\n-0.125\t<s> </s>\n\n\\end\\\n";

    #[test]
    fn reads_tabs_and_spaces() {
        let c = read(GOOD).unwrap();
        assert_eq!(c.counts, vec![3, 1]);
        assert_eq!(c.grams.len(), 4);
        assert_eq!(c.grams[1], (vec!["<s>".to_string()], 0.0, -0.5));
        assert_eq!(c.grams[2], (vec!["</s>".to_string()], -0.25, 0.0));
        assert_eq!(
            c.grams[3],
            (vec!["<s>".to_string(), "</s>".to_string()], -0.125, 0.0)
        );
        assert_eq!(c.ends, vec![1, 2]);
    }

    fn err(text: &str) -> String {
        match read(text) {
            Ok(_) => panic!("accepted a corrupt ARPA"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn corruption_names_the_line() {
        let bad_number = GOOD.replace("-0.25 </s>", "-0.2x5 </s>");
        assert!(err(&bad_number).starts_with("t.arpa:8: expected a probability"));
        let fields = GOOD.replace("-0.125\t<s> </s>", "-0.125\t<s>");
        assert!(err(&fields).starts_with("t.arpa:11: a line of order 2 needs 3 fields"));
        let top_backoff = GOOD.replace("-0.125\t<s> </s>", "-0.125\t<s> </s>\t-1");
        assert!(err(&top_backoff)
            .starts_with("t.arpa:11: non-zero backoff -1 on an n-gram of the top order 2"));
        let top_fields = GOOD.replace("-0.125\t<s> </s>", "-0.125\t<s> </s>\t0\t0");
        assert!(err(&top_fields).contains("found 5"));
        let top_word = GOOD.replace("-0.125\t<s> </s>", "-0.125\t<s> </s>\tzero");
        assert!(err(&top_word).contains("expected a backoff"));
        let count = GOOD.replace("ngram 1=3", "ngram 1=4");
        assert!(err(&count).contains("has 3 n-grams but the \\data\\ header announced 4"));
        let more = GOOD.replace("ngram 1=3", "ngram 1=2");
        assert!(err(&more).starts_with("t.arpa:8: the \\1-grams: section has more"));
        let truncated = &GOOD[..GOOD.len() - 7];
        assert!(err(truncated).contains("without \\end\\"));
        assert!(err("hello\n").contains("no \\data\\ header"));
        let nan = GOOD.replace("-0.25 </s>", "NaN </s>");
        assert!(err(&nan).contains("probability"));
        let missing = GOOD.replace("\\2-grams:", "\\3-grams:");
        assert!(err(&missing).starts_with("t.arpa:10: expected the \\2-grams: section"));
    }

    #[test]
    fn explicit_zero_backoff_on_the_top_order() {
        for zero in ["0", "-0", "0.0", "+0", ".0", "0.", "0e3", "-0.000"] {
            let text = GOOD.replace("-0.125\t<s> </s>", &format!("-0.125\t<s> </s>\t{zero}"));
            let c = read(&text).unwrap();
            assert_eq!(c.grams[3].2, 0.0, "{zero}");
            assert_eq!(c.grams[3].1, -0.125, "{zero}");
        }
    }

    #[test]
    fn vertical_tab_and_form_feed_stay_in_words() {
        let text = GOOD
            .replace("-0.25 </s>", "-0.25 </s>\n-1\ta\x0bb\x0c")
            .replace("ngram 1=3", "ngram 1=4");
        let c = read(&text).unwrap();
        assert_eq!(c.grams[3].0, vec!["a\x0bb\x0c".to_string()]);
    }

    #[test]
    fn skips_preamble_and_accepts_crlf() {
        let text = format!("# a comment\n{}", GOOD.replace('\n', "\r\n"));
        let c = read(&text).unwrap();
        assert_eq!(c.grams.len(), 4);
    }
}
