//! Every whitespace rule of kneser, in one place: each rule is named for what it is, and every
//! other module goes through it (the standard library's `split_whitespace`,
//! `char::is_whitespace`, `str::trim` and friends are banned by `clippy.toml`).
//!
//! * [`Rule::Lmplz`]: KenLM's token separators: space, tab, CR, LF and NUL, nothing else. NBSP,
//!   U+3000, vertical tab and form feed stay inside tokens, exactly as in `lmplz` (its corpus
//!   reader and its `--limit_vocab_file` reader use the same five bytes).
//! * [`Rule::Python`]: Python's `str.isspace()` / `str.split()` / `str.strip()`: Unicode
//!   `White_Space` plus the information separators U+001C..U+001F (bidi class B or S). What CCNet
//!   and jieba see as whitespace.
//! * [`Rule::Ascii`]: the C locale's `isspace` and Python's `bytes.strip()`: space, `\t`, `\n`,
//!   `\v`, `\f`, `\r`.
//! * [`Rule::Unicode`]: the Unicode `White_Space` property (Rust's `char::is_whitespace`).
//!
//! Input: a `char`, a byte or a `&str`. Output: whether it is whitespace, or the pieces or the
//! trimmed text. Memory: none beyond the iterators.

/// A whitespace rule; see the module doc for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// lmplz's five separators.
    Lmplz,
    /// Python's `str.isspace()`.
    Python,
    /// C's `isspace` (ASCII only).
    Ascii,
    /// Unicode `White_Space`.
    Unicode,
}

impl Rule {
    /// Every rule, for tests and documentation.
    pub const ALL: [Rule; 4] = [Rule::Lmplz, Rule::Python, Rule::Ascii, Rule::Unicode];

    /// The rule's name (`lmplz`, `python`, `ascii`, `unicode`).
    pub fn name(self) -> &'static str {
        match self {
            Rule::Lmplz => "lmplz",
            Rule::Python => "python",
            Rule::Ascii => "ascii",
            Rule::Unicode => "unicode",
        }
    }

    /// Whether `c` is whitespace under this rule.
    #[inline]
    pub fn is_space(self, c: char) -> bool {
        match self {
            Rule::Lmplz => c.is_ascii() && is_lmplz_space(c as u8),
            Rule::Python => is_python_space(c),
            Rule::Ascii => c.is_ascii() && is_ascii_space(c as u8),
            Rule::Unicode => is_unicode_space(c),
        }
    }

    /// The non-empty pieces of `text` between runs of whitespace (Python's `str.split()` for
    /// [`Rule::Python`]).
    pub fn split(self, text: &str) -> impl Iterator<Item = &str> {
        text.split(move |c| self.is_space(c))
            .filter(|t| !t.is_empty())
    }

    /// `text` without whitespace at either end.
    pub fn trim(self, text: &str) -> &str {
        text.trim_matches(|c| self.is_space(c))
    }
}

/// lmplz's five token separators, as bytes (for exports that need the set itself, such as the
/// huggingface pre-tokenizer of `Vocab.to_tokenizers`); [`is_lmplz_space`] is true exactly for
/// these.
pub const LMPLZ_SEPARATORS: &str = " \t\r\n\0";

/// Whether `b` separates tokens under lmplz's rule.
#[inline]
pub fn is_lmplz_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0)
}

/// The tokens of `line` under lmplz's rule.
pub fn lmplz_tokens(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&b| is_lmplz_space(b)).filter(|t| !t.is_empty())
}

/// Whether `b` is whitespace for C's `isspace` in the C locale.
#[inline]
pub fn is_ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// `line` without C-locale whitespace at either end (Python's `bytes.strip()`).
pub fn trim_ascii_bytes(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|&b| !is_ascii_space(b))
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|&b| !is_ascii_space(b))
        .map_or(start, |i| i + 1);
    &line[start..end]
}

/// Whether Python's `str.isspace()` is true for `c` (and so `str.strip()` removes it).
#[inline]
pub fn is_python_space(c: char) -> bool {
    if c.is_ascii() {
        matches!(
            c,
            '\t' | '\n' | '\x0b' | '\x0c' | '\r' | '\x1c'..='\x1f' | ' '
        )
    } else {
        is_unicode_space(c)
    }
}

/// Whether `c` has the Unicode `White_Space` property.
#[inline]
#[allow(clippy::disallowed_methods)] // the one place the standard rule is used
pub fn is_unicode_space(c: char) -> bool {
    c.is_whitespace()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lmplz_separators_are_the_bytes_of_the_rule() {
        let set: Vec<u8> = (0..=255u8).filter(|&b| is_lmplz_space(b)).collect();
        let mut listed = LMPLZ_SEPARATORS.as_bytes().to_vec();
        listed.sort_unstable();
        assert_eq!(set, listed);
    }

    #[test]
    fn splits_on_exactly_five_bytes() {
        let line = "a\tb\r c\0d  e\u{a0}f\u{3000}g\x0bh\x0ci".as_bytes();
        let toks: Vec<&[u8]> = lmplz_tokens(line).collect();
        assert_eq!(
            toks,
            vec![
                &b"a"[..],
                b"b",
                b"c",
                b"d",
                "e\u{a0}f\u{3000}g\x0bh\x0ci".as_bytes()
            ]
        );
        assert_eq!(lmplz_tokens(b"   ").count(), 0);
        let text = "a\tb\r c\0d  e\u{a0}f\u{3000}g\x0bh\x0ci";
        let by_rule: Vec<&[u8]> = Rule::Lmplz.split(text).map(str::as_bytes).collect();
        assert_eq!(by_rule, toks);
    }

    #[test]
    fn the_rules_differ_where_documented() {
        let cases = [
            // (char, lmplz, python, ascii, unicode)
            (' ', true, true, true, true),
            ('\0', true, false, false, false),
            ('\x0b', false, true, true, true),
            ('\x1c', false, true, false, false),
            ('\u{85}', false, true, false, true),
            ('\u{a0}', false, true, false, true),
            ('\u{3000}', false, true, false, true),
            ('\u{200b}', false, false, false, false),
            ('\u{180e}', false, false, false, false),
            ('a', false, false, false, false),
        ];
        for (c, l, p, a, u) in cases {
            let got: Vec<bool> = Rule::ALL.iter().map(|r| r.is_space(c)).collect();
            assert_eq!(got, vec![l, p, a, u], "{c:?}");
        }
        assert_eq!(Rule::Python.trim("\x1c a b \u{3000}"), "a b");
        assert_eq!(Rule::Lmplz.trim("\u{a0}a "), "\u{a0}a");
        assert_eq!(trim_ascii_bytes(b"\x0b a \x0c"), b"a");
    }
}
