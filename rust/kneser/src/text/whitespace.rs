//! lmplz's tokenization rule: tokens are separated by runs of space, tab, CR, LF and NUL.
//!
//! Input: one line as bytes. Output: its tokens as byte slices, in order, none empty. NBSP,
//! U+3000, vertical tab and form feed are *not* separators (they stay inside tokens), exactly as
//! in KenLM's `lmplz`. Memory: none beyond the iterator.

/// Whether `b` separates tokens under lmplz's rule.
#[inline]
pub fn is_lmplz_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0)
}

/// The tokens of `line` under lmplz's rule.
pub fn lmplz_tokens(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&b| is_lmplz_space(b)).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
