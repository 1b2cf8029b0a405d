//! `kneser explain`: the tables of every estimation stage on a small corpus, as the estimator
//! really computed them.
//!
//! Input: a small text (at most [`MAX_TOKENS`] tokens) and an [`EstimateConfig`]. The real
//! pipeline ([`super::pipeline`]) runs with a recorder that copies each stage's output as it
//! passes: the counted order-N windows (stage 1), the adjusted counts and count-of-counts
//! (stage 2), the discounts (stage 3), the uninterpolated probabilities and context gammas
//! (stage 4), the interpolated probabilities (stage 5) and the ARPA text. Nothing is
//! recomputed here. Output: [`Explained`]. Memory: the tables, bounded by the token limit.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::config::EstimateConfig;
use super::count::Vocabulary;
use super::pipeline::{Source, Summary};
use super::sink::Output;
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::io::{display_name, open_input};
use crate::sort::{get_u64, Run};
use crate::text::whitespace::Rule;

/// The largest corpus explained, in tokens (the tables grow with it).
pub const MAX_TOKENS: usize = 2000;

/// An n-gram's words, and one value.
pub type Row<T> = (Vec<String>, T);

/// Every stage's output on a small corpus; orders are indexed from 0 (order 1 at index 0).
#[derive(Debug, Clone, Default)]
pub struct Explained {
    /// The order.
    pub order: usize,
    /// The sentences as counted, with `<s>` and (where lmplz adds it) `</s>`.
    pub sentences: Vec<Vec<String>>,
    /// Stage 1: the order-N windows (left-padded with `<s>`) and their raw counts.
    pub raw: Vec<Row<u64>>,
    /// Stage 2: per order, each n-gram's adjusted count (prune marks removed) and whether it
    /// was pruned.
    pub adjusted: Vec<Vec<(Vec<String>, u64, bool)>>,
    /// Stage 2: per order, n1, n2, n3, n4 of the adjusted counts.
    pub count_of_counts: Vec<[u64; 4]>,
    /// Stage 3: per order, `Y = n1 / (n1 + 2 n2)` as the estimate computes it (NaN when n1 and
    /// n2 are 0).
    pub y: Vec<f32>,
    /// Stage 3: per order, D1, D2, D3+.
    pub discounts: Vec<[f32; 3]>,
    /// Orders (1-based) whose discounts are the fallback.
    pub fallback_orders: Vec<usize>,
    /// Stage 4: per order, each kept n-gram's uninterpolated p and its context's gamma.
    pub uninterpolated: Vec<Vec<(Vec<String>, f32, f32)>>,
    /// Stage 4: per order, each context (the empty one for unigrams) and its gamma.
    pub gammas: Vec<Vec<Row<f32>>>,
    /// Stage 5: per order, each n-gram's interpolated probability (`<s>`'s unigram is given
    /// p = 1 in the ARPA, log 0).
    pub interpolated: Vec<Vec<Row<f32>>>,
    /// The ARPA file, as `kneser.estimate` writes it.
    pub arpa: String,
    /// What the estimation reported.
    pub summary: Option<Summary>,
}

/// The recorder the pipeline fills (see the module doc).
#[derive(Default)]
pub struct Trace {
    pub(crate) tables: Mutex<Explained>,
}

fn words(vocab: &Vocabulary, ids: &[u32]) -> Vec<String> {
    ids.iter()
        .map(|&w| String::from_utf8_lossy(vocab.word(w)).into_owned())
        .collect()
}

impl Trace {
    fn with(&self, f: impl FnOnce(&mut Explained)) {
        if let Ok(mut t) = self.tables.lock() {
            f(&mut t);
        }
    }

    /// Reads every `[w0 .. w(k-1) | payload]` record of `run`.
    fn read(run: &Run, k: usize, payload: usize) -> Result<Vec<Vec<u32>>> {
        let mut r = run.reader()?;
        let mut rec = vec![0u32; k + payload];
        let mut out = Vec::new();
        while r.read(&mut rec)? {
            out.push(rec.clone());
        }
        Ok(out)
    }

    pub(crate) fn raw(&self, run: &Run, k: usize, vocab: &Vocabulary) -> Result<()> {
        let rows = Self::read(run, k, 2)?;
        self.with(|t| {
            t.raw = rows
                .iter()
                .map(|r| (words(vocab, &r[..k]), get_u64(&r[k..])))
                .collect()
        });
        Ok(())
    }

    pub(crate) fn adjusted(
        &self,
        runs: &[Run],
        stats: &[[u64; 5]],
        vocab: &Vocabulary,
    ) -> Result<()> {
        let mut all = Vec::new();
        for (i, run) in runs.iter().enumerate() {
            let k = i + 1;
            let rows = Self::read(run, k, 2)?;
            all.push(
                rows.iter()
                    .map(|r| {
                        let c = get_u64(&r[k..]);
                        (
                            words(vocab, &r[..k]),
                            c & !super::adjust::PRUNED,
                            c & super::adjust::PRUNED != 0,
                        )
                    })
                    .collect(),
            );
        }
        self.with(|t| {
            t.adjusted = all;
            t.y = stats.iter().map(super::discount::y_of).collect();
            t.count_of_counts = stats.iter().map(|n| [n[1], n[2], n[3], n[4]]).collect();
        });
        Ok(())
    }

    pub(crate) fn discounts(&self, d: &[super::Discount], fallback: &[usize]) {
        self.with(|t| {
            t.discounts = d.iter().map(super::Discount::d123).collect();
            t.fallback_orders = fallback.to_vec();
        });
    }

    pub(crate) fn unigrams(
        &self,
        p: &[f32],
        gamma: f32,
        interp: &[f32],
        present: &[bool],
        vocab: &Vocabulary,
    ) {
        let rows = |v: &[f32]| -> Vec<Row<f32>> {
            (0..v.len())
                .filter(|&i| present[i])
                .map(|i| (words(vocab, &[i as u32]), v[i]))
                .collect()
        };
        let un = rows(p).into_iter().map(|(w, p)| (w, p, gamma)).collect();
        let int = rows(interp);
        self.with(|t| {
            t.uninterpolated = vec![un];
            t.gammas = vec![vec![(Vec::new(), gamma)]];
            t.interpolated = vec![int];
        });
    }

    /// Stage 4 of order `k`: the probabilities (a run of `[w | p | gamma]`) and the contexts.
    pub(crate) fn initial(
        &self,
        probs: &Run,
        backoffs: Option<&Run>,
        k: usize,
        vocab: &Vocabulary,
    ) -> Result<()> {
        let rows = Self::read(probs, k, 2)?;
        let ctx = match backoffs {
            Some(b) => Self::read(b, k - 1, 1)?,
            None => Vec::new(),
        };
        let f = |b: u32| f32::from_bits(b);
        self.with(|t| {
            t.uninterpolated.push(
                rows.iter()
                    .map(|r| (words(vocab, &r[..k]), f(r[k]), f(r[k + 1])))
                    .collect(),
            );
            t.gammas.push(
                ctx.iter()
                    .map(|r| (words(vocab, &r[..k - 1]), f(r[k - 1])))
                    .collect(),
            );
        });
        Ok(())
    }

    /// Stage 5 of order `k`: the run of `[w | p_interp (| q_delta)]`.
    pub(crate) fn interpolated(
        &self,
        run: &Run,
        k: usize,
        payload: usize,
        vocab: &Vocabulary,
    ) -> Result<()> {
        let rows = Self::read(run, k, payload)?;
        self.with(|t| {
            t.interpolated.push(
                rows.iter()
                    .map(|r| (words(vocab, &r[..k]), f32::from_bits(r[k])))
                    .collect(),
            )
        });
        Ok(())
    }
}

/// A writer into a shared buffer (the ARPA of an explained run).
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut v) => {
                v.extend_from_slice(buf);
                Ok(buf.len())
            }
            Err(_) => Err(std::io::Error::other("explain buffer poisoned")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The sentences of `text` as stage 1 reads them (the final-line rule included), refusing more
/// than [`MAX_TOKENS`] tokens.
fn sentences(text: &str, name: &str, config: &EstimateConfig) -> Result<Vec<Vec<String>>> {
    let mut out = Vec::new();
    let mut tokens = 0usize;
    let mut lines: Vec<&str> = text.split('\n').collect();
    let unterminated = lines.pop().filter(|l| !l.is_empty());
    for (line, terminated) in lines
        .iter()
        .map(|l| (*l, true))
        .chain(unterminated.map(|l| (l, !config.lmplz_final_line)))
    {
        let mut s = vec!["<s>".to_string()];
        for w in Rule::Lmplz.split(line) {
            tokens += 1;
            s.push(w.to_string());
        }
        if terminated {
            s.push("</s>".to_string());
        }
        out.push(s);
        if tokens > MAX_TOKENS {
            return Err(Error::InvalidArgument(format!(
                "{name}: explain prints every table, so it takes at most {MAX_TOKENS} tokens; \
                 this corpus has more (use `kneser estimate` for real corpora)"
            )));
        }
    }
    Ok(out)
}

/// Explains the estimation of `text` (its lines, as a file holding exactly that text).
pub fn explain_text(text: &str, config: &EstimateConfig, cancel: &Cancel) -> Result<Explained> {
    let sents = sentences(text, "<text>", config)?;
    // One batch of lines: every line terminated, as the batch source does.
    let lines: Vec<String> = text.split_terminator('\n').map(str::to_string).collect();
    let sents = if text.ends_with('\n') || text.is_empty() {
        sents
    } else {
        let mut fixed = sents;
        if let Some(last) = fixed.last_mut() {
            if last.last().map(String::as_str) != Some("</s>") {
                last.push("</s>".to_string());
            }
        }
        fixed
    };
    let source = Source::Batches(Box::new(std::iter::once(Ok(lines))));
    run(source, sents, config, cancel)
}

/// Explains the estimation of the file at `path` (plain or compressed).
pub fn explain_file(path: &Path, config: &EstimateConfig, cancel: &Cancel) -> Result<Explained> {
    let name = display_name(path);
    let mut bytes = Vec::new();
    let limit = (MAX_TOKENS as u64 + 1) * 1024;
    open_input(path)?
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read", path, e))?;
    if bytes.len() as u64 >= limit {
        return Err(Error::InvalidArgument(format!(
            "{name}: explain prints every table, so it takes at most {MAX_TOKENS} tokens; this file is far larger"
        )));
    }
    let text = String::from_utf8_lossy(&bytes);
    let sents = sentences(&text, &name, config)?;
    run(
        Source::Paths(vec![path.to_path_buf()]),
        sents,
        config,
        cancel,
    )
}

fn run(
    source: Source,
    sentences: Vec<Vec<String>>,
    config: &EstimateConfig,
    cancel: &Cancel,
) -> Result<Explained> {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let trace = Trace::default();
    let output = Output::Writer(Box::new(Shared(Arc::clone(&buffer))));
    let summary = super::pipeline::estimate_traced(source, config, output, cancel, &trace)?;
    let mut t = trace
        .tables
        .into_inner()
        .map_err(|_| Error::Internal("explain tables poisoned".into()))?;
    let arpa = buffer
        .lock()
        .map_err(|_| Error::Internal("explain buffer poisoned".into()))?
        .clone();
    t.order = config.order;
    t.sentences = sentences;
    t.arpa = String::from_utf8_lossy(&arpa).into_owned();
    t.summary = Some(summary);
    Ok(t)
}
