//! Text normalization: a composable list of steps, with presets reproducing CCNet.
//!
//! Input: text (`&str`, one line or document). Output: the normalized text as a new `String`
//! (or written to a caller's buffer). Memory: up to four scratch buffers the size of the text,
//! kept per thread and reused (freed after a text over 1 MiB); the batch form holds the outputs of
//! the batch. Deterministic, independent of the thread count.
//!
//! A [`Normalizer`] applies its [`Step`]s in order. Each step is one pass over the text:
//! Unicode normalization (NFC, NFKC, NFD, NFKD), stripping, lowercasing, accent removal, digit
//! replacement, CCNet's punctuation table (mapping or removal) or removal of all punctuation,
//! control-character removal, whitespace collapsing, and URL or e-mail replacement.
//!
//! ## CCNet presets
//!
//! [`Normalizer::ccnet`] reproduces `cc_net.text_normalizer.normalize(line, accent, case,
//! numbers, punct)` and [`Normalizer::ccnet_dedup`] reproduces `normalize_for_dedup(line)`,
//! character for character (see `tests/test_normalize.py` for the parity test on 3,017 inputs):
//!
//! 1. `str.strip()`: Python's whitespace, which includes U+001C..U+001F
//!    ([`is_python_space`](super::chars::is_python_space));
//! 2. `str.lower()`: full case mapping with `Final_Sigma` (Rust's `str::to_lowercase` follows
//!    the same rules, e.g. `İ` becomes `i` + U+0307);
//! 3. accents: NFD, then every non-spacing mark (Mn) dropped; the text stays decomposed;
//! 4. `re.sub(r"\d", "0")`: every decimal digit (category Nd, any script) becomes `0`;
//! 5. punct=1 maps CCNet's 34-character table to ASCII, punct=2 deletes those characters;
//! 6. U+0000..U+001F and U+007F..U+009F are deleted.
//!
//! Idempotence: the presets are idempotent on their outputs up to a final strip: as in CCNet,
//! stripping runs before control and punctuation removal, so `"\0 a"` gives `" a"` and a second
//! pass gives `"a"`. Applied to an output without whitespace at its ends, they change nothing.

use std::cell::RefCell;

use rayon::prelude::*;

use super::passes::{compile, run_passes, Fused, Pass};
use super::surrogates::Stand;

/// A Unicode normalization form (UAX #15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnicodeForm {
    /// Canonical decomposition, then canonical composition.
    Nfc,
    /// Compatibility decomposition, then canonical composition.
    Nfkc,
    /// Canonical decomposition.
    Nfd,
    /// Compatibility decomposition.
    Nfkd,
}

/// How decimal digits are replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigitMode {
    /// Every decimal digit becomes `0` (CCNet): `"2024"` -> `"0000"`.
    Each,
    /// Every run of decimal digits becomes one `0`: `"2024"` -> `"0"`.
    Run,
}

/// What happens to punctuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PunctMode {
    /// CCNet's table: 34 Unicode punctuation characters mapped to ASCII (CCNet's punct=1).
    CcnetMap,
    /// The characters of CCNet's table are deleted (CCNet's punct=2).
    CcnetRemove,
    /// Every punctuation character is deleted: Unicode categories P*, plus the ASCII symbols
    /// `$ + < = > ^ \` | ~`.
    RemoveAll,
}

/// One normalization step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Unicode normalization to the given form.
    Unicode(UnicodeForm),
    /// Removes leading and trailing whitespace (Python's `str.strip()` set).
    Strip,
    /// Lowercases with Unicode's full case mapping (Python's `str.lower()`).
    Lowercase,
    /// NFD, then drops non-spacing marks (category Mn), as CCNet's `strip_accents`.
    StripAccents,
    /// Replaces decimal digits (category Nd) with `0`.
    Digits(DigitMode),
    /// Maps or removes punctuation.
    Punct(PunctMode),
    /// Deletes U+0000..U+001F and U+007F..U+009F (tab and newline included), as CCNet.
    RemoveControl,
    /// Replaces each run of whitespace (Python's set) with one space.
    CollapseWhitespace,
    /// Replaces URLs with the given string (rules in [`crate::text::links`]).
    ReplaceUrls(String),
    /// Replaces e-mail addresses with the given string.
    ReplaceEmails(String),
}

/// Scratch buffers larger than this (bytes) are freed after use rather than kept per thread.
const SCRATCH_KEEP: usize = 1 << 20;

/// The options of CCNet's `normalize(line, accent, case, numbers, punct)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CcnetOptions {
    /// Strip accents (CCNet default true).
    pub accent: bool,
    /// Lowercase (CCNet default true).
    pub case: bool,
    /// Replace each digit with 0 (CCNet default true).
    pub numbers: bool,
    /// 0: leave punctuation, 1: map CCNet's table (default), 2: remove its characters.
    pub punct: u8,
}

impl Default for CcnetOptions {
    fn default() -> Self {
        CcnetOptions {
            accent: true,
            case: true,
            numbers: true,
            punct: 1,
        }
    }
}

/// An ordered list of normalization steps; `Send + Sync`, cheap to share.
///
/// The steps are compiled into passes ([`crate::text::passes`]): consecutive per-character
/// steps run as one pass, and a pass that changes nothing copies nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Normalizer {
    steps: Vec<Step>,
    passes: Vec<Pass>,
    /// The passes as one scan, when they allow it (the CCNet presets do).
    fused: Option<Fused>,
}

impl Normalizer {
    /// A normalizer with no steps (the identity); add steps with [`Normalizer::then`].
    pub fn new() -> Self {
        Normalizer::default()
    }

    /// A normalizer applying `steps` in order.
    pub fn from_steps(steps: Vec<Step>) -> Self {
        let passes = compile(&steps);
        let fused = Fused::new(&passes);
        Normalizer {
            steps,
            passes,
            fused,
        }
    }

    /// This normalizer with `step` appended.
    ///
    /// Example:
    /// ```
    /// use kneser::text::normalize::{Normalizer, Step, DigitMode};
    /// let n = Normalizer::new().then(Step::Lowercase).then(Step::Digits(DigitMode::Run));
    /// assert_eq!(n.normalize("Tel 0123 45"), "tel 0 0");
    /// ```
    #[must_use]
    pub fn then(mut self, step: Step) -> Self {
        self.steps.push(step);
        Normalizer::from_steps(self.steps)
    }

    /// The steps, in the order they are applied.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// CCNet's `normalize(line, accent, case, numbers, punct)`.
    ///
    /// Example:
    /// ```
    /// use kneser::text::normalize::{CcnetOptions, Normalizer};
    /// let n = Normalizer::ccnet(CcnetOptions::default());
    /// assert_eq!(n.normalize("  Café «2024» "), "cafe \"0000\"");
    /// ```
    pub fn ccnet(options: CcnetOptions) -> Self {
        let mut steps = vec![Step::Strip];
        if options.case {
            steps.push(Step::Lowercase);
        }
        if options.accent {
            steps.push(Step::StripAccents);
        }
        if options.numbers {
            steps.push(Step::Digits(DigitMode::Each));
        }
        match options.punct {
            1 => steps.push(Step::Punct(PunctMode::CcnetMap)),
            2 => steps.push(Step::Punct(PunctMode::CcnetRemove)),
            _ => {}
        }
        steps.push(Step::RemoveControl);
        Normalizer::from_steps(steps)
    }

    /// CCNet's `normalize_for_dedup(line)`: strip, lowercase, digits to 0, CCNet's punctuation
    /// table and control characters removed (accents kept).
    pub fn ccnet_dedup() -> Self {
        Normalizer::ccnet(CcnetOptions {
            accent: false,
            case: true,
            numbers: true,
            punct: 2,
        })
    }

    /// Runs the plan over `text` with `bufs` as scratch and gives the result to `finish`.
    fn run<R>(&self, text: &str, bufs: &mut [String; 4], finish: impl FnOnce(&str) -> R) -> R {
        match &self.fused {
            Some(fused) => fused.run(&self.passes, text, bufs, finish),
            None => {
                let [b0, b1, _, _] = bufs;
                let mut pair = [std::mem::take(b0), std::mem::take(b1)];
                let r = run_passes(&self.passes, text, &mut pair, finish);
                [*b0, *b1] = pair;
                r
            }
        }
    }

    /// Normalizes `text` into a new string.
    pub fn normalize(&self, text: &str) -> String {
        self.with_normalized(text, str::to_string)
    }

    /// Normalizes surrogate-passing UTF-8 (Python's `s.encode("utf-8", "surrogatepass")`, the
    /// form in which a `str` holding lone surrogates reaches the core), keeping each surrogate
    /// where it is, as Python's string functions (and so CCNet's normalizer) keep them; see
    /// [`crate::text::surrogates`]. Output in the same form.
    ///
    /// Errors: [`crate::Error::Format`] naming `source` for bytes that are not UTF-8 even with
    /// surrogates allowed.
    pub fn normalize_surrogate_utf8(&self, text: &[u8], source: &str) -> crate::Result<Vec<u8>> {
        let stand = Stand::new(text, source)?;
        Ok(stand.restore(&self.normalize(&stand.text)))
    }

    /// Normalizes `text` and passes the result to `f` (no allocation for the result: the
    /// scratch buffers are per thread and reused).
    pub fn with_normalized<R>(&self, text: &str, f: impl FnOnce(&str) -> R) -> R {
        thread_local! {
            static SCRATCH: RefCell<[String; 4]> = const {
                RefCell::new([String::new(), String::new(), String::new(), String::new()])
            };
        }
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut bufs) => {
                let r = self.run(text, &mut bufs, f);
                // Keep the memory bound: do not hold on to the buffers of a huge text.
                for b in bufs.iter_mut() {
                    if b.capacity() > SCRATCH_KEEP {
                        *b = String::new();
                    }
                }
                r
            }
            // Re-entered from `f`: use fresh buffers.
            Err(_) => self.run(text, &mut Default::default(), f),
        })
    }

    /// Normalizes a text given as code points, as a Python `str` holds them (UCS-4; lone
    /// surrogates stay where they are, as Python's string functions keep them), for callers
    /// that read and make `str` objects without UTF-8 in between. Returns `Some(true)` with
    /// the result in `out`, or `Some(false)` when the result is `text[range]` (nothing but
    /// the strip changed), or `None` when this normalizer has no one-scan plan (or the text
    /// holds a capital sigma next to a lone surrogate): use [`Normalizer::normalize`] or
    /// [`Normalizer::normalize_surrogate_utf8`] then.
    pub fn normalize_ucs4(
        &self,
        text: &[u32],
        out: &mut Vec<u32>,
        range: &mut std::ops::Range<usize>,
    ) -> Option<bool> {
        thread_local! {
            static SCRATCH: RefCell<[String; 4]> = const {
                RefCell::new([String::new(), String::new(), String::new(), String::new()])
            };
        }
        let fused = self.fused.as_ref()?;
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut bufs) => {
                let r = fused.run_ucs4(&self.passes, text, out, range, &mut bufs);
                for b in bufs.iter_mut() {
                    if b.capacity() > SCRATCH_KEEP {
                        *b = String::new();
                    }
                }
                r
            }
            Err(_) => fused.run_ucs4(&self.passes, text, out, range, &mut Default::default()),
        })
    }

    /// [`Normalizer::normalize_ucs4`] of many texts in parallel (rayon): text `i` is
    /// `code_points[offsets[i]..offsets[i + 1]]`. None when this normalizer has no one-scan
    /// plan.
    pub fn normalize_ucs4_batch(
        &self,
        code_points: &[u32],
        offsets: &[usize],
    ) -> Option<Ucs4Batch> {
        self.fused.as_ref()?;
        const PER_TASK: usize = 256;
        let count = offsets.len().saturating_sub(1);
        let starts: Vec<usize> = (0..count).step_by(PER_TASK).collect();
        let chunks = starts
            .par_iter()
            .map(|&first| {
                let mut data = Vec::new();
                let mut out = Vec::new();
                let mut spans = Vec::with_capacity(PER_TASK);
                for i in first..(first + PER_TASK).min(count) {
                    let text = &code_points[offsets[i]..offsets[i + 1]];
                    let mut range = 0..text.len();
                    spans.push(match self.normalize_ucs4(text, &mut out, &mut range) {
                        None => Ucs4Out::Other,
                        Some(false) if range == (0..text.len()) => Ucs4Out::Same,
                        Some(false) => Ucs4Out::Part(range.start, range.end),
                        Some(true) => {
                            let start = data.len();
                            data.extend_from_slice(&out);
                            Ucs4Out::New(start, data.len())
                        }
                    });
                }
                (data, spans)
            })
            .collect();
        Some(Ucs4Batch { chunks })
    }

    /// Replaces the contents of `out` with `text` normalized.
    pub fn normalize_into(&self, text: &str, out: &mut String) {
        self.with_normalized(text, |r| {
            out.clear();
            out.push_str(r);
        });
    }

    /// Normalizes every text of `texts` in parallel (rayon) into a few shared buffers
    /// instead of one string per text; a text that the normalizer leaves as it is is
    /// marked so (the caller can reuse its input).
    pub fn normalize_batch_flat<S: AsRef<str> + Sync>(&self, texts: &[S]) -> FlatBatch {
        const PER_TASK: usize = 256;
        let chunks = texts
            .par_chunks(PER_TASK)
            .map(|chunk| {
                let mut data = String::new();
                let mut spans = Vec::with_capacity(chunk.len());
                for t in chunk {
                    let t = t.as_ref();
                    self.with_normalized(t, |out| {
                        if out.len() == t.len() && out.as_ptr() == t.as_ptr() {
                            spans.push(None);
                        } else {
                            let start = data.len();
                            data.push_str(out);
                            spans.push(Some((start, data.len())));
                        }
                    });
                }
                (data, spans)
            })
            .collect();
        FlatBatch { chunks }
    }

    /// Normalizes every text of `texts` in parallel (rayon); the output keeps the input order.
    pub fn normalize_batch<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Vec<String> {
        texts
            .par_iter()
            .with_min_len(64)
            .map(|t| self.normalize(t.as_ref()))
            .collect()
    }
}

/// A text's output in a [`FlatBatch`]: its byte range in its group's buffer, None when it is
/// the input unchanged.
type Span = Option<(usize, usize)>;

/// The outputs of [`Normalizer::normalize_batch_flat`], in input order.
#[derive(Debug, Default)]
pub struct FlatBatch {
    /// Per group of texts: the changed outputs one after another, and per text its byte
    /// range there (None: unchanged).
    chunks: Vec<(String, Vec<Span>)>,
}

impl FlatBatch {
    /// Each text's output, None when it is its input unchanged.
    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        self.chunks
            .iter()
            .flat_map(|(data, spans)| spans.iter().map(move |span| span.map(|(s, e)| &data[s..e])))
    }
}

/// One text's output in a [`Ucs4Batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ucs4Out {
    /// The input unchanged.
    Same,
    /// This range of the input (only the strip changed it).
    Part(usize, usize),
    /// This range of the batch's output buffer ([`Ucs4Batch::iter`] gives the slice).
    New(usize, usize),
    /// Not done here (a capital sigma next to a lone surrogate): normalize it on its own.
    Other,
}

/// The outputs of [`Normalizer::normalize_ucs4_batch`], in input order.
#[derive(Debug, Default)]
pub struct Ucs4Batch {
    chunks: Vec<(Vec<u32>, Vec<Ucs4Out>)>,
}

impl Ucs4Batch {
    /// Each text's output: what it is, and for [`Ucs4Out::New`] its code points.
    pub fn iter(&self) -> impl Iterator<Item = (Ucs4Out, &[u32])> + '_ {
        self.chunks.iter().flat_map(|(data, spans)| {
            spans.iter().map(move |&span| match span {
                Ucs4Out::New(s, e) => (span, &data[s..e]),
                other => (other, &data[..0]),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::chars::is_python_space;

    fn ccnet(s: &str) -> String {
        Normalizer::ccnet(CcnetOptions::default()).normalize(s)
    }

    #[test]
    fn surrogates_stay_where_they_were() {
        // "  ÀB\udc80 1\udc80\u{301}" as Python's surrogatepass bytes.
        let mut bytes = "  ÀB".as_bytes().to_vec();
        bytes.extend_from_slice(b"\xed\xb2\x80 1\xed\xb2\x80\xcc\x81  ");
        let out = Normalizer::ccnet(CcnetOptions::default())
            .normalize_surrogate_utf8(&bytes, "t")
            .expect("normalize");
        // strip, lower, accents off (the combining acute after a surrogate goes), digit to 0.
        assert_eq!(out, b"ab\xed\xb2\x80 0\xed\xb2\x80");
        assert_eq!(
            Normalizer::ccnet(CcnetOptions::default())
                .normalize_surrogate_utf8(b"x", "t")
                .expect("plain"),
            b"x"
        );
    }

    #[test]
    fn ccnet_default_examples() {
        assert_eq!(ccnet("Hello, World! 123"), "hello, world! 000");
        assert_eq!(
            ccnet("Ünïcödé àccents — dashes… “quotes” «guillemets»"),
            "unicode accents  -  dashes... \"quotes\" \"guillemets\""
        );
        assert_eq!(ccnet("中文，标点。（括号）"), "中文,标点.(括号)");
        assert_eq!(
            ccnet("Arabic ٠١٢ Devanagari ०१२"),
            "arabic 000 devanagari 000"
        );
        assert_eq!(
            ccnet("tab\there\x00nul\x7fdel\u{85}nel"),
            "tabherenuldelnel"
        );
        assert_eq!(ccnet("\x1c  x \u{3000}"), "x");
        assert_eq!(ccnet("İ"), "i");
        assert_eq!(ccnet("ΟΔΟΣ Σ"), "οδος σ");
    }

    #[test]
    fn ccnet_variants() {
        let p2 = Normalizer::ccnet(CcnetOptions {
            punct: 2,
            ..CcnetOptions::default()
        });
        assert_eq!(p2.normalize("“quotes” — x"), "quotes  x");
        let keep = Normalizer::ccnet(CcnetOptions {
            accent: false,
            case: false,
            ..CcnetOptions::default()
        });
        assert_eq!(keep.normalize("Café １"), "Café 0");
        assert_eq!(Normalizer::ccnet_dedup().normalize(" Ünï， 42 "), "ünï 00");
    }

    #[test]
    fn each_step() {
        let one = |s: Step, t: &str| Normalizer::new().then(s).normalize(t);
        assert_eq!(one(Step::Unicode(UnicodeForm::Nfkc), "ﬁ ①"), "fi 1");
        assert_eq!(one(Step::Unicode(UnicodeForm::Nfd), "é").chars().count(), 2);
        assert_eq!(one(Step::Unicode(UnicodeForm::Nfc), "e\u{301}"), "é");
        assert_eq!(one(Step::Unicode(UnicodeForm::Nfkd), "ǅ"), "Dz\u{30c}");
        assert_eq!(one(Step::Digits(DigitMode::Run), "a12b3 ٤٥"), "a0b0 0");
        assert_eq!(one(Step::Punct(PunctMode::RemoveAll), "a,b!「c」$"), "abc");
        assert_eq!(one(Step::CollapseWhitespace, " a \t\n b\u{a0} "), " a b ");
        assert_eq!(
            one(Step::ReplaceUrls("U".into()), "go to http://x.y/z."),
            "go to U."
        );
        assert_eq!(one(Step::ReplaceEmails("E".into()), "me@x.org!"), "E!");
        assert_eq!(Normalizer::new().normalize("As Is"), "As Is");
    }

    #[test]
    fn batch_keeps_order() {
        let n = Normalizer::ccnet_dedup();
        let texts: Vec<String> = (0..1000).map(|i| format!("Line {i}!")).collect();
        let out = n.normalize_batch(&texts);
        for (t, o) in texts.iter().zip(&out) {
            assert_eq!(&n.normalize(t), o);
        }
    }

    #[test]
    fn code_points_give_what_utf8_gives() {
        let mut out = Vec::new();
        let mut range = 0..0;
        for n in [
            Normalizer::ccnet(CcnetOptions::default()),
            Normalizer::ccnet_dedup(),
        ] {
            for text in [
                "  Ünï，42 中文！ ",
                "already normal",
                "ΟΔΟΣ Σ",
                "Ça, e\u{327}\u{301}! 한국 İ\t",
                "",
                " \u{3000} ",
            ] {
                let cps: Vec<u32> = text.chars().map(u32::from).collect();
                let got: String = match n.normalize_ucs4(&cps, &mut out, &mut range) {
                    Some(true) => out.iter().filter_map(|&u| char::from_u32(u)).collect(),
                    Some(false) => text.chars().skip(range.start).take(range.len()).collect(),
                    None => panic!("no one-scan plan"),
                };
                assert_eq!(got, n.normalize(text), "{text:?}");
            }
        }
        // A lone surrogate is kept where it is.
        let n = Normalizer::ccnet(CcnetOptions::default());
        let cps = [0x41, 0xdc80, 0x301, 0x31, 0xff0c];
        assert_eq!(n.normalize_ucs4(&cps, &mut out, &mut range), Some(true));
        assert_eq!(out, [0x61, 0xdc80, 0x30, 0x2c]);
        assert_eq!(
            Normalizer::new().normalize_ucs4(&cps, &mut out, &mut range),
            None
        );
        // The batch gives what one call a text gives.
        let texts = ["  Ünï，42 ", "same", " x ", "ΟΔΟΣ"];
        let mut flat = Vec::new();
        let mut offsets = vec![0];
        for t in texts {
            flat.extend(t.chars().map(u32::from));
            offsets.push(flat.len());
        }
        let batch = n
            .normalize_ucs4_batch(&flat, &offsets)
            .expect("one-scan plan");
        let got: Vec<String> = batch
            .iter()
            .zip(texts)
            .map(|((o, cps), t)| match o {
                Ucs4Out::Same => t.to_string(),
                Ucs4Out::Part(s, e) => t.chars().skip(s).take(e - s).collect(),
                Ucs4Out::New(..) => cps.iter().filter_map(|&u| char::from_u32(u)).collect(),
                Ucs4Out::Other => panic!("no surrogate here"),
            })
            .collect();
        let want: Vec<String> = texts.iter().map(|t| n.normalize(t)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn flat_batch_marks_unchanged_texts() {
        let n = Normalizer::ccnet(CcnetOptions::default());
        let texts: Vec<String> = (0..1000)
            .map(|i| match i % 3 {
                0 => format!("line {i}"),
                1 => "already normal 中文".to_string(),
                _ => format!(" Ünï，{i} "),
            })
            .collect();
        let flat = n.normalize_batch_flat(&texts);
        let got: Vec<Option<&str>> = flat.iter().collect();
        assert_eq!(got.len(), texts.len());
        for (t, o) in texts.iter().zip(got) {
            let want = n.normalize(t);
            match o {
                Some(o) => assert_eq!(o, want),
                None => assert_eq!(t, &want),
            }
        }
        assert!(n
            .normalize_batch_flat(&texts[1..2])
            .iter()
            .all(|o| o.is_none()));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn presets_are_idempotent_up_to_strip(s in any::<String>(), punct in 0u8..3) {
                for n in [
                    Normalizer::ccnet_dedup(),
                    Normalizer::ccnet(CcnetOptions { punct, ..CcnetOptions::default() }),
                ] {
                    let once = n.normalize(&s);
                    let stripped = once.trim_matches(is_python_space);
                    prop_assert_eq!(n.normalize(&once), stripped);
                    prop_assert_eq!(n.normalize(stripped), stripped);
                }
            }

            #[test]
            fn steps_never_panic(s in any::<String>()) {
                let n = Normalizer::new()
                    .then(Step::Unicode(UnicodeForm::Nfkc))
                    .then(Step::ReplaceUrls("<url>".into()))
                    .then(Step::ReplaceEmails("<email>".into()))
                    .then(Step::Lowercase)
                    .then(Step::StripAccents)
                    .then(Step::Digits(DigitMode::Run))
                    .then(Step::Punct(PunctMode::RemoveAll))
                    .then(Step::RemoveControl)
                    .then(Step::CollapseWhitespace)
                    .then(Step::Strip);
                let out = n.normalize(&s);
                prop_assert!(!out.starts_with(' ') && !out.ends_with(' '));
                prop_assert!(!out.contains("  "));
            }
        }
    }
}
