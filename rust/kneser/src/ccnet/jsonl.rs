//! CCNet's JSON-lines document loop: read each line as a JSON document, take its text field and
//! `language`, score it with [`CcnetScorer`], and write it back as it was plus CCNet's
//! `perplexity` (scored documents only) and `bucket`, as `cc_net`'s `json.dumps` writes them.
//! One call per batch of lines, the lines in parallel; dedup, keep and the counts in input order.
//!
//! A line is a document when it is a JSON object with a string text field; a blank line is
//! skipped silently; anything else (invalid UTF-8, invalid JSON, JSON nested deeper than 128,
//! a lone surrogate escape in any string, no string text field) is a bad line: skipped and
//! recorded with its file and line, or an [`Error::Format`] naming them.
//!
//! The written line is the input line's bytes (the document unchanged, byte for byte) with
//! `, "perplexity": P, "bucket": "B"` inserted before its closing brace; `P` is printed as
//! Python's `repr(float)` ([`python_float`]). A document that already has a top-level
//! `perplexity` or `bucket` key keeps it and gets the new one after it, so a JSON reader (which
//! keeps a key's last value, as Python's `json.loads`) reads CCNet's values.

use std::borrow::Cow;
use std::fmt;
use std::io::BufRead;

use rayon::prelude::*;
use rustc_hash::FxHashSet;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{Bucket, CcnetScorer, DocScore};
use crate::io::LineReader;
use crate::text::whitespace::Rule;
use crate::{Cancel, Error, Result};

/// How documents are read and which are written.
#[derive(Debug, Clone)]
pub struct JsonlOptions {
    /// The text field (CCNet: `raw_content`).
    pub field: String,
    /// The language field (CCNet: `language`).
    pub language_field: String,
    /// The buckets written, indexed by [`Bucket::index`].
    pub keep: [bool; 4],
    /// Drop exact duplicates (the `normalize_for_dedup` text's hash) after the first.
    pub dedup: bool,
    /// Plain text input: each line is a document's text, without a language.
    pub text: bool,
    /// A bad line is an error instead of being skipped and recorded.
    pub raise: bool,
}

/// What a run did, accumulated over its batches.
#[derive(Debug, Clone, Default)]
pub struct JsonlReport {
    /// Documents read (bad and blank lines excluded).
    pub documents: u64,
    /// Documents dropped as duplicates.
    pub duplicates: u64,
    /// Documents left unscored (no model, no language or no text).
    pub unscored: u64,
    /// Pieces scored, over the documents that are not duplicates.
    pub tokens: u64,
    /// Documents written.
    pub kept: u64,
    /// Pieces of the written documents.
    pub kept_tokens: u64,
    /// Documents per bucket ([`Bucket::index`]), duplicates excluded.
    pub buckets: [u64; 4],
    /// Documents written per bucket.
    pub kept_per_bucket: [u64; 4],
    /// Bad lines: (file, line, reason).
    pub malformed: Vec<(String, u64, String)>,
}

/// A batch of raw lines (one buffer, line numbers kept).
#[derive(Debug, Default)]
pub struct LineBatch {
    data: Vec<u8>,
    lines: Vec<(u64, usize, usize)>,
}

impl LineBatch {
    /// Reads up to `max` lines (each without its `\n` and a `\r` before it); empty at the end.
    pub fn read<R: BufRead>(reader: &mut LineReader<R>, max: usize) -> Result<LineBatch> {
        let mut batch = LineBatch::default();
        while batch.lines.len() < max {
            let Some(line) = reader.next_line()? else {
                break;
            };
            let bytes = line.bytes.strip_suffix(b"\r").unwrap_or(line.bytes);
            let start = batch.data.len();
            batch.data.extend_from_slice(bytes);
            batch.lines.push((line.number, start, batch.data.len()));
        }
        Ok(batch)
    }

    /// The number of lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether there are no lines.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub(crate) fn get(&self, i: usize) -> (u64, &[u8]) {
        let (n, s, e) = self.lines[i];
        (n, &self.data[s..e])
    }
}

impl Bucket {
    /// 0 to 3 for head, middle, tail, all.
    pub fn index(self) -> usize {
        match self {
            Bucket::Head => 0,
            Bucket::Middle => 1,
            Bucket::Tail => 2,
            Bucket::All => 3,
        }
    }
}

/// Python's `repr(x)` of a float, as `json.dumps` writes it (`Infinity`, `NaN` for the others):
/// the shortest round-trip digits, in positional notation for decimal exponents -4 to 15 (with
/// at least one decimal), else as `d.ddde+XX`.
pub fn python_float(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(x);
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (mant, exp) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (s, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let mut digits: String = format!("{int}{frac}");
    // value = 0.DIGITS * 10^decpt
    let mut decpt = int.len() as i32 + exp;
    let lead = digits.len() - digits.trim_start_matches('0').len();
    digits.drain(..lead);
    decpt -= lead as i32;
    let digits = digits.trim_end_matches('0');
    let mut out = String::with_capacity(24);
    if neg {
        out.push('-');
    }
    if digits.is_empty() {
        out.push_str("0.0");
        return out;
    }
    if decpt > -4 && decpt <= 16 {
        if decpt <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-decpt) as usize));
            out.push_str(digits);
        } else if decpt as usize >= digits.len() {
            out.push_str(digits);
            out.extend(std::iter::repeat_n('0', decpt as usize - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..decpt as usize]);
            out.push('.');
            out.push_str(&digits[decpt as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        out.push_str(&format!("e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs()));
    }
    out
}

/// `json.dumps(s, ensure_ascii=False)` of a string.
pub fn python_json_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut b = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// Any JSON value, every string in it decoded (so a lone surrogate escape is an error).
struct Validate;

impl<'de> serde::Deserialize<'de> for Validate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(ValidateVisitor)
    }
}

struct ValidateVisitor;

impl<'de> Visitor<'de> for ValidateVisitor {
    type Value = Validate;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> std::result::Result<Validate, E> {
        Ok(Validate)
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<Validate, E> {
        Ok(Validate)
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<Validate, E> {
        Ok(Validate)
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<Validate, E> {
        Ok(Validate)
    }
    fn visit_str<E>(self, _: &str) -> std::result::Result<Validate, E> {
        Ok(Validate)
    }
    fn visit_unit<E>(self) -> std::result::Result<Validate, E> {
        Ok(Validate)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Validate, A::Error> {
        while seq.next_element::<Validate>()?.is_some() {}
        Ok(Validate)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Validate, A::Error> {
        while map.next_entry::<Validate, Validate>()?.is_some() {}
        Ok(Validate)
    }
}

/// A string value (borrowed when it has no escapes), or None for any other (validated) value.
struct MaybeStr<'de>(Option<Cow<'de, str>>);

impl<'de> serde::Deserialize<'de> for MaybeStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(MaybeStrVisitor)
    }
}

struct MaybeStrVisitor;

impl<'de> Visitor<'de> for MaybeStrVisitor {
    type Value = MaybeStr<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Self::Value, E> {
        Ok(MaybeStr(Some(Cow::Borrowed(s))))
    }
    fn visit_str<E>(self, s: &str) -> std::result::Result<Self::Value, E> {
        Ok(MaybeStr(Some(Cow::Owned(s.to_string()))))
    }
    fn visit_string<E>(self, s: String) -> std::result::Result<Self::Value, E> {
        Ok(MaybeStr(Some(Cow::Owned(s))))
    }
    fn visit_bool<E>(self, _: bool) -> std::result::Result<Self::Value, E> {
        Ok(MaybeStr(None))
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<Self::Value, E> {
        Ok(MaybeStr(None))
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<Self::Value, E> {
        Ok(MaybeStr(None))
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<Self::Value, E> {
        Ok(MaybeStr(None))
    }
    fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(MaybeStr(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<Self::Value, A::Error> {
        ValidateVisitor.visit_seq(seq).map(|_| MaybeStr(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Self::Value, A::Error> {
        ValidateVisitor.visit_map(map).map(|_| MaybeStr(None))
    }
}

/// The top-level fields a document needs.
#[derive(Default)]
struct Top<'de> {
    object: bool,
    text: Option<Cow<'de, str>>,
    language: Option<Cow<'de, str>>,
}

struct TopSeed<'o> {
    field: &'o str,
    language_field: &'o str,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Top<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Top<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Top<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> std::result::Result<Self::Value, E> {
        Ok(Top::default())
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<Self::Value, E> {
        Ok(Top::default())
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<Self::Value, E> {
        Ok(Top::default())
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<Self::Value, E> {
        Ok(Top::default())
    }
    fn visit_str<E>(self, _: &str) -> std::result::Result<Self::Value, E> {
        Ok(Top::default())
    }
    fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(Top::default())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<Self::Value, A::Error> {
        ValidateVisitor.visit_seq(seq).map(|_| Top::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Top<'de>, A::Error> {
        let mut top = Top {
            object: true,
            ..Top::default()
        };
        while let Some(key) = map.next_key::<MaybeStr<'de>>()? {
            let key = key.0.unwrap_or_default();
            if key == self.field {
                top.text = map.next_value::<MaybeStr<'de>>()?.0;
            } else if key == self.language_field {
                top.language = map.next_value::<MaybeStr<'de>>()?.0;
            } else {
                map.next_value::<Validate>()?;
            }
        }
        Ok(top)
    }
}

/// A line read: a document (its text and language), a blank line, or a bad line's reason.
pub(crate) enum Parsed<'a> {
    Blank,
    Bad(String),
    Doc {
        text: Cow<'a, str>,
        language: Option<Cow<'a, str>>,
    },
}

pub(crate) fn parse<'a>(line: &'a [u8], opts: &JsonlOptions) -> Parsed<'a> {
    let Ok(line) = std::str::from_utf8(line) else {
        return Parsed::Bad("invalid UTF-8".into());
    };
    if opts.text {
        return Parsed::Doc {
            text: Cow::Borrowed(line),
            language: None,
        };
    }
    if Rule::Python.trim(line).is_empty() {
        return Parsed::Blank;
    }
    let seed = TopSeed {
        field: &opts.field,
        language_field: &opts.language_field,
    };
    let mut de = serde_json::Deserializer::from_str(line);
    let top = match seed.deserialize(&mut de).and_then(|t| de.end().map(|_| t)) {
        Ok(t) => t,
        Err(e) => {
            let m = e.to_string();
            return Parsed::Bad(if m.contains("recursion limit") {
                "JSON nested too deeply".into()
            } else if m.contains("surrogate") || m.contains("end of hex escape") {
                format!("lone surrogate in a string ({m})")
            } else {
                m
            });
        }
    };
    match (top.object, top.text) {
        (true, Some(text)) => Parsed::Doc {
            text,
            language: top.language,
        },
        _ => Parsed::Bad(format!("no string field {:?}", opts.field)),
    }
}

/// The output line of a document: `line` plus CCNet's fields (see the module doc).
pub(crate) fn write_document(
    line: &[u8],
    opts: &JsonlOptions,
    score: &DocScore,
    out: &mut Vec<u8>,
) {
    let mut tail = Vec::with_capacity(48);
    if let Some(p) = score.perplexity {
        tail.extend_from_slice(b"\"perplexity\": ");
        tail.extend_from_slice(python_float(p).as_bytes());
        tail.extend_from_slice(b", ");
    }
    tail.extend_from_slice(b"\"bucket\": \"");
    tail.extend_from_slice(score.bucket.name().as_bytes());
    tail.extend_from_slice(b"\"}\n");
    if opts.text {
        out.push(b'{');
        python_json_string(&opts.field, out);
        out.extend_from_slice(b": ");
        python_json_string(&String::from_utf8_lossy(line), out);
        out.extend_from_slice(b", ");
        out.extend_from_slice(&tail);
        return;
    }
    // A validated object: its last non-whitespace byte is its closing brace.
    let end = line
        .iter()
        .rposition(|&b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .unwrap_or(0);
    out.extend_from_slice(&line[..end]);
    out.extend_from_slice(b", ");
    out.extend_from_slice(&tail);
}

/// One run of the JSON-lines loop: the scorer, the options and the state kept across batches
/// (the dedup hashes, the report). Memory: 8 bytes per distinct document with dedup.
pub struct JsonlJob<'s> {
    scorer: &'s CcnetScorer,
    opts: JsonlOptions,
    seen: FxHashSet<u64>,
    /// What the run did so far.
    pub report: JsonlReport,
}

impl<'s> JsonlJob<'s> {
    /// A job over `scorer`.
    pub fn new(scorer: &'s CcnetScorer, opts: JsonlOptions) -> Self {
        JsonlJob {
            scorer,
            opts,
            seen: FxHashSet::default(),
            report: JsonlReport::default(),
        }
    }

    /// A job that goes on from the state of an earlier one ([`JsonlJob::into_state`]).
    pub fn resume(
        scorer: &'s CcnetScorer,
        opts: JsonlOptions,
        seen: FxHashSet<u64>,
        report: JsonlReport,
    ) -> Self {
        JsonlJob {
            scorer,
            opts,
            seen,
            report,
        }
    }

    /// The state carried to the next batch: the dedup hashes and the report.
    pub fn into_state(self) -> (FxHashSet<u64>, JsonlReport) {
        (self.seen, self.report)
    }

    /// Scores one batch of lines of `source` (its lines in parallel) and appends the written
    /// documents to `out`, in input order. With `raise`, a bad line is an [`Error::Format`]
    /// naming `source` and the line (nothing of the batch is appended).
    pub fn process(
        &mut self,
        source: &str,
        batch: &LineBatch,
        out: &mut Vec<u8>,
        cancel: &Cancel,
    ) -> Result<()> {
        cancel.check()?;
        let opts = &self.opts;
        let scorer = self.scorer;
        let dedup = opts.dedup;
        let parsed: Vec<Parsed<'_>> = (0..batch.len())
            .into_par_iter()
            .with_min_len(16)
            .map(|i| parse(batch.get(i).1, opts))
            .collect();
        let docs: Vec<(Option<&str>, Option<&str>)> = parsed
            .iter()
            .filter_map(|p| match p {
                Parsed::Doc { text, language } => Some((Some(text.as_ref()), language.as_deref())),
                _ => None,
            })
            .collect();
        let mut scores = scorer.score_batch(&docs, dedup, cancel)?.into_iter();
        let results: Vec<std::result::Result<Option<DocScore>, String>> = parsed
            .into_iter()
            .map(|p| match p {
                Parsed::Blank => Ok(None),
                Parsed::Bad(m) => Err(m),
                Parsed::Doc { .. } => Ok(scores.next()),
            })
            .collect();
        if opts.raise {
            if let Some((i, Err(m))) = results.iter().enumerate().find(|(_, r)| r.is_err()) {
                let kind = if opts.text {
                    "malformed line"
                } else {
                    "malformed JSON line"
                };
                return Err(Error::format(
                    source,
                    batch.get(i).0,
                    format!("{kind}: {m}"),
                ));
            }
        }
        let r = &mut self.report;
        for (i, res) in results.into_iter().enumerate() {
            let (number, line) = batch.get(i);
            let score = match res {
                Ok(None) => continue,
                Ok(Some(s)) => s,
                Err(m) => {
                    r.malformed.push((source.to_string(), number, m));
                    continue;
                }
            };
            r.documents += 1;
            if dedup && !self.seen.insert(score.dedup_hash) {
                r.duplicates += 1;
                continue;
            }
            let b = score.bucket.index();
            r.buckets[b] += 1;
            r.tokens += score.tokens;
            if score.perplexity.is_none() {
                r.unscored += 1;
            }
            if !opts.keep[b] {
                continue;
            }
            r.kept += 1;
            r.kept_per_bucket[b] += 1;
            r.kept_tokens += score.tokens;
            write_document(line, opts, &score, out);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_python_repr() {
        for (x, want) in [
            (123.4, "123.4"),
            (5.0, "5.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e300, "1e+300"),
            (0.1, "0.1"),
            (f64::INFINITY, "Infinity"),
        ] {
            assert_eq!(python_float(x), want, "{x}");
        }
    }

    #[test]
    fn strings_as_python_json() {
        let mut out = Vec::new();
        python_json_string("a\"\\\n\t\u{1}é\u{2028}", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"\\\\\\n\\t\\u0001é\u{2028}\""
        );
    }

    fn opts() -> JsonlOptions {
        JsonlOptions {
            field: "raw_content".into(),
            language_field: "language".into(),
            keep: [true; 4],
            dedup: false,
            text: false,
            raise: false,
        }
    }

    #[test]
    fn parsing_lines() {
        let o = opts();
        let doc = |s: &str| match parse(s.as_bytes(), &o) {
            Parsed::Doc { text, language } => {
                Ok((text.into_owned(), language.map(Cow::into_owned)))
            }
            Parsed::Blank => Err("blank".to_string()),
            Parsed::Bad(m) => Err(m),
        };
        assert_eq!(
            doc(r#"{"raw_content": "a\nb", "language": "en", "x": [1, {"y": null}]}"#),
            Ok(("a\nb".into(), Some("en".into())))
        );
        assert_eq!(
            doc(r#"{"raw_content": "a", "language": 3}"#),
            Ok(("a".into(), None))
        );
        assert_eq!(
            doc(r#"{"raw_content": "x", "raw_content": "y"}"#),
            Ok(("y".into(), None))
        );
        assert_eq!(doc(" \u{3000} "), Err("blank".into()));
        assert!(doc(r#"{"raw_content": 1}"#)
            .unwrap_err()
            .contains("no string field"));
        assert!(doc(r#"["raw_content"]"#)
            .unwrap_err()
            .contains("no string field"));
        assert!(doc(r#"{"raw_content": "a \ud800 b"}"#)
            .unwrap_err()
            .contains("surrogate"));
        assert!(doc(r#"{"raw_content": "a", "z": "\udfff"}"#)
            .unwrap_err()
            .contains("surrogate"));
        assert!(doc(&"[".repeat(1000)).unwrap_err().contains("nested"));
        assert!(doc(r#"{"raw_content": "a"} x"#).is_err());
        assert!(
            matches!(parse(b"{\"raw_content\": \"caf\xe9\"}", &o), Parsed::Bad(m) if m.contains("UTF-8"))
        );
    }

    #[test]
    fn written_lines() {
        let o = opts();
        let s = DocScore {
            perplexity: Some(123.4),
            bucket: Bucket::Head,
            tokens: 3,
            dedup_hash: 0,
        };
        let mut out = Vec::new();
        write_document(br#"{"a": "\u00e9"}  "#, &o, &s, &mut out);
        assert_eq!(
            out,
            b"{\"a\": \"\\u00e9\", \"perplexity\": 123.4, \"bucket\": \"head\"}\n"
        );
        out.clear();
        let u = DocScore {
            perplexity: None,
            bucket: Bucket::All,
            ..s
        };
        write_document(
            br#"{"a":1}"#,
            &JsonlOptions {
                text: false,
                ..o.clone()
            },
            &u,
            &mut out,
        );
        assert_eq!(out, b"{\"a\":1, \"bucket\": \"all\"}\n");
        out.clear();
        write_document(b"x\"y", &JsonlOptions { text: true, ..o }, &u, &mut out);
        assert_eq!(out, b"{\"raw_content\": \"x\\\"y\", \"bucket\": \"all\"}\n");
    }
}
