//! The generic perplexity pipeline (`kneser.Pipeline`, `kneser pipeline -m`): one job that
//! takes documents batch by batch and writes the kept ones. This is the only home of its
//! stage loop and its rules; the bindings convert arguments and make one call per batch,
//! Python builds the job from its options and presents the [`PipelineReport`].
//!
//! For each document (its text and its JSON line, from [`crate::documents::read_documents`] or
//! given by the caller):
//! 1. the text is split on `\n` into lines, each normalized on its own (CCNet's way) when the
//!    job has a [`Normalizer`]; a line that is blank after it (Python's `str.strip`) is dropped;
//! 2. dedup ([`Dedup`]): `Document` drops a document whose lines' `normalize_for_dedup` text,
//!    joined by `\n`, was seen before; `Line` drops each non-blank line seen before, then a
//!    document left without lines (a duplicate); the 64-bit hashes are
//!    [`crate::ccnet::dedup_hash`]; a document without lines is `empty`;
//! 3. each line is tokenized by the job's [`Tokenizer`] and its tokens joined by one space (a
//!    Python tokenizer's tokens are handed in instead: [`Prepared::set_tokens`]);
//! 4. the lines are scored as the kenlm module's `model.score(line)` (with `<s>` and `</s>`),
//!    the document's log10 sum is numpy's `np.sum` of them ([`numpy_sum`]), its length its
//!    words (Python's `len(line.split())`) plus one per line, and its perplexity
//!    [`crate::ccnet::perplexity`] (the one formula);
//! 5. bucket cutoffs: fixed thresholds, or the percentiles ([`percentile`], numpy's default
//!    'linear' rule) of the first `calibration` documents' perplexities (those documents wait
//!    in memory until then); the bucket is [`crate::ccnet::bucket_of`];
//! 6. the perplexity's log10 is counted in a fixed histogram ([`histogram_bin`]);
//! 7. a document in a kept bucket is written as its JSON line plus `perplexity` (Python's
//!    `round(p, 2)`, [`crate::ccnet::python_round`] with [`PRINTED_DECIMALS`]) and `bucket`
//!    ([`crate::documents::write_documents`]); its shard text ([`ShardText`]) is its lines
//!    joined by one space, or its JSON line, one document a line.
//!
//! Memory: one batch of documents, the calibration documents (their lines and JSON lines),
//! 8 bytes per distinct document (or line) with dedup, and a fixed histogram.

use std::sync::Arc;

use rustc_hash::FxHashSet;

use crate::ccnet::{bucket_of, dedup_hash, perplexity, python_round, python_word_count, Bucket};
use crate::documents::{write_documents, Document};
use crate::model::Model;
use crate::text::normalize::Normalizer;
use crate::text::tokenize::Tokenizer;
use crate::text::whitespace::Rule;
use crate::{Cancel, Error, Result};

/// The (head, tail) percentiles the buckets are cut at unless told otherwise: CCNet's
/// `percentile_head` and `percentile_tail` (`cc_net/perplexity.py`), the rows of `cutoff.csv`
/// the CCNet mode reads, and the calibrated mode's percentiles of the first documents.
pub const DEFAULT_PERCENTILES: (f64, f64) = (30.0, 60.0);

/// The documents whose perplexities fix the calibrated cutoffs unless told otherwise.
pub const DEFAULT_CALIBRATION: usize = 10_000;

/// The input lines (documents) of one batch, one core call, unless told otherwise: the
/// generic pipeline's and the CCNet mode's readers.
pub const DEFAULT_BATCH: usize = 2048;

/// The decimals of the printed perplexity (`round(p, 2)`).
pub const PRINTED_DECIMALS: usize = 2;

/// Bins of the log10-perplexity histogram, from 0 to [`HISTOGRAM_MAX`].
pub const HISTOGRAM_BINS: usize = 120;

/// The top of the histogram (log10 perplexity 6: a perplexity of a million).
pub const HISTOGRAM_MAX: f64 = 6.0;

/// The histogram's edges, `numpy.linspace(0, HISTOGRAM_MAX, HISTOGRAM_BINS + 1)` exactly.
pub fn histogram_edges() -> Vec<f64> {
    let step = HISTOGRAM_MAX / HISTOGRAM_BINS as f64;
    let mut edges: Vec<f64> = (0..=HISTOGRAM_BINS)
        .map(|i| i as f64 * step + 0.0)
        .collect();
    edges[HISTOGRAM_BINS] = HISTOGRAM_MAX;
    edges
}

/// The histogram bin of a perplexity: the last edge at or below its log10 (a log10 of 0 for a
/// perplexity that is not positive, NaN too), clamped to the bins (numpy's
/// `searchsorted(edges, x, side="right") - 1` rule).
pub fn histogram_bin(perplexity: f64, edges: &[f64]) -> usize {
    let lp = if perplexity > 0.0 {
        perplexity.log10()
    } else {
        0.0
    };
    let at_or_below = edges.partition_point(|&e| e <= lp);
    at_or_below.saturating_sub(1).min(edges.len() - 2)
}

/// numpy's `np.sum` of a float64 array: pairwise summation (blocks of up to 128 summed in 8
/// interleaved accumulators, halves above), from 0. The document's log10 sum.
pub fn numpy_sum(values: &[f64]) -> f64 {
    0.0 + pairwise(values)
}

fn pairwise(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[i..] {
            res += x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise(&a[..n2]) + pairwise(&a[n2..])
    }
}

/// numpy's `np.percentile(values, q)` with its default 'linear' method, for every `q` in
/// `qs` (in [0, 100]): the sorted values at the virtual index `(n - 1) * (q / 100)`, linearly
/// interpolated as numpy's `_lerp` (from the lower value below a weight of 0.5, from the upper
/// at or above it). NaN if any value is NaN; None for no values.
pub fn percentile(values: &[f64], qs: &[f64]) -> Option<Vec<f64>> {
    if values.is_empty() {
        return None;
    }
    if values.iter().any(|v| v.is_nan()) {
        return Some(vec![f64::NAN; qs.len()]);
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let last = (n - 1) as f64;
    Some(
        qs.iter()
            .map(|&q| {
                let virtual_index = last * (q / 100.0);
                let (lo, hi, prev) = if virtual_index >= last {
                    (n - 1, n - 1, -1.0)
                } else {
                    let prev = virtual_index.floor();
                    (prev as usize, prev as usize + 1, prev)
                };
                let (a, b, t) = (sorted[lo], sorted[hi], virtual_index - prev);
                let diff = b - a;
                if t >= 0.5 {
                    b - diff * (1.0 - t)
                } else {
                    a + diff * t
                }
            })
            .collect(),
    )
}

/// A document's lines: its text split on `\n` (CCNet's paragraphs, normalized and scored one
/// by one).
pub fn document_lines(text: &str) -> std::str::Split<'_, char> {
    text.split('\n')
}

/// Each text normalized line by line ([`document_lines`]), the lines joined back by `\n`: the
/// job's step 1 for `kneser.ray.Normalize(documents=True)`.
pub fn normalize_documents<S: AsRef<str> + Sync>(
    normalizer: &Normalizer,
    texts: &[S],
    cancel: &Cancel,
) -> Result<Vec<String>> {
    let split: Vec<Vec<&str>> = texts
        .iter()
        .map(|t| document_lines(t.as_ref()).collect())
        .collect();
    let flat: Vec<&str> = split.iter().flatten().copied().collect();
    let norm = in_blocks(&flat, cancel, |b| normalizer.normalize_batch(b))?;
    let mut pos = 0;
    Ok(split
        .iter()
        .map(|lines| {
            let joined = norm[pos..pos + lines.len()].join("\n");
            pos += lines.len();
            joined
        })
        .collect())
}

/// Each text normalized (when `normalizer` is given), then tokenized (when `tokenizer` is
/// given) and its tokens joined by one space ([`join_tokens`]): the lines `kneser.train_lm`
/// hands to estimation. The output keeps the input order; a text that is empty after it stays
/// (as an empty line).
pub fn prepare_lines<S: AsRef<str> + Sync>(
    normalizer: Option<&Normalizer>,
    tokenizer: Option<&Tokenizer>,
    texts: &[S],
    cancel: &Cancel,
) -> Result<Vec<String>> {
    let normalized: Vec<String> = match normalizer {
        Some(n) => in_blocks(texts, cancel, |b| n.normalize_batch(b))?,
        None => texts.iter().map(|t| t.as_ref().to_string()).collect(),
    };
    let Some(tok) = tokenizer else {
        return Ok(normalized);
    };
    let flats = in_blocks(&normalized, cancel, |b| tok.flat_tokens_batch(b))?;
    Ok(flats
        .iter()
        .map(|f| {
            let mut line = String::with_capacity(f.text.len() + f.ends.len());
            join_tokens(&mut line, f.iter());
            line
        })
        .collect())
}

/// Appends `tokens` to `line` joined by one space: the one rule for a tokenized line.
pub fn join_tokens<'a>(line: &mut String, tokens: impl IntoIterator<Item = &'a str>) {
    for (i, t) in tokens.into_iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        line.push_str(t);
    }
}

/// Whether a line is kept: not blank by Python's `str.strip` ([`Rule::Python`]).
pub fn is_content_line(line: &str) -> bool {
    !Rule::Python.trim(line).is_empty()
}

/// Step 4 of the module doc for documents given as their lines: each line scored as the kenlm
/// module's `model.score(line)`, the document's (perplexity, words). A document without lines
/// has a NaN perplexity.
pub fn score_documents<L: AsRef<str> + Sync>(
    model: &Model,
    docs: &[&[L]],
    cancel: &Cancel,
) -> Result<Vec<(f64, u64)>> {
    let lines: Vec<&str> = docs
        .iter()
        .flat_map(|d| d.iter().map(AsRef::as_ref))
        .collect();
    let mut scores = Vec::with_capacity(lines.len());
    for block in lines.chunks(BLOCK) {
        cancel.check()?;
        let s = model.kenlm_score_batch(block, true, true, cancel)?;
        scores.extend(s.into_iter().map(f64::from));
    }
    let mut pos = 0;
    Ok(docs
        .iter()
        .map(|d| {
            let n = d.len();
            let total = numpy_sum(&scores[pos..pos + n]);
            pos += n;
            let words: u64 = d.iter().map(|l| python_word_count(l.as_ref())).sum();
            (perplexity(total, words + n as u64), words)
        })
        .collect())
}

/// The perplexity of texts taken as documents of lines, as the job scores them (split on `\n`,
/// blank lines dropped, [`score_documents`]); NaN for a text without a non-blank line.
/// `kneser.ray.PerplexityScorer(documents=True)`.
pub fn document_perplexities<S: AsRef<str>>(
    model: &Model,
    texts: &[S],
    cancel: &Cancel,
) -> Result<Vec<f64>> {
    let docs: Vec<Vec<&str>> = texts
        .iter()
        .map(|t| {
            t.as_ref()
                .split('\n')
                .filter(|l| is_content_line(l))
                .collect()
        })
        .collect();
    let refs: Vec<&[&str]> = docs.iter().map(Vec::as_slice).collect();
    Ok(score_documents(model, &refs, cancel)?
        .into_iter()
        .map(|(p, _)| p)
        .collect())
}

/// How duplicates are dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dedup {
    /// Keep every document.
    None,
    /// Exact documents (their `normalize_for_dedup` lines).
    Document,
    /// Lines seen before, then the documents left without lines.
    Line,
}

/// Where the bucket cutoffs come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CutoffRule {
    /// Fixed (head, tail) perplexities.
    Thresholds(f64, f64),
    /// The (head, tail) percentiles of the first `calibration` documents' perplexities.
    Percentiles {
        /// The two percentiles, in [0, 100].
        percentiles: (f64, f64),
        /// Documents scored before the cutoffs are fixed (at least 1).
        calibration: usize,
    },
}

/// What the job writes as shard text, one kept document a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardText {
    /// Nothing.
    None,
    /// Its (normalized, tokenized) lines joined by one space.
    Tokens,
    /// Its JSON line as read (for a tokenizer that encodes the original text).
    Source,
}

/// A job's configuration.
#[derive(Clone)]
pub struct PipelineOptions {
    /// Scores the lines.
    pub model: Arc<Model>,
    /// Normalizes each line (None: lines as they are).
    pub normalizer: Option<Arc<Normalizer>>,
    /// Tokenizes each normalized line (None: lines as they are, or tokens handed in).
    pub tokenizer: Option<Arc<Tokenizer>>,
    /// The caller tokenizes the lines ([`Prepared::set_tokens`]) instead of `tokenizer`.
    pub external_tokens: bool,
    /// Deduplication.
    pub dedup: Dedup,
    /// Bucket cutoffs.
    pub cutoffs: CutoffRule,
    /// The buckets written: head, middle, tail.
    pub keep: [bool; 3],
    /// The shard text written.
    pub shard_text: ShardText,
}

impl PipelineOptions {
    /// Checks the options: cutoffs and percentiles increasing, percentiles in [0, 100], at
    /// most one tokenizer.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::InvalidArgument(m.into()));
        match self.cutoffs {
            CutoffRule::Thresholds(lo, hi) if lo > hi => {
                bad("thresholds must be two increasing perplexities")
            }
            CutoffRule::Percentiles {
                percentiles: (lo, hi),
                ..
            } if !((0.0..=100.0).contains(&lo) && (0.0..=100.0).contains(&hi) && lo <= hi) => {
                bad("percentiles must be two increasing values in [0, 100]")
            }
            _ if self.external_tokens && self.tokenizer.is_some() => {
                bad("give a core tokenizer or external tokens, not both")
            }
            _ => Ok(()),
        }
    }
}

/// What a job did, accumulated over its batches.
#[derive(Debug, Clone)]
pub struct PipelineReport {
    /// Documents in (bad lines excluded).
    pub documents: u64,
    /// Documents written.
    pub kept: u64,
    /// Documents dropped as duplicates.
    pub duplicates: u64,
    /// Lines dropped as duplicates (`Dedup::Line`).
    pub duplicate_lines: u64,
    /// Documents without a non-blank line.
    pub empty: u64,
    /// Documents per bucket (head, middle, tail).
    pub buckets: [u64; 3],
    /// Documents written per bucket.
    pub kept_per_bucket: [u64; 3],
    /// Words scored.
    pub tokens: u64,
    /// Words of the written documents.
    pub kept_tokens: u64,
    /// The (head, tail) cutoffs, once fixed (after the calibration).
    pub cutoffs: Option<(f64, f64)>,
    /// Per bucket, documents per histogram bin ([`histogram_bin`]).
    pub histogram: [Vec<u64>; 3],
    /// Bad lines: (file, line, reason).
    pub malformed: Vec<(String, u64, String)>,
}

impl Default for PipelineReport {
    fn default() -> Self {
        PipelineReport {
            documents: 0,
            kept: 0,
            duplicates: 0,
            duplicate_lines: 0,
            empty: 0,
            buckets: [0; 3],
            kept_per_bucket: [0; 3],
            tokens: 0,
            kept_tokens: 0,
            cutoffs: None,
            histogram: std::array::from_fn(|_| vec![0; HISTOGRAM_BINS]),
            malformed: Vec::new(),
        }
    }
}

/// The written bytes of a batch: kept documents (JSON lines) and shard text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Written {
    /// The kept documents' output lines.
    pub documents: Vec<u8>,
    /// Their shard text ([`ShardText`]).
    pub shard: Vec<u8>,
}

/// A document past normalization and dedup.
#[derive(Debug, Clone)]
struct Doc {
    line: Vec<u8>,
    lines: Vec<String>,
    words: u64,
    perplexity: f64,
}

/// A batch past normalization and dedup, waiting for its tokens ([`Prepared::lines`]).
#[derive(Debug, Default)]
pub struct Prepared {
    docs: Vec<Doc>,
}

impl Prepared {
    /// Its lines to tokenize, document after document.
    pub fn lines(&self) -> impl Iterator<Item = &str> + '_ {
        self.docs
            .iter()
            .flat_map(|d| d.lines.iter().map(String::as_str))
    }

    /// The number of lines.
    pub fn num_lines(&self) -> usize {
        self.docs.iter().map(|d| d.lines.len()).sum()
    }

    /// Replaces every line with its tokens joined by one space (in [`Prepared::lines`]' order).
    pub fn set_tokens<T: AsRef<str>>(&mut self, tokens: &[Vec<T>]) -> Result<()> {
        if tokens.len() != self.num_lines() {
            return Err(Error::InvalidArgument(format!(
                "the tokenizer gave {} token lists for {} lines",
                tokens.len(),
                self.num_lines()
            )));
        }
        let mut it = tokens.iter();
        for d in &mut self.docs {
            for line in &mut d.lines {
                let toks = it.next().map(Vec::as_slice).unwrap_or_default();
                line.clear();
                join_tokens(line, toks.iter().map(AsRef::as_ref));
            }
        }
        Ok(())
    }
}

/// Lines handled per parallel block (cancellation is checked between blocks).
const BLOCK: usize = 8192;

/// One run of the generic pipeline: options and the state kept across batches (the dedup
/// hashes, the calibration documents, the report).
pub struct PipelineJob {
    opts: PipelineOptions,
    dedup_normalizer: Normalizer,
    seen: FxHashSet<u64>,
    pending: Vec<Doc>,
    edges: Vec<f64>,
    /// What the run did so far.
    pub report: PipelineReport,
}

impl PipelineJob {
    /// A job (the options checked by [`PipelineOptions::validate`]).
    pub fn new(opts: PipelineOptions) -> Result<Self> {
        opts.validate()?;
        let mut report = PipelineReport::default();
        if let CutoffRule::Thresholds(lo, hi) = opts.cutoffs {
            report.cutoffs = Some((lo, hi));
        }
        Ok(PipelineJob {
            opts,
            dedup_normalizer: Normalizer::ccnet_dedup(),
            seen: FxHashSet::default(),
            pending: Vec::new(),
            edges: histogram_edges(),
            report,
        })
    }

    /// Whether the lines' tokens are handed in ([`PipelineOptions::external_tokens`]).
    pub fn external_tokens(&self) -> bool {
        self.opts.external_tokens
    }

    /// Steps 1 and 2 of the module doc for a batch of documents.
    pub fn prepare(&mut self, docs: Vec<Document>, cancel: &Cancel) -> Result<Prepared> {
        self.report.documents += docs.len() as u64;
        let (texts, json): (Vec<String>, Vec<Vec<u8>>) =
            docs.into_iter().map(|d| (d.text, d.line)).unzip();
        let raw: Vec<Vec<&str>> = texts.iter().map(|t| document_lines(t).collect()).collect();
        let flat: Vec<&str> = raw.iter().flatten().copied().collect();
        let norm = match &self.opts.normalizer {
            Some(n) => Some(in_blocks(&flat, cancel, |b| n.normalize_batch(b))?),
            None => None,
        };
        let keys = match self.opts.dedup {
            Dedup::None => None,
            _ => Some(in_blocks(&flat, cancel, |b| {
                self.dedup_normalizer.normalize_batch(b)
            })?),
        };
        let norm_at = |j: usize| norm.as_ref().map_or(flat[j], |n| n[j].as_str());
        let blank = |s: &str| !is_content_line(s);
        let mut out = Prepared::default();
        let mut pos = 0;
        for (line, lines_raw) in json.into_iter().zip(&raw) {
            let span = pos..pos + lines_raw.len();
            pos = span.end;
            let mut lines: Vec<String> = span
                .clone()
                .map(norm_at)
                .filter(|s| !blank(s))
                .map(str::to_string)
                .collect();
            if let Some(keys) = &keys {
                if self.opts.dedup == Dedup::Document {
                    let joined = keys[span].join("\n");
                    if !self.seen.insert(dedup_hash(&joined)) {
                        self.report.duplicates += 1;
                        continue;
                    }
                } else {
                    let mut kept = Vec::with_capacity(lines.len());
                    for j in span {
                        if blank(norm_at(j)) {
                            continue;
                        }
                        if !self.seen.insert(dedup_hash(&keys[j])) {
                            self.report.duplicate_lines += 1;
                            continue;
                        }
                        kept.push(norm_at(j).to_string());
                    }
                    if !lines.is_empty() && kept.is_empty() {
                        self.report.duplicates += 1;
                        continue;
                    }
                    lines = kept;
                }
            }
            if lines.is_empty() {
                self.report.empty += 1;
                continue;
            }
            out.docs.push(Doc {
                line,
                lines,
                words: 0,
                perplexity: f64::NAN,
            });
        }
        Ok(out)
    }

    /// Step 3 with the job's tokenizer (nothing without one).
    pub fn tokenize(&self, prepared: &mut Prepared, cancel: &Cancel) -> Result<()> {
        let Some(tok) = &self.opts.tokenizer else {
            return Ok(());
        };
        let lines: Vec<&str> = prepared.lines().collect();
        let flats = in_blocks(&lines, cancel, |b| tok.flat_tokens_batch(b))?;
        let tokens: Vec<Vec<&str>> = flats.iter().map(|f| f.iter().collect()).collect();
        prepared.set_tokens(&tokens)
    }

    /// Steps 4 to 7 of the module doc: scores the batch, then buckets and writes it (or keeps
    /// it for the calibration) into `out`.
    pub fn emit(&mut self, prepared: Prepared, out: &mut Written, cancel: &Cancel) -> Result<()> {
        let mut docs = prepared.docs;
        let lines: Vec<&[String]> = docs.iter().map(|d| d.lines.as_slice()).collect();
        let scored = score_documents(&self.opts.model, &lines, cancel)?;
        for (d, (ppl, words)) in docs.iter_mut().zip(scored) {
            d.perplexity = ppl;
            d.words = words;
            self.report.tokens += words;
        }
        match (self.report.cutoffs, self.opts.cutoffs) {
            (Some(cutoffs), _) => self.write(&docs, cutoffs, out),
            (None, CutoffRule::Percentiles { calibration, .. }) => {
                self.pending.extend(docs);
                if self.pending.len() >= calibration {
                    self.calibrate(out);
                }
            }
            (None, CutoffRule::Thresholds(lo, hi)) => self.write(&docs, (lo, hi), out),
        }
        Ok(())
    }

    /// Prepares, tokenizes (with the job's tokenizer) and emits a batch: one call.
    pub fn process(
        &mut self,
        docs: Vec<Document>,
        out: &mut Written,
        cancel: &Cancel,
    ) -> Result<()> {
        let mut prepared = self.prepare(docs, cancel)?;
        self.tokenize(&mut prepared, cancel)?;
        self.emit(prepared, out, cancel)
    }

    /// The end of the input: the cutoffs from the documents kept for the calibration, if not
    /// fixed yet (infinite for no documents), and those documents written.
    pub fn finish(&mut self, out: &mut Written) {
        if self.report.cutoffs.is_none() {
            self.calibrate(out);
        }
    }

    fn calibrate(&mut self, out: &mut Written) {
        let CutoffRule::Percentiles { percentiles, .. } = self.opts.cutoffs else {
            return;
        };
        let ppl: Vec<f64> = self.pending.iter().map(|d| d.perplexity).collect();
        let cutoffs = match percentile(&ppl, &[percentiles.0, percentiles.1]) {
            Some(c) => (c[0], c[1]),
            None => (f64::INFINITY, f64::INFINITY),
        };
        self.report.cutoffs = Some(cutoffs);
        let pending = std::mem::take(&mut self.pending);
        self.write(&pending, cutoffs, out);
    }

    fn write(&mut self, docs: &[Doc], cutoffs: (f64, f64), out: &mut Written) {
        let r = &mut self.report;
        let mut kept: Vec<(&[u8], f64, Bucket)> = Vec::new();
        for d in docs {
            let b = bucket_of(d.perplexity, cutoffs);
            let i = b.index();
            r.buckets[i] += 1;
            r.histogram[i][histogram_bin(d.perplexity, &self.edges)] += 1;
            if !self.opts.keep[i] {
                continue;
            }
            r.kept += 1;
            r.kept_per_bucket[i] += 1;
            r.kept_tokens += d.words;
            let printed = python_round(d.perplexity, PRINTED_DECIMALS);
            kept.push((&d.line, printed, b));
            match self.opts.shard_text {
                ShardText::None => {}
                ShardText::Tokens => {
                    for (k, line) in d.lines.iter().enumerate() {
                        if k > 0 {
                            out.shard.push(b' ');
                        }
                        out.shard.extend_from_slice(line.as_bytes());
                    }
                    out.shard.push(b'\n');
                }
                ShardText::Source => {
                    out.shard.extend_from_slice(&d.line);
                    out.shard.push(b'\n');
                }
            }
        }
        write_documents(&kept, &mut out.documents);
    }
}

/// `f` over `items` in blocks of [`BLOCK`], cancellation checked before each.
fn in_blocks<T, R>(items: &[T], cancel: &Cancel, f: impl Fn(&[T]) -> Vec<R>) -> Result<Vec<R>> {
    let mut out = Vec::with_capacity(items.len());
    for block in items.chunks(BLOCK) {
        cancel.check()?;
        out.extend(f(block));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokenize::Mode;

    #[test]
    fn percentiles_as_numpy() {
        // np.percentile([3, 1, 2, 10], [0, 30, 50, 60, 100]) = [1, 1.9, 2.5, 2.8, 10]
        let got = percentile(&[3.0, 1.0, 2.0, 10.0], &[0.0, 30.0, 50.0, 60.0, 100.0]).unwrap();
        assert_eq!(got, [1.0, 1.9, 2.5, 2.8, 10.0]);
        assert_eq!(percentile(&[7.5], &[0.0, 30.0, 100.0]).unwrap(), [7.5; 3]);
        assert_eq!(percentile(&[2.0, 2.0, 2.0], &[45.0]).unwrap(), [2.0]);
        assert!(percentile(&[], &[30.0]).is_none());
        assert!(percentile(&[1.0, f64::NAN], &[30.0]).unwrap()[0].is_nan());
    }

    #[test]
    fn pairwise_sum_as_numpy() {
        let small = [0.1, 0.2, 0.3];
        assert_eq!(numpy_sum(&small), 0.1 + 0.2 + 0.3);
        // Nine values: eight accumulators, then the ninth added to their tree.
        let v: Vec<f64> = (1..=9).map(|i| 1.0 / i as f64).collect();
        let r: Vec<f64> = v[..8].to_vec();
        let tree = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7])) + v[8];
        assert_eq!(numpy_sum(&v), tree);
        let big: Vec<f64> = (0..1000).map(|i| (i as f64).sin()).collect();
        let (a, b) = big.split_at(496);
        assert_eq!(numpy_sum(&big), pairwise(a) + pairwise(b));
    }

    #[test]
    fn documents_normalized_line_by_line() {
        let n = Normalizer::ccnet(crate::text::normalize::CcnetOptions::default());
        let got = normalize_documents(&n, &["A b\n\nC 12", ""], &Cancel::new()).unwrap();
        let want = format!("{}\n\n{}", n.normalize("A b"), n.normalize("C 12"));
        assert_eq!(got, [want, n.normalize("")]);
    }

    #[test]
    fn histogram_bins() {
        let e = histogram_edges();
        assert_eq!((e.len(), e[1], e[120]), (121, 0.05, 6.0));
        assert_eq!(histogram_bin(1.0, &e), 0);
        assert_eq!(histogram_bin(0.0, &e), 0);
        assert_eq!(histogram_bin(100.0, &e), 40);
        assert_eq!(histogram_bin(1e9, &e), 119);
        assert_eq!(histogram_bin(f64::NAN, &e), 0);
        assert_eq!(histogram_bin(f64::INFINITY, &e), 119);
    }

    fn model() -> Arc<Model> {
        let arpa = "\\data\\\nngram 1=5\nngram 2=3\n\n\\1-grams:\n-1.5\t<unk>\t0\n0\t<s>\t-0.5\n\
                    -0.75\t</s>\t0\n-0.5\ta\t-0.25\n-1\tb\t-0.125\n\n\\2-grams:\n-0.25\t<s> a\n\
                    -0.125\ta b\n-0.0625\tb </s>\n\n\\end\\\n";
        Arc::new(Model::from_arpa_reader(arpa.as_bytes(), "t.arpa", &Cancel::new()).unwrap())
    }

    fn doc(text: &str) -> Document {
        let mut line = Vec::new();
        line.extend_from_slice(b"{\"text\": ");
        crate::ccnet::jsonl::python_json_string(text, &mut line);
        line.push(b'}');
        Document {
            number: 1,
            text: text.into(),
            line,
        }
    }

    fn opts(cutoffs: CutoffRule, dedup: Dedup, shard_text: ShardText) -> PipelineOptions {
        PipelineOptions {
            model: model(),
            normalizer: None,
            tokenizer: None,
            external_tokens: false,
            dedup,
            cutoffs,
            keep: [true, true, false],
            shard_text,
        }
    }

    #[test]
    fn a_batch_through_the_stages() {
        let c = Cancel::new();
        let mut o = opts(
            CutoffRule::Thresholds(6.0, 10.0),
            Dedup::Line,
            ShardText::Tokens,
        );
        o.keep = [true; 3];
        let mut job = PipelineJob::new(o).unwrap();
        let mut out = Written::default();
        let docs = ["a a\n\n b", "a a", "b b b b", "  ", "a\nb a"];
        job.process(docs.iter().map(|t| doc(t)).collect(), &mut out, &c)
            .unwrap();
        job.finish(&mut out);
        let r = &job.report;
        assert_eq!(
            (r.documents, r.duplicates, r.duplicate_lines, r.empty),
            (5, 1, 1, 1)
        );
        // The first document: its two lines' scores summed, 3 words + 2 lines.
        let m = model();
        let s1 = f64::from(m.kenlm_score(b"a a", true, true))
            + f64::from(m.kenlm_score(b" b", true, true));
        let p1 = perplexity(0.0 + s1, 3 + 2);
        let text = String::from_utf8(out.documents).unwrap();
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with("{\"text\": \"a a\\n\\n b\", \"perplexity\": "),
            "{first}"
        );
        assert!(first.contains(&crate::ccnet::jsonl::python_float(python_round(p1, 2))));
        assert_eq!(r.tokens, 3 + 4 + 3);
        assert_eq!(r.buckets.iter().sum::<u64>(), 3);
        assert_eq!(r.histogram.iter().flatten().sum::<u64>(), 3);
        let shard = String::from_utf8(out.shard).unwrap();
        assert!(shard.starts_with("a a  b\n"), "{shard:?}");
    }

    #[test]
    fn calibration_holds_documents_then_writes_them_in_order() {
        let c = Cancel::new();
        let rule = CutoffRule::Percentiles {
            percentiles: (30.0, 60.0),
            calibration: 3,
        };
        let mut job = PipelineJob::new(opts(rule, Dedup::None, ShardText::Source)).unwrap();
        let mut out = Written::default();
        job.process(vec![doc("a"), doc("b b")], &mut out, &c)
            .unwrap();
        assert!(out.documents.is_empty() && job.report.cutoffs.is_none());
        job.process(vec![doc("a b"), doc("b")], &mut out, &c)
            .unwrap();
        let (lo, hi) = job.report.cutoffs.unwrap();
        let m = model();
        // The first batch waited; the second made four documents: all of them calibrate.
        let ppl: Vec<f64> = ["a", "b b", "a b", "b"]
            .iter()
            .map(|t| {
                let s = f64::from(m.kenlm_score(t.as_bytes(), true, true));
                perplexity(s, python_word_count(t) + 1)
            })
            .collect();
        assert_eq!(percentile(&ppl, &[30.0, 60.0]).unwrap(), [lo, hi]);
        job.finish(&mut out);
        let kept = job.report.kept as usize;
        assert_eq!(String::from_utf8(out.shard).unwrap().lines().count(), kept);
        assert_eq!(job.report.buckets.iter().sum::<u64>(), 4);
    }

    #[test]
    fn tokens_from_the_core_tokenizer_or_handed_in_agree() {
        let c = Cancel::new();
        let mut o = opts(
            CutoffRule::Thresholds(1.0, 2.0),
            Dedup::None,
            ShardText::Tokens,
        );
        o.keep = [true; 3];
        o.tokenizer = Some(Arc::new(Tokenizer::new(Mode::Punctuation)));
        let mut job = PipelineJob::new(o.clone()).unwrap();
        let mut core = Written::default();
        job.process(vec![doc("a,b\nb.")], &mut core, &c).unwrap();
        o.tokenizer = None;
        o.external_tokens = true;
        let mut job = PipelineJob::new(o).unwrap();
        let mut prepared = job.prepare(vec![doc("a,b\nb.")], &c).unwrap();
        assert_eq!(prepared.lines().collect::<Vec<_>>(), ["a,b", "b."]);
        assert!(prepared.set_tokens(&[vec!["x"]]).is_err());
        prepared
            .set_tokens(&[vec!["a", ",", "b"], vec!["b", "."]])
            .unwrap();
        let mut ext = Written::default();
        job.emit(prepared, &mut ext, &c).unwrap();
        assert_eq!(core, ext);
        assert!(String::from_utf8(ext.shard)
            .unwrap()
            .starts_with("a , b b .\n"));
    }

    #[test]
    fn prepared_lines_are_normalized_tokenized_and_joined() {
        let norm = Normalizer::ccnet_dedup();
        let tok = Tokenizer::new(Mode::Punctuation);
        let texts = ["Hi, YOU!", "", "  a\tb  "];
        let cancel = Cancel::new();
        let got = prepare_lines(Some(&norm), Some(&tok), &texts, &cancel).unwrap();
        let want: Vec<String> = norm
            .normalize_batch(&texts)
            .iter()
            .map(|t| tok.tokenize(t).join(" "))
            .collect();
        assert_eq!(got, want);
        let only_tok = prepare_lines(None, Some(&tok), &texts, &cancel).unwrap();
        assert_eq!(only_tok, ["Hi , YOU !", "", "a b"]);
        let neither = prepare_lines(None, None, &texts, &cancel).unwrap();
        assert_eq!(neither, texts);
    }

    #[test]
    fn bad_options_are_refused() {
        let o = opts(
            CutoffRule::Thresholds(2.0, 1.0),
            Dedup::None,
            ShardText::None,
        );
        assert!(PipelineJob::new(o).is_err());
        let rule = CutoffRule::Percentiles {
            percentiles: (30.0, 101.0),
            calibration: 1,
        };
        assert!(PipelineJob::new(opts(rule, Dedup::None, ShardText::None)).is_err());
    }
}
