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
//!
//! A plan of only per-character steps and accent stripping (after an optional strip), such as
//! CCNet's presets, also runs as one scan (`Fused`): one table lookup per character
//! decides whether the character is copied, mapped on its own, or (with the run of such
//! characters it starts, between NFD barriers) put through the passes the plain way.

use rustc_hash::FxHashMap;
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

/// Where [`push_through`] writes: UTF-8 bytes or a `String`.
trait CharSink {
    fn push_char(&mut self, c: char);
}

impl CharSink for Vec<u8> {
    #[inline]
    fn push_char(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
}

impl CharSink for String {
    #[inline]
    fn push_char(&mut self, c: char) {
        self.push(c);
    }
}

/// Appends the UTF-8 of `c` to `out`.
#[inline]
fn push_char(out: &mut impl CharSink, c: char) {
    out.push_char(c);
}

/// Appends `c`, passed through `steps` in order, to `out` (as UTF-8).
fn push_through(steps: &[CharStep], c: char, out: &mut impl CharSink) {
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

/// Runs `passes` over `text` with `bufs` as scratch and gives the result to `finish` (a pass
/// that changes nothing copies nothing; a strip pass narrows the text in place).
pub(crate) fn run_passes<R>(
    passes: &[Pass],
    text: &str,
    bufs: &mut [String; 2],
    finish: impl FnOnce(&str) -> R,
) -> R {
    // `cur` is the buffer holding the latest changed version (None: still `text`), and
    // `range` the current text within it, narrowed by strip passes.
    let mut cur: Option<usize> = None;
    let mut range = 0..text.len();
    for pass in passes {
        let [b0, b1] = &mut *bufs;
        let (src, dst, dst_index) = match cur {
            None => (&text[range.clone()], b0, 0),
            Some(0) => (&b0[range.clone()], b1, 1),
            Some(_) => (&b1[range.clone()], b0, 0),
        };
        if let Pass::Strip = pass {
            let trimmed = strip(src);
            let start = range.start + (trimmed.as_ptr() as usize - src.as_ptr() as usize);
            range = start..start + trimmed.len();
            continue;
        }
        dst.clear();
        if pass.apply(src, dst) {
            range = 0..dst.len();
            cur = Some(dst_index);
        }
    }
    match cur {
        None => finish(&text[range]),
        Some(k) => finish(&bufs[k][range]),
    }
}

/// `text` without Python's whitespace at either end (`str.strip()`).
#[inline]
fn strip(text: &str) -> &str {
    text.trim_start_matches(is_python_space)
        .trim_end_matches(is_python_space)
}

/// Character properties for the fused plan ([`Fused`]), one byte per character.
mod props {
    use std::sync::OnceLock;

    use unicode_normalization::char::{canonical_combining_class, decompose_canonical};

    use super::super::chars::{
        ccnet_punct, is_ccnet_control, is_decimal_digit, is_nonspacing_mark, is_punctuation,
    };

    /// Lowercasing changes the character.
    pub const LOWER: u8 = 1;
    /// Its lowercase is not one character that is an NFD barrier ([`BARRIER_BREAK`] clear)
    /// and not a non-spacing mark.
    pub const LOWER_COMPLEX: u8 = 2;
    /// Not an NFD barrier: its canonical combining class is not 0, or it has a canonical
    /// decomposition. (A barrier is its own NFD, and canonical reordering never moves a
    /// character across it, so NFD of a text is NFD of the pieces between barriers.)
    pub const BARRIER_BREAK: u8 = 4;
    /// A non-spacing mark (category Mn).
    pub const MN: u8 = 8;
    /// A decimal digit other than `0`.
    pub const DIGIT: u8 = 16;
    /// In CCNet's punctuation table.
    pub const CCNET_PUNCT: u8 = 32;
    /// Punctuation for [`is_punctuation`].
    pub const PUNCT: u8 = 64;
    /// One of CCNet's control characters.
    pub const CONTROL: u8 = 128;

    fn is_barrier(c: char) -> bool {
        if canonical_combining_class(c) != 0 {
            return false;
        }
        let mut same = true;
        let mut n = 0;
        decompose_canonical(c, |d| {
            n += 1;
            same &= d == c;
        });
        same && n == 1
    }

    /// The properties of `c`, computed.
    pub fn compute(c: char) -> u8 {
        let mut p = 0;
        let mut lower = c.to_lowercase();
        if !(lower.len() == 1 && lower.clone().next() == Some(c)) {
            p |= LOWER;
        }
        let simple_lower = lower.len() == 1
            && lower
                .next()
                .is_some_and(|l| is_barrier(l) && !is_nonspacing_mark(l));
        if !simple_lower {
            p |= LOWER_COMPLEX;
        }
        if !is_barrier(c) {
            p |= BARRIER_BREAK;
        }
        if is_nonspacing_mark(c) {
            p |= MN;
        }
        if c != '0' && is_decimal_digit(c) {
            p |= DIGIT;
        }
        if ccnet_punct(c).is_some() {
            p |= CCNET_PUNCT;
        }
        if is_punctuation(c) {
            p |= PUNCT;
        }
        if is_ccnet_control(c) {
            p |= CONTROL;
        }
        p
    }

    /// The properties of every character of the Basic Multilingual Plane (64 KiB, computed
    /// once per process, in a few milliseconds).
    fn bmp() -> &'static [u8] {
        static TABLE: OnceLock<Box<[u8]>> = OnceLock::new();
        TABLE.get_or_init(|| {
            (0..0x10000u32)
                .map(|u| char::from_u32(u).map_or(0, compute))
                .collect()
        })
    }

    /// The properties of the code point `u` (a valid `char`).
    #[inline]
    pub fn of(table: &[u8], u: u32) -> u8 {
        match table.get(u as usize) {
            Some(&p) => p,
            None => char::from_u32(u).map_or(0, compute),
        }
    }

    /// The BMP table, for [`of`].
    #[inline]
    pub fn table() -> &'static [u8] {
        bmp()
    }
}

/// The code point starting at `i` of valid UTF-8 with a non-ASCII lead byte, and its length.
#[inline(always)]
fn decode_at(bytes: &[u8], i: usize) -> (u32, usize) {
    let b0 = u32::from(bytes[i]);
    let cont = |k: usize| u32::from(bytes.get(i + k).copied().unwrap_or(0x80) & 0x3f);
    if b0 < 0xe0 {
        (((b0 & 0x1f) << 6) | cont(1), 2)
    } else if b0 < 0xf0 {
        (((b0 & 0x0f) << 12) | (cont(1) << 6) | cont(2), 3)
    } else {
        (
            ((b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3),
            4,
        )
    }
}

/// A plan made of per-character steps and accent stripping only (an optional strip first):
/// CCNet's presets. It runs as one scan with one table lookup per character
/// ([`props`]): a character that no step changes is skipped (nothing is copied while nothing
/// changed); an NFD barrier that some per-character step changes goes through the steps on
/// its own (accent stripping leaves a barrier that is not a mark as it is); a run of other
/// characters (precomposed letters, combining marks, Hangul syllables) goes through the
/// passes the plain way, which is exact because the run lies between NFD barriers. A text
/// holding a capital sigma (whose lowercase depends on its neighbours) is run the plain way
/// whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fused {
    /// Strip first.
    strip: bool,
    /// The passes after the strip, for the runs done the plain way.
    rest: Vec<Pass>,
    /// Every per-character step, in order (accent stripping leaves the characters that go
    /// through them as they are).
    steps: Vec<CharStep>,
    lowercase: bool,
    /// Properties that some step acts on.
    any: u8,
    /// Properties that need the plain way.
    complex: u8,
    /// What the steps make of each ASCII byte; `ascii_keep` when that is the byte itself.
    ascii_out: Vec<String>,
    ascii_keep: [bool; 128],
    /// What the steps make of each BMP character that goes through them on its own: its
    /// byte range in `simple_text`.
    simple: FxHashMap<u32, (u32, u32)>,
    simple_text: String,
}

/// What [`Fused::apply`] did.
enum Scan {
    Unchanged,
    Changed,
    /// The text holds a capital sigma: run it the plain way.
    Sigma,
}

impl Fused {
    /// The fused plan of `passes`, when they are an optional strip followed by character
    /// chains and accent stripping.
    pub(crate) fn new(passes: &[Pass]) -> Option<Fused> {
        let (strip, rest) = match passes.split_first() {
            Some((Pass::Strip, rest)) => (true, rest),
            _ => (false, passes),
        };
        let mut steps = Vec::new();
        let mut accents = false;
        for pass in rest {
            match pass {
                Pass::Chars(chain) => steps.extend_from_slice(&chain.steps),
                Pass::StripAccents => accents = true,
                _ => return None,
            }
        }
        if rest.is_empty() {
            return None;
        }
        let mut any = 0;
        for step in &steps {
            any |= match step {
                CharStep::Lowercase => props::LOWER,
                CharStep::Digit => props::DIGIT,
                CharStep::PunctMap | CharStep::PunctRemove => props::CCNET_PUNCT,
                CharStep::PunctRemoveAll => props::PUNCT,
                CharStep::Control => props::CONTROL,
            };
        }
        let lowercase = steps.contains(&CharStep::Lowercase);
        let complex = if accents {
            any |= props::BARRIER_BREAK | props::MN;
            props::BARRIER_BREAK | props::MN | if lowercase { props::LOWER_COMPLEX } else { 0 }
        } else {
            0
        };
        let mut ascii_out = Vec::with_capacity(128);
        let mut ascii_keep = [false; 128];
        for b in 0..128u8 {
            let mut out = String::new();
            push_through(&steps, char::from(b), &mut out);
            ascii_keep[usize::from(b)] = out.as_bytes() == [b];
            ascii_out.push(out);
        }
        let any = any & !props::LOWER_COMPLEX;
        let mut simple = FxHashMap::default();
        let mut simple_text = String::new();
        for (u, &p) in props::table().iter().enumerate() {
            if u < 0x80 || p & any == 0 || p & complex != 0 {
                continue;
            }
            let Some(c) = char::from_u32(u as u32) else {
                continue;
            };
            let start = simple_text.len() as u32;
            push_through(&steps, c, &mut simple_text);
            simple.insert(u as u32, (start, simple_text.len() as u32));
        }
        Some(Fused {
            strip,
            rest: rest.to_vec(),
            steps,
            lowercase,
            any,
            complex,
            ascii_out,
            ascii_keep,
            simple,
            simple_text,
        })
    }

    /// Normalizes `text` with `bufs` as scratch and gives the result to `finish`; `passes`
    /// are the plan's own passes, for a text run the plain way whole.
    pub(crate) fn run<R>(
        &self,
        passes: &[Pass],
        text: &str,
        bufs: &mut [String; 4],
        finish: impl FnOnce(&str) -> R,
    ) -> R {
        let [b0, b1, b2, b3] = bufs;
        let src = if self.strip { strip(text) } else { text };
        b0.clear();
        let mut seg = [std::mem::take(b2), std::mem::take(b3)];
        let scan = self.apply(src, b0, &mut seg);
        [*b2, *b3] = seg;
        match scan {
            Scan::Changed => finish(b0),
            Scan::Unchanged => finish(src),
            Scan::Sigma => {
                let mut pair = [std::mem::take(b0), std::mem::take(b1)];
                let r = run_passes(passes, text, &mut pair, finish);
                [*b0, *b1] = pair;
                r
            }
        }
    }

    /// [`Fused::run`] over a text given as code points (a Python `str`'s UCS-4, lone
    /// surrogates included: they are their own NFD, and no step touches them). Writes the
    /// result to `out` (cleared first) and returns true, or returns false (writing nothing)
    /// when the text is unchanged but for the strip, whose range is then `range`; `passes` are
    /// the plan's own, for a text holding a capital sigma (run the plain way; it then holds
    /// no surrogate, or `None` is returned).
    pub(crate) fn run_ucs4(
        &self,
        passes: &[Pass],
        text: &[u32],
        out: &mut Vec<u32>,
        range: &mut std::ops::Range<usize>,
        bufs: &mut [String; 4],
    ) -> Option<bool> {
        out.clear();
        let is_space = |u: &u32| char::from_u32(*u).is_some_and(is_python_space);
        let (mut start, mut end) = (0, text.len());
        if self.strip {
            while start < end && is_space(&text[start]) {
                start += 1;
            }
            while end > start && is_space(&text[end - 1]) {
                end -= 1;
            }
        }
        *range = start..end;
        let src = &text[start..end];
        let [b0, b1, b2, b3] = bufs;
        let mut seg = [std::mem::take(b2), std::mem::take(b3)];
        let scan = self.apply_ucs4(src, out, &mut seg, b0);
        [*b2, *b3] = seg;
        match scan {
            Scan::Changed => Some(true),
            Scan::Unchanged => Some(false),
            Scan::Sigma => {
                b0.clear();
                for &u in text {
                    b0.push(char::from_u32(u)?);
                }
                let whole = std::mem::take(b0);
                let mut pair = [std::mem::take(b0), std::mem::take(b1)];
                run_passes(passes, &whole, &mut pair, |r| {
                    out.clear();
                    out.extend(r.chars().map(u32::from));
                });
                [*b0, *b1] = pair;
                *b0 = whole;
                Some(true)
            }
        }
    }

    /// [`Fused::apply`] over code points; `run` is scratch for the runs done the plain way.
    fn apply_ucs4(
        &self,
        src: &[u32],
        out: &mut Vec<u32>,
        seg: &mut [String; 2],
        run: &mut String,
    ) -> Scan {
        let table = props::table();
        let n = src.len();
        let mut copied = 0;
        let mut changed = false;
        let mut i = 0;
        while i < n {
            let u = src[i];
            if u < 0x80 {
                if self.ascii_keep[u as usize] {
                    i += 1;
                    continue;
                }
                out.extend_from_slice(&src[copied..i]);
                out.extend(self.ascii_out[u as usize].chars().map(u32::from));
                i += 1;
                copied = i;
                changed = true;
                continue;
            }
            let p = props::of(table, u);
            if p & self.any == 0 {
                i += 1;
                continue;
            }
            if u == u32::from('Σ') && self.lowercase {
                return Scan::Sigma;
            }
            out.extend_from_slice(&src[copied..i]);
            changed = true;
            if p & self.complex != 0 {
                // A surrogate has no properties, so a run never holds one.
                let start = i;
                i += 1;
                while i < n && src[i] >= 0x80 && props::of(table, src[i]) & self.complex != 0 {
                    if src[i] == u32::from('Σ') && self.lowercase {
                        return Scan::Sigma;
                    }
                    i += 1;
                }
                run.clear();
                run.extend(src[start..i].iter().filter_map(|&u| char::from_u32(u)));
                run_passes(&self.rest, run, seg, |r| {
                    out.extend(r.chars().map(u32::from))
                });
            } else if let Some(&(s, e)) = self.simple.get(&u) {
                let text = &self.simple_text[s as usize..e as usize];
                out.extend(text.chars().map(u32::from));
                i += 1;
            } else {
                let c = char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER);
                run.clear();
                push_through(&self.steps, c, run);
                out.extend(run.chars().map(u32::from));
                i += 1;
            }
            copied = i;
        }
        if !changed {
            return Scan::Unchanged;
        }
        out.extend_from_slice(&src[copied..]);
        Scan::Changed
    }

    /// Writes the normalized `src` to `out` (empty on entry) and says so, or says that
    /// nothing changes, or that the text holds a capital sigma (with lowercasing on; `out` is
    /// then to be ignored).
    fn apply(&self, src: &str, out: &mut String, seg: &mut [String; 2]) -> Scan {
        let table = props::table();
        let bytes = src.as_bytes();
        let n = bytes.len();
        // `src[copied..i]` is unchanged text not yet written.
        let mut copied = 0;
        let mut changed = false;
        let mut i = 0;
        while i < n {
            let b = bytes[i];
            if b < 0x80 {
                if self.ascii_keep[usize::from(b)] {
                    i += 1;
                    continue;
                }
                out.push_str(&src[copied..i]);
                out.push_str(&self.ascii_out[usize::from(b)]);
                i += 1;
                copied = i;
                changed = true;
                continue;
            }
            let (u, len) = decode_at(bytes, i);
            let p = props::of(table, u);
            if p & self.any == 0 {
                i += len;
                continue;
            }
            if u == u32::from('Σ') && self.lowercase {
                return Scan::Sigma;
            }
            out.push_str(&src[copied..i]);
            changed = true;
            if p & self.complex != 0 {
                // The run of characters that need the plain way, between NFD barriers.
                let start = i;
                i += len;
                while i < n && bytes[i] >= 0x80 {
                    let (u, len) = decode_at(bytes, i);
                    if props::of(table, u) & self.complex == 0 {
                        break;
                    }
                    if u == u32::from('Σ') && self.lowercase {
                        return Scan::Sigma;
                    }
                    i += len;
                }
                run_passes(&self.rest, &src[start..i], seg, |r| out.push_str(r));
            } else if let Some(&(s, e)) = self.simple.get(&u) {
                out.push_str(&self.simple_text[s as usize..e as usize]);
                i += len;
            } else {
                let c = char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER);
                push_through(&self.steps, c, out);
                i += len;
            }
            copied = i;
        }
        if !changed {
            return Scan::Unchanged;
        }
        out.push_str(&src[copied..]);
        Scan::Changed
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
                "[a-zA-Z 中文字ДжΩΩÅ한글\u{1100}\u{1161}\u{f73}\u{344}\u{301}\u{316}ǅİ𝐀😀٣，。！（）—\u{85}\u{2028}]{0,40}",
                any::<String>(),
            ]
        }

        /// The plain way: every pass over the whole text, no fused scan.
        fn plain(n: &Normalizer, s: &str) -> String {
            run_passes(
                &compile(n.steps()),
                s,
                &mut Default::default(),
                str::to_string,
            )
        }

        fn presets() -> Vec<Normalizer> {
            use crate::text::normalize::CcnetOptions;
            let mut all = vec![Normalizer::ccnet_dedup()];
            for accent in [true, false] {
                for case in [true, false] {
                    for punct in 0..3 {
                        all.push(Normalizer::ccnet(CcnetOptions {
                            accent,
                            case,
                            numbers: true,
                            punct,
                        }));
                    }
                }
            }
            all
        }

        #[test]
        fn fused_scan_equals_the_passes_on_every_bmp_character() {
            assert!(presets()
                .iter()
                .all(|n| Fused::new(&compile(n.steps())).is_some()));
            // CCNet's default, punct=2, accent and case off, and normalize_for_dedup.
            let presets = [2, 3, 11, 0].map(|i| presets().swap_remove(i));
            for u in 0..0x10000u32 {
                let Some(c) = char::from_u32(u) else { continue };
                for text in [format!("a{c}b"), format!("中{c}\u{301}"), format!("{c}Д")] {
                    for n in &presets {
                        assert_eq!(n.normalize(&text), plain(n, &text), "U+{u:04X}");
                    }
                }
            }
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

            #[test]
            fn fused_scan_equals_the_passes(s in text()) {
                for n in presets() {
                    prop_assert_eq!(n.normalize(&s), plain(&n, &s));
                }
            }
        }
    }
}
