//! The execution plan of a [`Normalizer`](super::normalize::Normalizer): its steps compiled into
//! as few passes over the text as possible.
//!
//! Input: the list of steps. Output: a list of `Pass`es, each of which reads the text and
//! either leaves it unchanged (no copy) or appends a new version to a buffer. Memory: the
//! plan is a few bytes per step plus a 128-entry table per character chain.
//!
//! Consecutive per-character steps (lowercasing, digits to 0, the punctuation table or
//! punctuation removal, control removal) become one `CharChain` pass: each character goes
//! through the steps in order, and ASCII characters that none of the steps touch are skipped
//! with one table lookup, so the common case is a scan without copying. Lowercasing is only
//! ever first in a chain, where its input is the pass's input: `Σ` needs the neighbouring
//! characters (Unicode's `Final_Sigma` rule), and a text holding a capital sigma is lowercased
//! whole with `str::to_lowercase`. Accent stripping splits the text at ASCII characters (which
//! are canonical starters, so NFD never reorders across them) and decomposes only the
//! non-ASCII runs. The result is identical to running the steps one by one.

use unicode_normalization::UnicodeNormalization;

use super::chars::{
    ccnet_punct, is_ccnet_control, is_decimal_digit, is_nonspacing_mark, is_punctuation,
    is_python_space,
};
use super::links::{replace_emails, replace_urls};
use super::normalize::{DigitMode, PunctMode, Step, UnicodeForm};

/// A step that maps each character on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CharStep {
    Lowercase,
    Digit,
    PunctMap,
    PunctRemove,
    PunctRemoveAll,
    Control,
}

impl CharStep {
    fn from_step(step: &Step) -> Option<CharStep> {
        Some(match step {
            Step::Lowercase => CharStep::Lowercase,
            Step::Digits(DigitMode::Each) => CharStep::Digit,
            Step::Punct(PunctMode::CcnetMap) => CharStep::PunctMap,
            Step::Punct(PunctMode::CcnetRemove) => CharStep::PunctRemove,
            Step::Punct(PunctMode::RemoveAll) => CharStep::PunctRemoveAll,
            Step::RemoveControl => CharStep::Control,
            _ => return None,
        })
    }

    /// Whether this step leaves `c` as it is.
    #[inline]
    fn keeps(self, c: char) -> bool {
        match self {
            CharStep::Lowercase => {
                if c.is_ascii() {
                    !c.is_ascii_uppercase()
                } else {
                    let mut lower = c.to_lowercase();
                    lower.len() == 1 && lower.next() == Some(c)
                }
            }
            CharStep::Digit => c == '0' || !is_decimal_digit(c),
            CharStep::PunctMap | CharStep::PunctRemove => ccnet_punct(c).is_none(),
            CharStep::PunctRemoveAll => !is_punctuation(c),
            CharStep::Control => !is_ccnet_control(c),
        }
    }
}

/// Appends the UTF-8 of `c` to `out`.
#[inline]
fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// Appends `c`, passed through `steps` in order, to `out` (as UTF-8).
fn push_through(steps: &[CharStep], c: char, out: &mut Vec<u8>) {
    let Some((first, rest)) = steps.split_first() else {
        push_char(out, c);
        return;
    };
    match first {
        CharStep::Lowercase => {
            if c.is_ascii() {
                push_through(rest, c.to_ascii_lowercase(), out);
            } else {
                c.to_lowercase().for_each(|l| push_through(rest, l, out));
            }
        }
        CharStep::Digit => {
            let d = if is_decimal_digit(c) { '0' } else { c };
            push_through(rest, d, out);
        }
        CharStep::PunctMap => match ccnet_punct(c) {
            Some(s) => s.chars().for_each(|p| push_through(rest, p, out)),
            None => push_through(rest, c, out),
        },
        CharStep::PunctRemove => {
            if ccnet_punct(c).is_none() {
                push_through(rest, c, out);
            }
        }
        CharStep::PunctRemoveAll => {
            if !is_punctuation(c) {
                push_through(rest, c, out);
            }
        }
        CharStep::Control => {
            if !is_ccnet_control(c) {
                push_through(rest, c, out);
            }
        }
    }
}

/// What a chain makes of an ASCII byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AsciiOut {
    Drop,
    Byte(u8),
    /// More than one byte: go through [`push_through`].
    Several,
}

/// Consecutive per-character steps run as one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CharChain {
    steps: Vec<CharStep>,
    /// For each ASCII byte, whether some step changes it.
    ascii_edits: [bool; 128],
    /// For each ASCII byte, what the whole chain makes of it.
    ascii_out: [AsciiOut; 128],
    /// When every ASCII byte becomes exactly one byte: that byte (a table lookup per byte).
    ascii_map: Option<[u8; 128]>,
}

impl CharChain {
    fn new(steps: Vec<CharStep>) -> Self {
        let mut ascii_edits = [false; 128];
        let mut ascii_out = [AsciiOut::Drop; 128];
        let mut buf = Vec::new();
        for b in 0..128u8 {
            let c = char::from(b);
            ascii_edits[usize::from(b)] = !steps.iter().all(|s| s.keeps(c));
            buf.clear();
            push_through(&steps, c, &mut buf);
            ascii_out[usize::from(b)] = match buf[..] {
                [] => AsciiOut::Drop,
                [x] => AsciiOut::Byte(x),
                _ => AsciiOut::Several,
            };
        }
        let mut map = [0u8; 128];
        let mut bytewise = true;
        for (m, out) in map.iter_mut().zip(ascii_out) {
            match out {
                AsciiOut::Byte(x) => *m = x,
                _ => bytewise = false,
            }
        }
        CharChain {
            steps,
            ascii_edits,
            ascii_out,
            ascii_map: bytewise.then_some(map),
        }
    }

    /// Whether the chain leaves the non-ASCII character `c` as it is.
    #[inline]
    fn keeps(&self, c: char) -> bool {
        self.steps.iter().all(|s| s.keeps(c))
    }

    /// The byte offset of the first character that the chain changes.
    fn first_edit(&self, src: &str) -> Option<usize> {
        let bytes = src.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b < 0x80 {
                if self.ascii_edits[usize::from(b)] {
                    return Some(i);
                }
                i += 1;
                continue;
            }
            let c = src[i..].chars().next()?;
            if !self.keeps(c) {
                return Some(i);
            }
            i += c.len_utf8();
        }
        None
    }

    /// Replaces `dst` (empty on entry) with the transformed `src` and returns true, or
    /// returns false (writing nothing) when no character changes.
    fn apply(&self, src: &str, dst: &mut String) -> bool {
        if self.steps.first() == Some(&CharStep::Lowercase) && src.contains('Σ') {
            let lowered = src.to_lowercase();
            let rest = CharChain::new(self.steps[1..].to_vec());
            if !rest.apply(&lowered, dst) {
                dst.push_str(&lowered);
            }
            return true;
        }
        let Some(first) = self.first_edit(src) else {
            return false;
        };
        let bytes = src.as_bytes();
        let mut out = std::mem::take(dst).into_bytes();
        out.clear();
        out.reserve(src.len() + 8);
        out.extend_from_slice(&bytes[..first]);
        let mut i = first;
        while i < bytes.len() {
            // A run of ASCII bytes, then one other character.
            let run_end = bytes[i..]
                .iter()
                .position(|&b| b >= 0x80)
                .map_or(bytes.len(), |p| i + p);
            let run = &bytes[i..run_end];
            match &self.ascii_map {
                Some(map) => out.extend(run.iter().map(|&b| map[usize::from(b & 0x7f)])),
                None => {
                    // Copy the unchanged stretches whole.
                    let mut copied = 0;
                    for (k, &b) in run.iter().enumerate() {
                        let b = b & 0x7f;
                        if !self.ascii_edits[usize::from(b)] {
                            continue;
                        }
                        out.extend_from_slice(&run[copied..k]);
                        match self.ascii_out[usize::from(b)] {
                            AsciiOut::Byte(x) => out.push(x),
                            AsciiOut::Drop => {}
                            AsciiOut::Several => push_through(&self.steps, char::from(b), &mut out),
                        }
                        copied = k + 1;
                    }
                    out.extend_from_slice(&run[copied..]);
                }
            }
            i = run_end;
            let Some(c) = src.get(i..).and_then(|rest| rest.chars().next()) else {
                break;
            };
            let len = c.len_utf8();
            if self.keeps(c) {
                out.extend_from_slice(&bytes[i..i + len]);
            } else {
                push_through(&self.steps, c, &mut out);
            }
            i += len;
        }
        // Only whole characters were written, so this cannot fail; stay total all the same.
        *dst = String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        true
    }
}

/// One pass over the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pass {
    /// Narrows the text (no copy).
    Strip,
    Unicode(UnicodeForm),
    StripAccents,
    DigitRuns,
    CollapseWhitespace,
    Urls(String),
    Emails(String),
    Chars(Box<CharChain>),
}

/// Compiles `steps` into passes (see the module doc).
pub(crate) fn compile(steps: &[Step]) -> Vec<Pass> {
    let mut passes = Vec::new();
    let mut chain: Vec<CharStep> = Vec::new();
    for step in steps {
        if let Some(cs) = CharStep::from_step(step) {
            if cs == CharStep::Lowercase && !chain.is_empty() {
                passes.push(Pass::Chars(Box::new(CharChain::new(std::mem::take(
                    &mut chain,
                )))));
            }
            chain.push(cs);
            continue;
        }
        if !chain.is_empty() {
            passes.push(Pass::Chars(Box::new(CharChain::new(std::mem::take(
                &mut chain,
            )))));
        }
        passes.push(match step {
            Step::Strip => Pass::Strip,
            Step::Unicode(form) => Pass::Unicode(*form),
            Step::StripAccents => Pass::StripAccents,
            Step::Digits(_) => Pass::DigitRuns,
            Step::CollapseWhitespace => Pass::CollapseWhitespace,
            Step::ReplaceUrls(with) => Pass::Urls(with.clone()),
            Step::ReplaceEmails(with) => Pass::Emails(with.clone()),
            // The per-character steps were taken above.
            Step::Lowercase | Step::Punct(_) | Step::RemoveControl => continue,
        });
    }
    if !chain.is_empty() {
        passes.push(Pass::Chars(Box::new(CharChain::new(chain))));
    }
    passes
}

/// Appends `src` with non-spacing marks of its NFD dropped, one non-ASCII run at a time.
fn strip_accents(src: &str, dst: &mut String) {
    let bytes = src.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let ascii_end = bytes[i..]
            .iter()
            .position(|&b| b >= 0x80)
            .map_or(bytes.len(), |p| i + p);
        dst.push_str(&src[i..ascii_end]);
        let run_end = bytes[ascii_end..]
            .iter()
            .position(|&b| b < 0x80)
            .map_or(bytes.len(), |p| ascii_end + p);
        dst.extend(
            src[ascii_end..run_end]
                .nfd()
                .filter(|&c| !is_nonspacing_mark(c)),
        );
        i = run_end;
    }
}

/// A run-collapsing edit: the first member of each run of `is_member` characters becomes
/// `with` and the rest are dropped.
fn collapse_runs(src: &str, dst: &mut String, is_member: impl Fn(char) -> bool, with: char) {
    let mut copied = 0;
    let mut in_run = false;
    for (i, c) in src.char_indices() {
        let member = is_member(c);
        let was = std::mem::replace(&mut in_run, member);
        let keep = !member || (!was && c == with);
        if keep {
            continue;
        }
        dst.push_str(&src[copied..i]);
        if !was {
            dst.push(with);
        }
        copied = i + c.len_utf8();
    }
    dst.push_str(&src[copied..]);
}

impl Pass {
    /// Appends the transformed `src` to `dst` and returns true, or returns false (writing
    /// nothing) when the text is unchanged. [`Pass::Strip`] is handled by the caller.
    pub(crate) fn apply(&self, src: &str, dst: &mut String) -> bool {
        match self {
            Pass::Strip => {
                dst.push_str(src.trim_matches(is_python_space));
                true
            }
            Pass::Unicode(form) => {
                if src.is_ascii() {
                    return false;
                }
                match form {
                    UnicodeForm::Nfc => dst.extend(src.nfc()),
                    UnicodeForm::Nfkc => dst.extend(src.nfkc()),
                    UnicodeForm::Nfd => dst.extend(src.nfd()),
                    UnicodeForm::Nfkd => dst.extend(src.nfkd()),
                }
                true
            }
            Pass::StripAccents => {
                if src.is_ascii() {
                    return false;
                }
                strip_accents(src, dst);
                true
            }
            Pass::DigitRuns => {
                collapse_runs(src, dst, is_decimal_digit, '0');
                true
            }
            Pass::CollapseWhitespace => {
                collapse_runs(src, dst, is_python_space, ' ');
                true
            }
            Pass::Urls(with) => {
                replace_urls(src, with, dst);
                true
            }
            Pass::Emails(with) => {
                replace_emails(src, with, dst);
                true
            }
            Pass::Chars(chain) => chain.apply(src, dst),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_group_per_character_steps() {
        let passes = compile(&[
            Step::Strip,
            Step::Lowercase,
            Step::StripAccents,
            Step::Digits(DigitMode::Each),
            Step::Punct(PunctMode::CcnetMap),
            Step::RemoveControl,
            Step::Lowercase,
        ]);
        assert_eq!(passes.len(), 5);
        assert!(matches!(&passes[3], Pass::Chars(c) if c.steps.len() == 3));
    }

    #[test]
    fn chain_reports_unchanged_text() {
        let chain = CharChain::new(vec![CharStep::Digit, CharStep::Control]);
        let mut out = String::new();
        assert!(!chain.apply("no digits here, ünïcode", &mut out));
        assert!(out.is_empty());
        assert!(chain.apply("a1\u{85}٢", &mut out));
        assert_eq!(out, "a00");
    }

    #[test]
    fn chain_outputs_pass_through_later_steps() {
        // Fullwidth one is a digit (to 0) before the table would map it to '"'.
        let chain = CharChain::new(vec![CharStep::Digit, CharStep::PunctMap]);
        let mut out = String::new();
        chain.apply("１—", &mut out);
        assert_eq!(out, "0 - ");
        let lower = CharChain::new(vec![CharStep::Lowercase, CharStep::PunctRemoveAll]);
        out.clear();
        lower.apply("ΑΣ, ΣΑ!", &mut out);
        assert_eq!(out, "ας σα");
    }

    #[test]
    fn accents_are_stripped_per_non_ascii_run() {
        let mut out = String::new();
        strip_accents("Ça, e\u{327}\u{301}! 한", &mut out);
        let whole: String = "Ça, e\u{327}\u{301}! 한"
            .nfd()
            .filter(|&c| !is_nonspacing_mark(c))
            .collect();
        assert_eq!(out, whole);
    }

    mod props {
        use super::*;
        use crate::text::normalize::Normalizer;
        use proptest::prelude::*;

        /// Each step on its own, the plain way (whole-string library calls, no fast paths).
        fn reference(step: &Step, s: &str) -> String {
            match step {
                Step::Lowercase => s.to_lowercase(),
                Step::StripAccents => s.nfd().filter(|&c| !is_nonspacing_mark(c)).collect(),
                Step::Digits(DigitMode::Each) => s
                    .chars()
                    .map(|c| if is_decimal_digit(c) { '0' } else { c })
                    .collect(),
                Step::Punct(PunctMode::CcnetMap) => s
                    .chars()
                    .map(|c| ccnet_punct(c).map_or_else(|| c.to_string(), str::to_string))
                    .collect(),
                Step::Punct(PunctMode::CcnetRemove) => {
                    s.chars().filter(|&c| ccnet_punct(c).is_none()).collect()
                }
                Step::Punct(PunctMode::RemoveAll) => {
                    s.chars().filter(|&c| !is_punctuation(c)).collect()
                }
                Step::RemoveControl => s.chars().filter(|&c| !is_ccnet_control(c)).collect(),
                Step::Strip => s.trim_matches(is_python_space).to_string(),
                other => Normalizer::from_steps(vec![other.clone()]).normalize(s),
            }
        }

        fn any_step() -> impl Strategy<Value = Step> {
            prop_oneof![
                Just(Step::Lowercase),
                Just(Step::StripAccents),
                Just(Step::Digits(DigitMode::Each)),
                Just(Step::Digits(DigitMode::Run)),
                Just(Step::Punct(PunctMode::CcnetMap)),
                Just(Step::Punct(PunctMode::CcnetRemove)),
                Just(Step::Punct(PunctMode::RemoveAll)),
                Just(Step::RemoveControl),
                Just(Step::Strip),
                Just(Step::CollapseWhitespace),
                Just(Step::Unicode(UnicodeForm::Nfkc)),
            ]
        }

        fn text() -> impl Strategy<Value = String> {
            // Mostly the characters the fast paths care about, plus anything.
            prop_oneof![
                "[a-zA-Z0-9 ΣσςΑİé\u{301}\u{327}１٣，。“”—…\t\x00\u{85}\u{3000}]{0,40}",
                any::<String>(),
            ]
        }

        proptest! {
            #[test]
            fn fused_passes_equal_the_steps_one_by_one(
                steps in proptest::collection::vec(any_step(), 1..7),
                s in text(),
            ) {
                let fused = Normalizer::from_steps(steps.clone()).normalize(&s);
                let mut plain = s.clone();
                for step in &steps {
                    plain = reference(step, &plain);
                }
                prop_assert_eq!(fused, plain);
            }
        }
    }
}
