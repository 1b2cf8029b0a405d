//! jieba's two dictionary formats, line by line, and Python's notion of whitespace.
//!
//! Input: one line as bytes, of a main dictionary (`word freq [tag]`, split on single spaces, as
//! jieba's `gen_pfdict` reads them) or of a user dictionary (`word [freq] [tag]`, matched like
//! jieba's `load_userdict` regex `^(.+?)( [0-9]+)?( [a-z]+)?$`). Output: the entry borrowed from
//! the line, or a message saying what is wrong (the caller adds the file and line).
//! Memory: none beyond the line.

/// Whether Python's `str.isspace` (and so the `\s` of its `re` module) holds for `c`.
#[inline]
pub(crate) fn is_py_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1c}'..='\u{20}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Strips the bytes Python's `bytes.strip()` removes (ASCII space, `\t`, `\n`, `\r`, `\v`, `\f`).
pub(crate) fn strip_ascii_space(line: &[u8]) -> &[u8] {
    crate::text::whitespace::trim_ascii_bytes(line)
}

/// Parses a frequency as Python's `int()` does for plain decimal text: surrounding whitespace,
/// an optional sign and ASCII digits, with single underscores allowed between digits.
/// Negative values are rejected (jieba would fail later taking their logarithm).
pub(crate) fn parse_freq(text: &str) -> Result<u64, String> {
    let t = text.trim_matches(is_py_space);
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'+') => (false, &t[1..]),
        Some(b'-') => (true, &t[1..]),
        _ => (false, t),
    };
    let bytes = digits.as_bytes();
    let well_formed = !bytes.is_empty()
        && bytes[0].is_ascii_digit()
        && bytes[bytes.len() - 1].is_ascii_digit()
        && bytes.iter().all(|b| b.is_ascii_digit() || *b == b'_')
        && !digits.contains("__");
    if !well_formed {
        return Err(format!("frequency {text:?} is not an integer"));
    }
    let mut value: u64 = 0;
    for b in bytes.iter().filter(|b| b.is_ascii_digit()) {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or_else(|| {
                format!(
                    "frequency {text:?} is too large (the maximum is {})",
                    u64::MAX
                )
            })?;
    }
    if negative && value != 0 {
        return Err(format!("frequency {text:?} is negative"));
    }
    Ok(value)
}

/// One entry of a main dictionary line, `word freq [tag ...]`, read as jieba's `gen_pfdict` does:
/// the stripped line split on single spaces, the first field the word and the second its
/// frequency. `Ok(None)` for a blank line (which jieba itself rejects).
pub(crate) fn parse_main_line(raw: &[u8]) -> Result<Option<(&str, u64)>, String> {
    let line = strip_ascii_space(raw);
    if line.is_empty() {
        return Ok(None);
    }
    let line = std::str::from_utf8(line).map_err(|e| {
        format!(
            "invalid UTF-8 at byte {} of the entry; the dictionary must be UTF-8",
            e.valid_up_to()
        )
    })?;
    let mut fields = line.split(' ');
    let word = fields.next().unwrap_or("");
    let Some(freq) = fields.next() else {
        return Err(format!(
            "expected `word frequency [tag]` separated by single spaces, found {line:?}"
        ));
    };
    if word.is_empty() {
        return Err(format!("empty word in entry {line:?}"));
    }
    Ok(Some((word, parse_freq(freq)?)))
}

/// A user-dictionary entry: the word, its frequency if given and its tag if given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserEntry<'a> {
    /// The word (may contain spaces).
    pub word: &'a str,
    /// The frequency, or `None` to let the segmenter suggest one.
    pub freq: Option<u64>,
    /// The part-of-speech tag (lowercase ASCII), if any.
    pub tag: Option<&'a str>,
}

/// Whether `rest` matches `( [0-9]+)?( [a-z]+)?$`, and the two groups if so.
fn match_freq_tag(rest: &str) -> Option<(Option<&str>, Option<&str>)> {
    let b = rest.as_bytes();
    let mut i = 0;
    let mut freq = None;
    if b.len() > 1 && b[0] == b' ' && b[1].is_ascii_digit() {
        let end = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        freq = Some(&rest[1..end]);
        i = end;
    }
    let mut tag = None;
    if b.len() > i + 1 && b[i] == b' ' && b[i + 1].is_ascii_lowercase() {
        let end = i
            + 1
            + b[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_lowercase())
                .count();
        tag = Some(&rest[i + 1..end]);
        i = end;
    }
    (i == b.len()).then_some((freq, tag))
}

/// Parses one line of a user dictionary as jieba's `load_userdict` does with a file opened in
/// binary mode (as it opens a path): strip ASCII whitespace, decode UTF-8, drop leading
/// byte-order marks, skip blank lines, then [`parse_user_entry`].
pub(crate) fn parse_user_line(raw: &[u8]) -> Result<Option<UserEntry<'_>>, String> {
    let line = std::str::from_utf8(strip_ascii_space(raw)).map_err(|e| {
        format!(
            "invalid UTF-8 at byte {} of the entry; the dictionary must be UTF-8",
            e.valid_up_to()
        )
    })?;
    parse_user_entry(line.trim_start_matches('\u{feff}'))
}

/// Parses one line of a user dictionary read as text (a file object opened in text mode):
/// jieba strips it with `str.strip()` (Python's whitespace) and keeps byte-order marks.
pub(crate) fn parse_user_text_line(line: &str) -> Result<Option<UserEntry<'_>>, String> {
    parse_user_entry(line.trim_matches(is_py_space))
}

/// Matches a stripped line against jieba's `^(.+?)( [0-9]+)?( [a-z]+)?$`: the shortest word (at
/// least one character) after which the rest of the line is ` digits` and/or ` lowercase-tag`.
/// `Ok(None)` for an empty line.
fn parse_user_entry(line: &str) -> Result<Option<UserEntry<'_>>, String> {
    let Some(first) = line.chars().next() else {
        return Ok(None);
    };
    // `.+?` is lazy: the first split point whose rest matches wins. The whole line always
    // matches with both groups empty, so the loop always returns.
    let mut split = first.len_utf8();
    loop {
        if let Some((freq, tag)) = match_freq_tag(&line[split..]) {
            let freq = freq.map(parse_freq).transpose()?;
            return Ok(Some(UserEntry {
                word: &line[..split],
                freq,
                tag,
            }));
        }
        match line[split..].chars().next() {
            Some(c) => split += c.len_utf8(),
            None => return Err(format!("cannot parse entry {line:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_parse_like_python_int() {
        assert_eq!(parse_freq("12"), Ok(12));
        assert_eq!(parse_freq("+1_000"), Ok(1000));
        assert_eq!(parse_freq(" 7\t"), Ok(7));
        assert_eq!(parse_freq("-0"), Ok(0));
        assert!(parse_freq("-3").is_err());
        assert!(parse_freq("1__0").is_err());
        assert!(parse_freq("_1").is_err());
        assert!(parse_freq("").is_err());
        assert!(parse_freq("n").is_err());
        assert!(parse_freq("99999999999999999999999").is_err());
    }

    #[test]
    fn main_lines_split_on_single_spaces() {
        assert_eq!(parse_main_line(b"AT&T 3 nz\n"), Ok(Some(("AT&T", 3))));
        assert_eq!(parse_main_line(b"  \r\n"), Ok(None));
        assert!(parse_main_line(b"word").is_err());
        assert!(parse_main_line(b"word  3").is_err());
        assert!(parse_main_line(b"word\t3").is_err());
        assert!(parse_main_line(b"w \xff").is_err());
    }

    #[test]
    fn user_lines_follow_the_lazy_regex() {
        let e = |w, f, t| {
            Some(UserEntry {
                word: w,
                freq: f,
                tag: t,
            })
        };
        assert_eq!(
            parse_user_line("云计算 5 n".as_bytes()),
            Ok(e("云计算", Some(5), Some("n")))
        );
        assert_eq!(
            parse_user_line("创新办 i".as_bytes()),
            Ok(e("创新办", None, Some("i")))
        );
        assert_eq!(parse_user_line(b"a b 5"), Ok(e("a b", Some(5), None)));
        assert_eq!(parse_user_line(b"a 1 2"), Ok(e("a 1", Some(2), None)));
        assert_eq!(parse_user_line(b"x 5 N"), Ok(e("x 5 N", None, None)));
        assert_eq!(parse_user_line(b"7"), Ok(e("7", None, None)));
        assert_eq!(parse_user_line(b"12 3"), Ok(e("12", Some(3), None)));
        assert_eq!(
            parse_user_line("\u{feff}\u{feff}词 2\r\n".as_bytes()),
            Ok(e("词", Some(2), None))
        );
        assert_eq!(parse_user_line("\u{feff}".as_bytes()), Ok(None));
        assert_eq!(parse_user_line(b" \t "), Ok(None));
    }

    #[test]
    fn text_lines_strip_python_whitespace_and_keep_byte_order_marks() {
        let e = |w, f, t| {
            Some(UserEntry {
                word: w,
                freq: f,
                tag: t,
            })
        };
        assert_eq!(
            parse_user_text_line("\u{3000}云计算 5 n\u{3000}\n"),
            Ok(e("云计算", Some(5), Some("n")))
        );
        assert_eq!(
            parse_user_text_line("\u{feff}词 2\n"),
            Ok(e("\u{feff}词", Some(2), None))
        );
        assert_eq!(parse_user_text_line("\u{85}\u{1c} \n"), Ok(None));
    }

    #[test]
    fn python_whitespace_table() {
        for c in [
            '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1c}', '\u{1f}', ' ', '\u{3000}',
        ] {
            assert!(is_py_space(c), "{c:?}");
        }
        for c in ['\0', 'a', '\u{200b}', '\u{feff}', '\u{180e}'] {
            assert!(!is_py_space(c), "{c:?}");
        }
    }
}
