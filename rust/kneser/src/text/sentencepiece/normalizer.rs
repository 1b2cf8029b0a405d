//! SentencePiece's normalizer: the `precompiled_charsmap` (a Darts double-array trie over UTF-8
//! bytes whose values are offsets into a blob of NUL-terminated replacement strings), applied
//! longest-match-first, then the whitespace options `add_dummy_prefix`,
//! `remove_extra_whitespaces` and `escape_whitespaces` (spaces become U+2581 `▁`).
//!
//! Blob layout (SentencePiece's `normalizer.cc` design): a little-endian `u32` giving the trie's
//! size in bytes, the trie as little-endian `u32` units, then the replacement strings.
//! A Darts unit packs: bit 8 = has a leaf, bits 0-7 (and 31) = label, bits 10-31 = offset
//! (shifted by 8 more when bit 9 is set), and for a leaf unit bits 0-30 = value.

use super::PrefixMatcher;

/// The space symbol SentencePiece puts for a space (U+2581).
pub const SPACE_SYMBOL: &str = "\u{2581}";

/// A Darts double array (read only).
#[derive(Debug, Clone, Default)]
pub(crate) struct DoubleArray {
    units: Vec<u32>,
}

impl DoubleArray {
    #[inline]
    fn has_leaf(unit: u32) -> bool {
        (unit >> 8) & 1 == 1
    }
    #[inline]
    fn value(unit: u32) -> u32 {
        unit & ((1 << 31) - 1)
    }
    #[inline]
    fn label(unit: u32) -> u32 {
        unit & ((1 << 31) | 0xff)
    }
    #[inline]
    fn offset(unit: u32) -> usize {
        ((unit >> 10) << ((unit & (1 << 9)) >> 6)) as usize
    }

    /// Whether some key starts with byte `b`.
    fn has_key_starting(&self, b: u8) -> bool {
        let Some(&root) = self.units.first() else {
            return false;
        };
        let pos = Self::offset(root) ^ b as usize;
        self.units
            .get(pos)
            .is_some_and(|&unit| Self::label(unit) == u32::from(b))
    }

    /// The longest key that is a prefix of `key`: (its length, its value).
    fn longest_prefix(&self, key: &[u8]) -> Option<(usize, u32)> {
        let units = &self.units;
        let mut pos = Self::offset(*units.first()?);
        let mut best = None;
        for (i, &b) in key.iter().enumerate() {
            pos ^= b as usize;
            let unit = *units.get(pos)?;
            if Self::label(unit) != u32::from(b) {
                return best;
            }
            pos ^= Self::offset(unit);
            if Self::has_leaf(unit) {
                let leaf = *units.get(pos)?;
                best = Some((i + 1, Self::value(leaf)));
            }
        }
        best
    }
}

/// The normalizer of one model.
#[derive(Debug, Clone)]
pub struct SpNormalizer {
    trie: Option<DoubleArray>,
    /// Per ASCII byte: no rule starts with it and it is not a space, so it normalizes to
    /// itself (runs of such bytes are copied at once).
    plain: [bool; 128],
    /// No rule starts with a space: a space normalizes to itself.
    space_plain: bool,
    normalized: Vec<u8>,
    pub(crate) add_dummy_prefix: bool,
    pub(crate) remove_extra_whitespaces: bool,
    pub(crate) escape_whitespaces: bool,
    pub(crate) treat_whitespace_as_suffix: bool,
}

impl SpNormalizer {
    /// A normalizer from a model's charsmap blob (empty for identity) and flags.
    pub(crate) fn new(
        charsmap: &[u8],
        add_dummy_prefix: bool,
        remove_extra_whitespaces: bool,
        escape_whitespaces: bool,
        treat_whitespace_as_suffix: bool,
    ) -> Result<Self, String> {
        let (trie, normalized) = if charsmap.is_empty() {
            (None, Vec::new())
        } else {
            if charsmap.len() < 4 {
                return Err("precompiled_charsmap shorter than its 4-byte header".into());
            }
            let size =
                u32::from_le_bytes([charsmap[0], charsmap[1], charsmap[2], charsmap[3]]) as usize;
            let rest = &charsmap[4..];
            if size > rest.len() || !size.is_multiple_of(4) {
                return Err(format!(
                    "precompiled_charsmap announces a trie of {size} bytes in {} bytes",
                    rest.len()
                ));
            }
            let units = rest[..size]
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            (Some(DoubleArray { units }), rest[size..].to_vec())
        };
        let mut plain = [false; 128];
        for (b, p) in plain.iter_mut().enumerate() {
            let b = b as u8;
            *p = b != b' ' && !trie.as_ref().is_some_and(|t| t.has_key_starting(b));
        }
        let space_plain = !trie.as_ref().is_some_and(|t| t.has_key_starting(b' '));
        Ok(SpNormalizer {
            plain,
            space_plain,
            trie,
            normalized,
            add_dummy_prefix,
            remove_extra_whitespaces,
            escape_whitespaces,
            treat_whitespace_as_suffix,
        })
    }

    /// The length of the run of characters at the start of `input` (UTF-8) that no rule
    /// matches at and that are not spaces: each is its own normal form, as the general step
    /// would write it. An ASCII byte no rule starts with by [`SpNormalizer::plain`]; any
    /// other character by a walk of the rules' trie from it that finds no rule (it ends at the
    /// first byte no rule goes on with: for a letter that only starts composition rules, such
    /// as `a` + U+0301, the byte after it).
    #[inline]
    fn plain_run(&self, input: &[u8]) -> usize {
        let mut at = 0;
        while let Some(&b) = input.get(at) {
            if b < 0x80 && self.plain[usize::from(b)] {
                at += 1;
                continue;
            }
            if b == b' '
                || self
                    .trie
                    .as_ref()
                    .is_some_and(|t| t.longest_prefix(&input[at..]).is_some())
            {
                break;
            }
            at += super::one_char_len(b);
        }
        at.min(input.len())
    }

    /// The normalized form of the longest prefix rule at the start of `input` and the bytes
    /// consumed. User-defined symbols (by `matcher`) are kept as they are.
    fn prefix<'a>(&'a self, input: &'a str, matcher: &PrefixMatcher) -> (&'a str, usize) {
        let (len, found) = matcher.prefix_match(input);
        if found {
            return (&input[..len], len);
        }
        if let Some(trie) = &self.trie {
            if let Some((len, value)) = trie.longest_prefix(input.as_bytes()) {
                if input.is_char_boundary(len) {
                    let start = (value as usize).min(self.normalized.len());
                    let tail = &self.normalized[start..];
                    let end = memchr::memchr(0, tail).unwrap_or(tail.len());
                    if let Ok(s) = std::str::from_utf8(&tail[..end]) {
                        return (s, len);
                    }
                }
            }
        }
        let n = input.chars().next().map_or(0, char::len_utf8);
        (&input[..n], n)
    }

    /// Normalizes `input` into `out` (cleared first) as SentencePiece does before encoding.
    pub fn normalize_into(&self, mut input: &str, matcher: &PrefixMatcher, out: &mut String) {
        out.clear();
        if input.is_empty() {
            return;
        }
        if self.remove_extra_whitespaces {
            while !input.is_empty() {
                let (s, n) = self.prefix(input, matcher);
                if s != " " {
                    break;
                }
                input = &input[n..];
            }
        }
        if input.is_empty() {
            return;
        }
        let space = if self.escape_whitespaces {
            SPACE_SYMBOL
        } else {
            " "
        };
        let mut prev_space = self.remove_extra_whitespaces;
        if !self.treat_whitespace_as_suffix && self.add_dummy_prefix {
            out.push_str(space);
        }
        let copy_plain = matcher.is_empty();
        while !input.is_empty() {
            if copy_plain {
                // A run of characters that are their own normal form and not spaces: as one
                // character after another, each copied and none a space.
                let run = self.plain_run(input.as_bytes());
                if run > 0 {
                    out.push_str(&input[..run]);
                    input = &input[run..];
                    prev_space = false;
                    continue;
                }
                if self.space_plain && input.as_bytes()[0] == b' ' {
                    // What the general step below does with a space that no rule rewrites:
                    // written unless it follows one (with remove_extra_whitespaces).
                    if !prev_space {
                        out.push_str(space);
                    }
                    prev_space = self.remove_extra_whitespaces;
                    input = &input[1..];
                    continue;
                }
            }
            let (mut s, n) = self.prefix(input, matcher);
            if prev_space {
                s = s.trim_start_matches(' ');
            }
            if !s.is_empty() {
                if self.escape_whitespaces && s.as_bytes().contains(&b' ') {
                    for piece in s.split_inclusive(' ') {
                        match piece.strip_suffix(' ') {
                            Some(head) => {
                                out.push_str(head);
                                out.push_str(SPACE_SYMBOL);
                            }
                            None => out.push_str(piece),
                        }
                    }
                } else {
                    out.push_str(s);
                }
                prev_space = s.ends_with(' ');
            }
            input = &input[n..];
            if !self.remove_extra_whitespaces {
                prev_space = false;
            }
        }
        if self.remove_extra_whitespaces {
            while out.ends_with(space) {
                out.truncate(out.len() - space.len());
            }
        }
        if self.treat_whitespace_as_suffix && self.add_dummy_prefix {
            out.push_str(space);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_whitespace_rules() {
        let m = PrefixMatcher::default();
        let n = SpNormalizer::new(&[], true, true, true, false).unwrap();
        let mut out = String::new();
        n.normalize_into("  a  b ", &m, &mut out);
        assert_eq!(out, "▁a▁b");
        let n = SpNormalizer::new(&[], false, false, true, false).unwrap();
        n.normalize_into(" a  b", &m, &mut out);
        assert_eq!(out, "▁a▁▁b");
        n.normalize_into("", &m, &mut out);
        assert_eq!(out, "");
    }

    #[test]
    fn bad_charsmap_is_an_error() {
        assert!(SpNormalizer::new(&[1, 2], true, true, true, false).is_err());
        assert!(SpNormalizer::new(&[200, 0, 0, 0, 1], true, true, true, false).is_err());
    }
}
