//! Text holding lone surrogates (a Python `str` that is not valid Unicode), carried through
//! text processing unchanged, as Python code carries them.
//!
//! Input: "surrogate-passing UTF-8", the bytes of Python's `s.encode("utf-8",
//! "surrogatepass")`: UTF-8 in which each surrogate code point U+D800..U+DFFF (lone, or one half
//! of a pair Python holds as two code points) is three bytes `ED A0..BF 80..BF`. Output: a
//! valid `String` in which each distinct surrogate is stood for by a private-use character the
//! text does not contain ([`Stand::text`]), and back: text in that form returned to
//! surrogate-passing UTF-8 ([`Stand::restore`]). Memory: a copy of the text and one entry per
//! distinct surrogate.
//!
//! Why a private-use character: to Python's `unicodedata`, `str.lower`, `str.strip` and `re`,
//! a surrogate is a character of category Cs with no case, no decomposition, combining class 0,
//! not a digit, not whitespace, not punctuation, not a control character; a character of the
//! supplementary private use areas (planes 15 and 16, category Co) has every one of those
//! properties too, so each step of the normalizer treats the stand-in as Python treats the
//! surrogate (CCNet's normalizer returns a string with its surrogates where they were). No
//! normalization produces a private-use character from another character, so every stand-in
//! in an output came from a surrogate.

use crate::error::{Error, Result};

/// The supplementary private use areas, where stand-ins are taken from.
const PRIVATE_USE: [std::ops::RangeInclusive<u32>; 2] = [0xF0000..=0xFFFFD, 0x100000..=0x10FFFD];

/// A text whose surrogates stand in as private-use characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stand {
    /// The text with stand-ins.
    pub text: String,
    /// `(stand-in, surrogate code point)`, one entry per distinct surrogate.
    pub map: Vec<(char, u16)>,
}

/// Decodes one character at the start of `bytes`, surrogates included: `(code point, length)`.
fn decode_one(bytes: &[u8]) -> Option<(u32, usize)> {
    let b0 = *bytes.first()?;
    let (len, init) = match b0 {
        0x00..=0x7F => return Some((u32::from(b0), 1)),
        0xC2..=0xDF => (2, u32::from(b0 & 0x1F)),
        0xE0..=0xEF => (3, u32::from(b0 & 0x0F)),
        0xF0..=0xF4 => (4, u32::from(b0 & 0x07)),
        _ => return None,
    };
    let tail = bytes.get(1..len)?;
    let mut cp = init;
    for &b in tail {
        if b & 0xC0 != 0x80 {
            return None;
        }
        cp = (cp << 6) | u32::from(b & 0x3F);
    }
    let shortest = match len {
        2 => 0x80,
        3 => 0x800,
        _ => 0x10000,
    };
    (cp >= shortest && cp <= 0x10FFFF).then_some((cp, len))
}

impl Stand {
    /// Reads surrogate-passing UTF-8 (see the module doc).
    ///
    /// Errors: [`Error::Format`] (naming `source`) for bytes that are not UTF-8 even with
    /// surrogates allowed, or a text that uses every private-use character (no stand-in left).
    pub fn new(bytes: &[u8], source: &str) -> Result<Stand> {
        if let Ok(text) = std::str::from_utf8(bytes) {
            return Ok(Stand {
                text: text.to_string(),
                map: Vec::new(),
            });
        }
        let mut units: Vec<(u32, bool)> = Vec::with_capacity(bytes.len());
        let mut at = 0;
        while at < bytes.len() {
            let (cp, len) = decode_one(&bytes[at..]).ok_or_else(|| {
                Error::format(
                    source,
                    0,
                    format!("byte offset {at}: not UTF-8, even with surrogates allowed"),
                )
            })?;
            units.push((cp, (0xD800..=0xDFFF).contains(&cp)));
            at += len;
        }
        let used: std::collections::HashSet<u32> = units
            .iter()
            .filter(|(cp, _)| PRIVATE_USE.iter().any(|r| r.contains(cp)))
            .map(|&(cp, _)| cp)
            .collect();
        let mut free = PRIVATE_USE
            .iter()
            .flat_map(|r| r.clone())
            .filter(|cp| !used.contains(cp))
            .filter_map(char::from_u32);
        let mut map: Vec<(char, u16)> = Vec::new();
        let mut text = String::with_capacity(bytes.len());
        for (cp, surrogate) in units {
            if surrogate {
                let unit = cp as u16;
                let stand = match map.iter().find(|(_, s)| *s == unit) {
                    Some(&(c, _)) => c,
                    None => {
                        let c = free.next().ok_or_else(|| {
                            Error::format(
                                source,
                                0,
                                "the text uses every private-use character: no stand-in is left for its surrogates",
                            )
                        })?;
                        map.push((c, unit));
                        c
                    }
                };
                text.push(stand);
            } else if let Some(c) = char::from_u32(cp) {
                text.push(c);
            }
        }
        Ok(Stand { text, map })
    }

    /// `processed` (text derived from [`Stand::text`]) with each stand-in turned back into its
    /// surrogate, as surrogate-passing UTF-8.
    pub fn restore(&self, processed: &str) -> Vec<u8> {
        if self.map.is_empty() {
            return processed.as_bytes().to_vec();
        }
        let mut out = Vec::with_capacity(processed.len());
        let mut buf = [0u8; 4];
        for c in processed.chars() {
            match self.map.iter().find(|(s, _)| *s == c) {
                Some(&(_, unit)) => {
                    let u = u32::from(unit);
                    out.extend_from_slice(&[
                        0xE0 | (u >> 12) as u8,
                        0x80 | ((u >> 6) & 0x3F) as u8,
                        0x80 | (u & 0x3F) as u8,
                    ]);
                }
                None => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Python's `s.encode("utf-8", "surrogatepass")` for a string given as code points.
    fn pass(cps: &[u32]) -> Vec<u8> {
        let mut out = Vec::new();
        for &u in cps {
            match char::from_u32(u) {
                Some(c) => out.extend_from_slice(c.to_string().as_bytes()),
                None => out.extend_from_slice(&[
                    0xE0 | (u >> 12) as u8,
                    0x80 | ((u >> 6) & 0x3F) as u8,
                    0x80 | (u & 0x3F) as u8,
                ]),
            }
        }
        out
    }

    #[test]
    fn valid_utf8_passes_through() {
        let s = Stand::new("héllo".as_bytes(), "t").expect("stand");
        assert_eq!(s.text, "héllo");
        assert!(s.map.is_empty());
        assert_eq!(s.restore("x"), b"x");
    }

    #[test]
    fn surrogates_round_trip() {
        let bytes = pass(&[0x61, 0xDC80, 0x62, 0xD83D, 0xDE00, 0xDC80]);
        let s = Stand::new(&bytes, "t").expect("stand");
        assert_eq!(s.map.len(), 3);
        assert_eq!(s.text.chars().count(), 6);
        assert!(s
            .text
            .chars()
            .all(|c| (c as u32) < 0xD800 || (c as u32) > 0xDFFF));
        assert_eq!(s.restore(&s.text), bytes);
        // Processing that changes other characters keeps the surrogates in place.
        let upper = s.text.to_uppercase();
        assert_eq!(
            s.restore(&upper),
            pass(&[0x41, 0xDC80, 0x42, 0xD83D, 0xDE00, 0xDC80])
        );
    }

    #[test]
    fn stand_ins_avoid_private_use_characters_of_the_text() {
        let bytes = pass(&[0xF0000, 0xDC80, 0xF0001]);
        let s = Stand::new(&bytes, "t").expect("stand");
        let stand = s.map[0].0 as u32;
        assert!(stand != 0xF0000 && stand != 0xF0001);
        assert_eq!(s.restore(&s.text), bytes);
    }

    #[test]
    fn bytes_that_are_not_even_wtf8_are_refused() {
        for bad in [&b"\xff"[..], b"\xed\xa0", b"\xc0\x80", b"\xf5\x80\x80\x80"] {
            assert!(Stand::new(bad, "t").is_err(), "{bad:?}");
        }
    }
}
