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

/// A set of separator bytes, for [`Spans`] (each set is defined where its rule is).
pub trait Separators {
    /// The separators (at least one: the last block of a text is padded with the first).
    const BYTES: &'static [u8];
}

/// lmplz's separators, [`LMPLZ_SEPARATORS`].
pub struct LmplzSeparators;

impl Separators for LmplzSeparators {
    const BYTES: &'static [u8] = LMPLZ_SEPARATORS.as_bytes();
}

/// A bit per byte of `block`: bit `i` is set when `block[i]` is one of `S`'s separators. On
/// x86_64 sixteen bytes at a time (SSE2, part of its baseline: one compare per separator),
/// elsewhere a byte at a time.
#[inline(always)]
pub fn separator_mask<S: Separators>(block: &[u8; 64]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
            _mm_setzero_si128,
        };
        let mut mask = 0u64;
        for (q, chunk) in block.chunks_exact(16).enumerate() {
            // SAFETY: SSE2 is part of the x86_64 baseline; the load reads the 16 bytes of
            // `chunk` (unaligned), nothing else.
            let bits = unsafe {
                let v = _mm_loadu_si128(chunk.as_ptr().cast());
                let mut hit = _mm_setzero_si128();
                for &sep in S::BYTES {
                    hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, _mm_set1_epi8(sep as i8)));
                }
                _mm_movemask_epi8(hit) as u16
            };
            mask |= u64::from(bits) << (16 * q);
        }
        mask
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        (block.iter().enumerate()).fold(0, |m, (i, b)| m | (u64::from(S::BYTES.contains(b)) << i))
    }
}

/// The words of `bytes` between `S`'s separators as byte ranges `(start, end)`, in order, empty
/// words skipped. The separators are found 64 bytes at a time ([`separator_mask`]; the last
/// block is padded with separators), and the words' starts and ends are the mask's edges, taken
/// lowest bit first.
pub struct Spans<'a, S> {
    bytes: &'a [u8],
    /// Where the block of `starts` and `ends` begins, and where the next one does.
    base: usize,
    next: usize,
    /// The block's token starts and ends not taken yet (bit `i`: byte `base + i`).
    starts: u64,
    ends: u64,
    /// Whether the byte before the next block is a separator (the text's start counts as one).
    before: u64,
    /// The start of a token whose end is not found yet, or `usize::MAX`.
    open: usize,
    set: std::marker::PhantomData<S>,
}

/// [`Spans`] under lmplz's rule: the tokens of [`lmplz_tokens`].
pub type LmplzSpans<'a> = Spans<'a, LmplzSeparators>;

/// [`Spans`] of `bytes` between `S`'s separators.
#[inline(always)]
pub fn spans<S: Separators>(bytes: &[u8]) -> Spans<'_, S> {
    Spans {
        bytes,
        base: 0,
        next: 0,
        starts: 0,
        ends: 0,
        before: 1,
        open: usize::MAX,
        set: std::marker::PhantomData,
    }
}

/// [`LmplzSpans`] of `bytes`.
#[inline(always)]
pub fn lmplz_spans(bytes: &[u8]) -> LmplzSpans<'_> {
    spans::<LmplzSeparators>(bytes)
}

impl<S: Separators> Iterator for Spans<'_, S> {
    type Item = (usize, usize);

    #[inline(always)]
    fn next(&mut self) -> Option<(usize, usize)> {
        loop {
            // In a block the starts and ends alternate, an open token's end first.
            if self.open != usize::MAX {
                if self.ends != 0 {
                    let end = self.base + self.ends.trailing_zeros() as usize;
                    self.ends &= self.ends - 1;
                    let start = std::mem::replace(&mut self.open, usize::MAX);
                    return Some((start, end));
                }
            } else if self.starts != 0 {
                let start = self.base + self.starts.trailing_zeros() as usize;
                self.starts &= self.starts - 1;
                if self.ends != 0 {
                    let end = self.base + self.ends.trailing_zeros() as usize;
                    self.ends &= self.ends - 1;
                    return Some((start, end));
                }
                self.open = start;
            }
            let n = self.bytes.len();
            if self.next >= n {
                if self.open == usize::MAX {
                    return None;
                }
                return Some((std::mem::replace(&mut self.open, usize::MAX), n));
            }
            let base = self.next;
            let block = self.bytes.get(base..base + 64);
            let sep = match block.and_then(|b| <&[u8; 64]>::try_from(b).ok()) {
                Some(block) => separator_mask::<S>(block),
                None => {
                    let mut block = [S::BYTES[0]; 64];
                    block[..n - base].copy_from_slice(&self.bytes[base..]);
                    separator_mask::<S>(&block)
                }
            };
            let shifted = (sep << 1) | self.before;
            (self.starts, self.ends) = (!sep & shifted, sep & !shifted);
            self.before = sep >> 63;
            (self.base, self.next) = (base, base + 64);
        }
    }
}

/// The tokens of `line` under lmplz's rule, a byte at a time: the plain statement of the rule
/// that [`lmplz_spans`] (what counting, encoding and tokenizing use) is tested against.
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
    fn the_space_mask_is_the_rule_at_every_position() {
        for b in 0..=255u8 {
            for at in 0..64 {
                let mut block = [b'a'; 64];
                block[at] = b;
                let want = if is_lmplz_space(b) { 1u64 << at } else { 0 };
                assert_eq!(
                    separator_mask::<LmplzSeparators>(&block),
                    want,
                    "byte {b:#x} at {at}"
                );
            }
        }
    }

    #[test]
    fn spans_are_the_tokens_of_the_rule() {
        let alphabet: &[u8] = b"ab \t\r\n\0\x0b\x0c\x1f\x21\xc3\xa9";
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..300 {
            for _ in 0..40 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        seed = seed
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        alphabet[(seed >> 33) as usize % alphabet.len()]
                    })
                    .collect();
                let spans: Vec<&[u8]> = lmplz_spans(&bytes).map(|(s, e)| &bytes[s..e]).collect();
                let want: Vec<&[u8]> = lmplz_tokens(&bytes).collect();
                assert_eq!(spans, want, "{bytes:?}");
            }
        }
        // Tokens that fill blocks and run over their ends.
        let long = [b"x".repeat(64), b"y".repeat(130)].join(&b' ');
        assert_eq!(lmplz_spans(&long).collect::<Vec<_>>(), [(0, 64), (65, 195)]);
    }

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
