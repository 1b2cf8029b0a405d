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
//! when it carries a backoff (allowed below the top order only; a missing backoff is 0). Words
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

/// Reads ARPA text from `input`; `name` is used in error messages. See [`read_arpa`].
pub fn read_arpa_from(
    input: impl BufRead,
    name: &str,
    visitor: &mut dyn ArpaVisitor,
    cancel: &Cancel,
) -> Result<()> {
    let mut lines = LineReader::new(input, name);
    let mut last_line = 0u64;
    let at = |line: u64| LineRef { source: name, line };

    // Skip anything before \data\.
    loop {
        let Some(line) = lines.next_line()? else {
            return Err(Error::format(
                name,
                last_line,
                "not an ARPA file: no \\data\\ header was found",
            ));
        };
        last_line = line.number;
        if trim(line.bytes) == b"\\data\\" {
            break;
        }
    }

    // The counts: `ngram N=count`, up to the first blank line.
    let mut counts: Vec<u64> = Vec::new();
    loop {
        let Some(line) = lines.next_line()? else {
            return Err(Error::format(
                name,
                last_line,
                "the file ends inside the \\data\\ header",
            ));
        };
        last_line = line.number;
        let text = trim(line.bytes);
        if text.is_empty() {
            if counts.is_empty() {
                continue;
            }
            break;
        }
        let (order, count) = parse_count_line(text).ok_or_else(|| {
            Error::format(
                name,
                line.number,
                format!(
                    "expected `ngram N=count` in the \\data\\ header, found {:?}",
                    String::from_utf8_lossy(text)
                ),
            )
        })?;
        if order != counts.len() + 1 {
            return Err(Error::format(
                name,
                line.number,
                format!(
                    "expected the count of order {} in the \\data\\ header, found order {order}",
                    counts.len() + 1
                ),
            ));
        }
        if order > MAX_ARPA_ORDER {
            return Err(Error::format(
                name,
                line.number,
                format!("order {order} is above the largest supported order {MAX_ARPA_ORDER}"),
            ));
        }
        counts.push(count);
    }
    visitor.header(&counts, at(last_line))?;

    let top = counts.len();
    let mut pending: Option<(Vec<u8>, u64)> = None;
    for (index, &expected) in counts.iter().enumerate() {
        let order = index + 1;
        let header = format!("\\{order}-grams:");
        // The section header, after blank lines.
        let (text, number) = match pending.take() {
            Some(p) => p,
            None => next_nonblank(&mut lines, &mut last_line)?.ok_or_else(|| {
                Error::format(
                    name,
                    last_line,
                    format!("the file ends before the {header} section"),
                )
            })?,
        };
        if text != header.as_bytes() {
            return Err(Error::format(
                name,
                number,
                format!(
                    "expected the {header} section, found {:?}",
                    String::from_utf8_lossy(&text)
                ),
            ));
        }
        let mut seen = 0u64;
        while let Some(line) = lines.next_line()? {
            last_line = line.number;
            let text = trim(line.bytes);
            if text.is_empty() {
                break;
            }
            if text.starts_with(b"\\") {
                // The next section or \end\ without a blank line before it.
                pending = Some((text.to_vec(), line.number));
                break;
            }
            if seen == expected {
                return Err(Error::format(
                    name,
                    line.number,
                    format!(
                        "the {header} section has more n-grams than the {expected} announced in the \\data\\ header"
                    ),
                ));
            }
            seen += 1;
            if seen.is_multiple_of(65_536) {
                cancel.check()?;
            }
            // At most top + 3 fields are kept: enough to tell a wrong count.
            let mut fields: [&[u8]; MAX_ARPA_ORDER + 3] = [&[]; MAX_ARPA_ORDER + 3];
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
            let with_backoff = match n_fields {
                n if n == order + 1 => false,
                n if n == order + 2 && order < top => true,
                n => {
                    let allowed = if order < top {
                        format!("{} or {}", order + 1, order + 2)
                    } else {
                        format!("{}", order + 1)
                    };
                    return Err(Error::format(
                        name,
                        line.number,
                        format!(
                            "a line of order {order} needs {allowed} fields (log10 p, {order} words{}), found {n}",
                            if order < top { ", optional backoff" } else { "" }
                        ),
                    ));
                }
            };
            let log10p = parse_float(fields[0])
                .ok_or_else(|| bad_number(name, line.number, "probability", fields[0]))?;
            let backoff = if with_backoff {
                let f = fields[order + 1];
                parse_float(f).ok_or_else(|| bad_number(name, line.number, "backoff", f))?
            } else {
                0.0
            };
            visitor.ngram(&fields[1..=order], log10p, backoff, at(line.number))?;
        }
        if seen != expected {
            return Err(Error::format(
                name,
                last_line,
                format!(
                    "the {header} section has {seen} n-grams but the \\data\\ header announced {expected}"
                ),
            ));
        }
        visitor.end_order(order, at(last_line))?;
    }

    // \end\ after blank lines.
    let (text, number) = match pending.take() {
        Some(p) => p,
        None => next_nonblank(&mut lines, &mut last_line)?.ok_or_else(|| {
            Error::format(
                name,
                last_line,
                "the file ends without \\end\\ (is it truncated?)",
            )
        })?,
    };
    if text == b"\\end\\" {
        return Ok(());
    }
    Err(Error::format(
        name,
        number,
        format!(
            "expected \\end\\ after the last section, found {:?}",
            String::from_utf8_lossy(&text)
        ),
    ))
}

/// The next line that is not blank, trimmed, with its number; `None` at the end of the input.
fn next_nonblank<R: BufRead>(
    lines: &mut LineReader<R>,
    last_line: &mut u64,
) -> Result<Option<(Vec<u8>, u64)>> {
    while let Some(line) = lines.next_line()? {
        *last_line = line.number;
        let text = trim(line.bytes);
        if !text.is_empty() {
            return Ok(Some((text.to_vec(), line.number)));
        }
    }
    Ok(None)
}

fn bad_number(name: &str, line: u64, what: &str, field: &[u8]) -> Error {
    Error::format(
        name,
        line,
        format!(
            "expected a {what} (a log10 number), found {:?}",
            String::from_utf8_lossy(field)
        ),
    )
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
        let top_backoff = GOOD.replace("-0.125\t<s> </s>", "-0.125\t<s> </s> -1");
        assert!(err(&top_backoff).contains("found 4"));
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
