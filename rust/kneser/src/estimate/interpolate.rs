//! Stage 5: interpolation with the lower order and the ARPA lines (lmplz's `interpolate` and
//! `output`).
//!
//! Input, per order k >= 2: the kept n-grams `[w | p | gamma(context)]` in suffix order, the
//! interpolated probabilities of order k-1 in suffix order (a vector by id for unigrams), and the
//! backoffs of order k (the gammas of the order-(k+1) contexts) in suffix order. In suffix
//! order the suffixes `w1 .. w(k-1)` of consecutive n-grams never decrease, so both are merge
//! joins. `p_interp(w | c) = p(w | c) + gamma(c) p_interp(w | c')` with c' the context without
//! its first word (Chen and Goodman 1998, eq. 19), in f32.
//!
//! Output: the ARPA section of order k (`log10 p`, the words, `log10 backoff` below the top
//! order, 0 for an n-gram that is no context), and for k < N the interpolated
//! `[w | p_interp]` records the next order joins with. Memory: two blocks of lines, one being
//! formatted (in parallel) while the merge joins fill the next. A sink that takes records
//! ([`ArpaSink::grams`]) gets the lines' values and words unformatted instead, a block at a time.

use std::cmp::Ordering;
use std::io::Write;

use rayon::prelude::*;

use super::count::Vocabulary;
use super::sink::ArpaSink;
use super::{EOS, UNK};
use crate::arpa::writer::format_f32;
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::sort::{compare_suffix, RecordReader, RecordWriter, Run, SortedStream};

/// N-grams formatted per parallel block.
const BLOCK: usize = 1 << 15;

/// The interpolated probabilities of the order below (with, when collapsing, each n-gram's
/// `q_delta`).
pub enum Lower {
    /// Unigrams, indexed by id; `q` is empty unless collapsing.
    Unigrams {
        /// Interpolated probabilities.
        p: Vec<f32>,
        /// The unigrams' `q_delta` (their backoff, linear; 1 for a non-context).
        q: Vec<f32>,
    },
    /// A file of `[w | p_interp]` (`[w | p_interp | q_delta]` when collapsing) in suffix order.
    File {
        /// Keeps the file alive.
        run: Run,
        /// Its reader.
        reader: RecordReader,
        /// The current record.
        cur: Vec<u32>,
        /// Whether `cur` holds a record.
        valid: bool,
    },
}

impl Lower {
    /// Opens a file of interpolated probabilities of order `k` (with `q_delta` if `collapse`).
    pub fn from_run(run: Run, k: usize, collapse: bool) -> Result<Self> {
        let mut reader = run.reader()?;
        let mut cur = vec![0u32; k + 1 + usize::from(collapse)];
        let valid = reader.read(&mut cur)?;
        Ok(Lower::File {
            run,
            reader,
            cur,
            valid,
        })
    }

    /// The interpolated probability of `suffix` and its `q_delta` (1 when not collapsing),
    /// which must not precede the previous call's.
    fn lookup(&mut self, suffix: &[u32]) -> Result<(f32, f32)> {
        match self {
            Lower::Unigrams { p, q } => {
                let i = suffix[0] as usize;
                Ok((p[i], q.get(i).copied().unwrap_or(1.0)))
            }
            Lower::File {
                reader, cur, valid, ..
            } => {
                let k = suffix.len();
                while *valid && compare_suffix(&cur[..k], suffix) == Ordering::Less {
                    *valid = reader.read(cur)?;
                }
                if *valid && cur[..k] == *suffix {
                    let q = cur.get(k + 1).map_or(1.0, |&b| f32::from_bits(b));
                    Ok((f32::from_bits(cur[k]), q))
                } else {
                    Err(Error::Internal(format!(
                        "the suffix {suffix:?} of an n-gram is missing from the order below"
                    )))
                }
            }
        }
    }
}

/// How the n-grams of an order are matched with the gammas of their contexts, the backoff file
/// of the order above ([`Backoffs`]). lmplz (`lm/builder/interpolate.cc`) reads that file in
/// step with the n-grams of the order, in suffix order, each n-gram not ending in `<unk>` or
/// `</s>` taking one gamma, and so assumes that every such n-gram is a context. It is, except
/// for the n-grams ending the text after the last newline when that text gets no `</s>`
/// (lmplz's final-line quirk, [`super::config::EstimateConfig::lmplz_final_line`]): nothing
/// follows them. How lmplz goes on past such an n-gram is what the modes reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackoffJoin {
    /// lmplz without pruning at the order above and without `--limit_vocab_file`: the next
    /// gamma, whoever's it is. After an n-gram that is no context, every n-gram gets the gamma
    /// of the one after it, and the last gets none (backoff 1).
    Positional,
    /// lmplz with pruning at the order above or `--limit_vocab_file`: the file is read on until
    /// the n-gram's own gamma (lmplz compares hashes of the words); an n-gram that is no
    /// context reads it to its end, so no n-gram after it gets a backoff.
    Scan,
    /// A merge join by key, each n-gram its own gamma: the partitioned estimator, whose pieces
    /// each hold part of the file. Where the modes would differ it stops with an error instead
    /// of writing a model lmplz would not: when an n-gram that is no context is followed by a
    /// context, in this piece or in a later one (`later`: whether a later piece holds any
    /// n-gram; each of its n-grams ends a context of its order but the final line's). With
    /// nothing but non-contexts after it, the three modes agree. On a text that ends with a
    /// newline, or without the final-line quirk, every such n-gram is a context.
    ByKey {
        /// Whether a later piece holds n-grams.
        later: bool,
    },
}

impl BackoffJoin {
    /// lmplz's mode for the backoffs of order `k` under `config`.
    pub fn lmplz(config: &super::config::EstimateConfig, k: usize) -> Self {
        if config.limit_vocab.is_some() || config.prune.threshold(k + 1) > 0 {
            BackoffJoin::Scan
        } else {
            BackoffJoin::Positional
        }
    }
}

/// A cursor over a backoff file `[w | gamma]` in suffix order, joined with the n-grams of its
/// order as [`BackoffJoin`] says.
pub struct Backoffs {
    _run: Run,
    reader: RecordReader,
    cur: Vec<u32>,
    valid: bool,
    join: BackoffJoin,
    /// The ids of `<unk>` and `</s>` (renumbering moves them): lmplz reads no gamma for an
    /// n-gram ending in either.
    no_context: [u32; 2],
    /// [`BackoffJoin::ByKey`]: whether an n-gram that is no context was met.
    missed: bool,
}

impl Backoffs {
    /// Opens the backoffs of order `k`, whose words are ids of `vocab`: records `[c | gamma]`
    /// of `k + 1` words, or (for [`BackoffJoin::Positional`], which reads no words) `[gamma]`.
    pub fn from_run(run: Run, k: usize, join: BackoffJoin, vocab: &Vocabulary) -> Result<Self> {
        let id = |word: &[u8], default| vocab.get(word).unwrap_or(default);
        let mut reader = run.reader()?;
        let width = reader.width();
        if width != k + 1 && !(width == 1 && join == BackoffJoin::Positional) {
            return Err(Error::Internal(format!(
                "backoffs of order {k} in records of {width} words for {join:?}"
            )));
        }
        let mut cur = vec![0u32; width];
        let valid = reader.read(&mut cur)?;
        Ok(Backoffs {
            _run: run,
            reader,
            cur,
            valid,
            join,
            no_context: [id(b"<unk>", UNK), id(b"</s>", EOS)],
            missed: false,
        })
    }

    /// The gamma `gram` gets as its backoff, if any (the n-grams of the order must come in
    /// suffix order).
    pub fn lookup(&mut self, gram: &[u32]) -> Result<Option<f32>> {
        let k = gram.len();
        if gram.last().is_some_and(|w| self.no_context.contains(w)) {
            // Never a context, and lmplz reads no gamma for it.
            return Ok(None);
        }
        match self.join {
            BackoffJoin::Positional => {
                if !self.valid {
                    return Ok(None);
                }
                let gamma = f32::from_bits(self.cur[self.cur.len() - 1]);
                self.valid = self.reader.read(&mut self.cur)?;
                Ok(Some(gamma))
            }
            BackoffJoin::Scan => {
                while self.valid && self.cur[..k] != *gram {
                    self.valid = self.reader.read(&mut self.cur)?;
                }
                if !self.valid {
                    return Ok(None);
                }
                let gamma = f32::from_bits(self.cur[k]);
                self.valid = self.reader.read(&mut self.cur)?;
                Ok(Some(gamma))
            }
            BackoffJoin::ByKey { later } => {
                while self.valid && compare_suffix(&self.cur[..k], gram) == Ordering::Less {
                    self.valid = self.reader.read(&mut self.cur)?;
                }
                if self.valid && self.cur[..k] == *gram {
                    if self.missed {
                        return Err(no_context_met(k));
                    }
                    return Ok(Some(f32::from_bits(self.cur[k])));
                }
                if later {
                    return Err(no_context_met(k));
                }
                self.missed = true;
                Ok(None)
            }
        }
    }
}

/// The partitioned estimator's refusal of a text whose last line lmplz gives no `</s>`, where
/// that changes the backoffs of the n-grams of order `k` after it ([`BackoffJoin::ByKey`]).
fn no_context_met(k: usize) -> Error {
    Error::InvalidArgument(format!(
        "the text after the last newline ends in a {k}-gram that is no context (lmplz gives \
         that line no </s>), and lmplz then reads the backoffs of the {k}-grams after it one \
         place off, which partitions cannot reproduce: end the corpus with a newline (its last \
         line then gets its </s>), or estimate it in one process"
    ))
}

/// log10 of a probability, clamped at 0 as lmplz does.
#[inline]
pub fn log10_prob(p: f32) -> f32 {
    let l = p.log10();
    if l > 0.0 {
        0.0
    } else {
        l
    }
}

/// One ARPA line waiting to be formatted: the record's words, log10 p, log10 backoff.
struct Line {
    start: usize,
    prob: f32,
    backoff: Option<f32>,
}

/// Lines formatted by one task.
const PART: usize = 2048;

/// A block of lines to format and the words they point into.
#[derive(Default)]
struct Block {
    lines: Vec<Line>,
    words: Vec<u32>,
}

/// Formats `block` in parallel into `bufs` (one per [`PART`] lines), in order.
fn format_block(block: &Block, k: usize, vocab: &Vocabulary, bufs: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let words = &block.words;
    block
        .lines
        .par_chunks(PART)
        .zip(bufs)
        .map(|(chunk, mut buf)| {
            buf.reserve(chunk.len() * (24 + 8 * k));
            for line in chunk {
                format_f32(line.prob, &mut buf);
                buf.push(b'\t');
                for (j, &w) in words[line.start..line.start + k].iter().enumerate() {
                    if j > 0 {
                        buf.push(b' ');
                    }
                    vocab.append_word(w, &mut buf);
                }
                if let Some(b) = line.backoff {
                    buf.push(b'\t');
                    format_f32(b, &mut buf);
                }
                buf.push(b'\n');
            }
            buf
        })
        .collect()
}

/// Hands `block` to a record sink (`Output::Grams`): the lines' values and words, unformatted.
fn push_records(
    block: &Block,
    k: usize,
    vocab: &Vocabulary,
    grams: &mut dyn crate::arpa::records::GramSink,
) -> Result<()> {
    let mut records = grams.block(k);
    for line in &block.lines {
        records.push(
            &block.words[line.start..line.start + k],
            |w, out| vocab.append_word(w, out),
            line.prob,
            line.backoff,
        );
    }
    grams.grams(records)
}

/// The merge joins of one order: its n-grams, the order below, the backoffs, and the writer
/// of the interpolated records the next order joins with.
struct Join<'a> {
    k: usize,
    probs: &'a mut SortedStream,
    lower: &'a mut Lower,
    backoffs: Option<Backoffs>,
    next: Option<&'a mut RecordWriter>,
    next_rec: Vec<u32>,
    collapse: bool,
}

impl Join<'_> {
    /// Fills `block` with up to [`BLOCK`] lines; true when the n-grams are exhausted.
    fn fill(&mut self, block: &mut Block) -> Result<bool> {
        let (k, collapse) = (self.k, self.collapse);
        block.lines.clear();
        block.words.clear();
        while block.lines.len() < BLOCK {
            let Some(r) = self.probs.next()? else {
                return Ok(true);
            };
            let gram = &r[..k];
            let p = f32::from_bits(r[k]);
            let gamma = f32::from_bits(r[k + 1]);
            let (lower_p, lower_q) = self.lower.lookup(&gram[1..])?;
            let interp = p + gamma * lower_p;
            let full = match self.backoffs.as_mut() {
                Some(b) => Some(b.lookup(gram)?.unwrap_or(1.0)),
                None => None,
            };
            let q_delta = lower_q / gamma * full.unwrap_or(1.0);
            if let Some(next) = self.next.as_deref_mut() {
                self.next_rec[..k].copy_from_slice(gram);
                self.next_rec[k] = interp.to_bits();
                if collapse {
                    self.next_rec[k + 1] = q_delta.to_bits();
                }
                next.write(&self.next_rec)?;
            }
            let (prob, backoff) = if collapse {
                ((interp * q_delta).log10(), full.map(|_| 0.0))
            } else {
                (log10_prob(interp), full.map(f32::log10))
            };
            block.lines.push(Line {
                start: block.words.len(),
                prob,
                backoff,
            });
            block.words.extend_from_slice(gram);
        }
        Ok(false)
    }
}

/// Interpolates order `k` and writes its ARPA section body; see the module doc. The merge
/// joins of a block run while the block before it is formatted (in parallel).
///
/// With `collapse` (lmplz's `--collapse_values`; Heafield, Koehn and Lavie 2012, "Language
/// Model Rest Costs and Space-Efficient Storage") each line holds `q` instead of p and backoff:
/// `q(w1..wk) = p_interp * q_delta(w1..wk)`, `q_delta(w1..wk) = q_delta(w2..wk) /
/// gamma(w1..w(k-1)) * backoff(w1..wk)` and `q_delta(w) = backoff(w)` (linear, backoff 1 for a
/// non-context), in f32 as lmplz computes it, not clamped at 0; the backoff column is `0`.
#[allow(clippy::too_many_arguments)]
pub fn interpolate_order(
    k: usize,
    probs: &mut SortedStream,
    lower: &mut Lower,
    backoffs: Option<Backoffs>,
    vocab: &Vocabulary,
    out: &mut ArpaSink,
    next: Option<&mut RecordWriter>,
    collapse: bool,
    cancel: &Cancel,
) -> Result<()> {
    let mut join = Join {
        k,
        probs,
        lower,
        backoffs,
        next,
        next_rec: vec![0u32; k + 1 + usize::from(collapse)],
        collapse,
    };
    let (mut ready, mut free) = (Block::default(), Block::default());
    let mut ended = join.fill(&mut ready)?;
    loop {
        if let Some(grams) = out.grams() {
            // Records, not text: nothing to format, so no overlap to gain.
            push_records(&ready, k, vocab, grams)?;
            cancel.check()?;
            if ended {
                return Ok(());
            }
            ended = join.fill(&mut ready)?;
            continue;
        }
        let bufs: Vec<Vec<u8>> = (0..ready.lines.len().div_ceil(PART))
            .map(|_| out.buffer())
            .collect();
        let (parts, filled) = if ended {
            (format_block(&ready, k, vocab, bufs), Ok(true))
        } else {
            rayon::join(
                || format_block(&ready, k, vocab, bufs),
                || join.fill(&mut free),
            )
        };
        for p in parts {
            out.send(p)?;
        }
        cancel.check()?;
        if ended {
            return Ok(());
        }
        ended = filled?;
        std::mem::swap(&mut ready, &mut free);
    }
}

/// Writes the unigram section: ids in order, `<s>` (id `bos`) with probability 1 (log 0). With
/// `collapse`, `q = p * backoff` (see [`interpolate_order`]); returns the unigrams' `q_delta`
/// (their linear backoffs) then, else an empty vector.
#[allow(clippy::too_many_arguments)]
pub fn write_unigrams(
    interp: &[f32],
    present: &[bool],
    bos: u32,
    mut backoffs: Option<Backoffs>,
    vocab: &Vocabulary,
    out: &mut ArpaSink,
    out_name: &str,
    collapse: bool,
) -> Result<Vec<f32>> {
    let mut buf = Vec::with_capacity(1 << 20);
    let mut records = None;
    let mut q_delta = Vec::new();
    if collapse {
        q_delta = vec![1.0f32; interp.len()];
    }
    for (id, &p) in interp.iter().enumerate() {
        if !present[id] {
            continue;
        }
        let p = if id as u32 == bos { 1.0 } else { p };
        let full = match backoffs.as_mut() {
            Some(b) => Some(b.lookup(&[id as u32])?.unwrap_or(1.0)),
            None => None,
        };
        let (prob, backoff) = if collapse {
            let q = full.unwrap_or(1.0);
            q_delta[id] = q;
            ((p * q).log10(), full.map(|_| 0.0))
        } else {
            (log10_prob(p), full.map(f32::log10))
        };
        if let Some(grams) = out.grams() {
            // Records, not text (`Output::Grams`), a block at a time.
            let block = records.get_or_insert_with(|| grams.block(1));
            block.push(&[id as u32], |w, o| vocab.append_word(w, o), prob, backoff);
            if block.len() == BLOCK {
                grams.grams(records.take().unwrap_or_default())?;
            }
            continue;
        }
        format_f32(prob, &mut buf);
        buf.push(b'\t');
        vocab.append_word(id as u32, &mut buf);
        if let Some(backoff) = backoff {
            buf.push(b'\t');
            format_f32(backoff, &mut buf);
        }
        buf.push(b'\n');
        if buf.len() > 1 << 20 {
            out.write_all(&buf)
                .map_err(|e| Error::io("cannot write", out_name, e))?;
            buf.clear();
        }
    }
    if let (Some(grams), Some(block)) = (out.grams(), records) {
        grams.grams(block)?;
    }
    out.write_all(&buf)
        .map_err(|e| Error::io("cannot write", out_name, e))?;
    Ok(q_delta)
}
