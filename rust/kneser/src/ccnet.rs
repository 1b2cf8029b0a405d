//! CCNet's perplexity filter, exactly, as one document scorer (`cc_net/perplexity.py` and
//! `cc_net/mine.py`): this is the only home of the document flow, its perplexity formula and its
//! bucket rule; `kneser.Pipeline.ccnet`, `kneser pipeline --ccnet-lm-dir` and `kneser.ray.ccnet`
//! all call [`CcnetScorer::score_batch`].
//!
//! For a document with text `raw` and language `lang`:
//! 1. no model for `lang` (or no language): passed through unscored, bucket `all`;
//! 2. `raw` is normalized as a whole with CCNet's `text_normalizer.normalize` rules
//!    ([`Normalizer::ccnet`]), split into `lang`'s SentencePiece pieces, joined by spaces;
//!    an empty result is unscored;
//! 3. that text is split on `\n`, and each line scored with `lang`'s model as the kenlm module's
//!    `model.score(line)` (with `<s>` and `</s>`), its length `len(line.split()) + 1` (Python's
//!    whitespace);
//! 4. perplexity [`perplexity`] `= 10 ** (-sum(scores) / sum(lengths))`, rounded to one decimal
//!    as Python's `round(x, 1)`;
//! 5. bucket from `cutoff.csv` ([`Cutoffs`]): `head` below the `percentile_head` cutoff,
//!    `middle` below `percentile_tail`, else `tail`; `all` for a language without cutoffs.
//!
//! Memory: the models of every language in the directory (binary models memory-mapped) and one
//! scratch buffer per document in flight.

use std::collections::BTreeMap;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

pub mod jsonl;

use crate::model::Model;
use crate::text::normalize::{CcnetOptions, Normalizer};
use crate::text::sentencepiece::SentencePiece;
use crate::text::whitespace::Rule;
use crate::{Cancel, Error, Location, Result};

/// CCNet's document perplexity: `10 ** (-log10_sum / length)` where `length` counts every
/// line's words plus one (its `</s>`). The one definition of the formula.
pub fn perplexity(log10_sum: f64, length: u64) -> f64 {
    10f64.powf(-log10_sum / length as f64)
}

/// Python's `round(x, ndigits)` for a float: the nearest value with `ndigits` decimals, ties
/// by the exact binary value (half to even on it). The one home of the printed perplexity's
/// rounding: CCNet's one decimal ([`round1`]) and the generic pipeline's two
/// ([`crate::pipeline::PRINTED_DECIMALS`]).
pub fn python_round(x: f64, ndigits: usize) -> f64 {
    if !x.is_finite() {
        return x;
    }
    format!("{x:.ndigits$}").parse().unwrap_or(x)
}

/// Python's `round(x, 1)` ([`python_round`]): CCNet's printed perplexity.
pub fn round1(x: f64) -> f64 {
    python_round(x, 1)
}

/// `len(text.split())` in Python ([`Rule::Python`], the one home of that rule).
pub fn python_word_count(text: &str) -> u64 {
    Rule::Python.split(text).count() as u64
}

/// The bucket of a perplexity between two cutoffs: `head` below the first, else `middle` below
/// the second, else `tail` (NaN too; [`bucket_index`]). The one home of the rule, for CCNet's
/// `PerplexityBucket` ([`Cutoffs::bucket`]) and the generic pipeline.
pub fn bucket_of(perplexity: f64, (head, tail): (f64, f64)) -> Bucket {
    [Bucket::Head, Bucket::Middle, Bucket::Tail][bucket_index(perplexity, &[head, tail])]
}

/// The bucket index of a perplexity over cutoffs: the first cutoff it is below, tried in order
/// as CCNet's `PerplexityBucket.get_bucket` tries them, `len(cutoffs)` when it is below none
/// (NaN too, and every comparison with a NaN cutoff fails). Over increasing cutoffs this is
/// numpy's `searchsorted(cutoffs, x, "right")`; over cutoffs out of order (a `percentile_head`
/// above `percentile_tail`, or a hand-made file) it is still CCNet's answer. The rule of
/// [`bucket_of`] for any number of cutoffs (`kneser.ray.Bucketer`).
pub fn bucket_index(perplexity: f64, cutoffs: &[f64]) -> usize {
    cutoffs
        .iter()
        .position(|&c| perplexity < c)
        .unwrap_or(cutoffs.len())
}

/// The 64-bit hash of a text kept for exact deduplication (CCNet mode's and the generic
/// pipeline's): 8 bytes per distinct document or line.
pub fn dedup_hash(text: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(text.as_bytes());
    h.finish()
}

/// A perplexity bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    /// Below the head cutoff.
    Head,
    /// Between the head and tail cutoffs.
    Middle,
    /// At or above the tail cutoff.
    Tail,
    /// No cutoffs for the language, or the document is unscored.
    All,
}

impl Bucket {
    /// `head`, `middle`, `tail` or `all`.
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Head => "head",
            Bucket::Middle => "middle",
            Bucket::Tail => "tail",
            Bucket::All => "all",
        }
    }
}

/// The cells pandas' `read_csv` reads as NaN by default (its `na_values`; an empty cell is what
/// `to_csv` writes for a NaN). A NaN cutoff is below no perplexity ([`bucket_index`]).
const PANDAS_NA: [&str; 19] = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// Per-language (head, tail) cutoffs read from CCNet's `cutoff.csv`.
#[derive(Debug, Clone, Default)]
pub struct Cutoffs {
    by_language: BTreeMap<String, (f64, f64)>,
}

impl Cutoffs {
    /// Reads `cutoff.csv`: a header row of language codes after one index column, then one row
    /// per percentile (the index), as CCNet's `PerplexityBucket` reads it with pandas.
    pub fn from_csv(path: &Path, percentile_head: f64, percentile_tail: f64) -> Result<Cutoffs> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot open", path, e))?;
        Self::parse(
            &text,
            &path.display().to_string(),
            percentile_head,
            percentile_tail,
        )
    }

    /// Parses the text of a `cutoff.csv`; `name` appears in error messages.
    pub fn parse(text: &str, name: &str, head: f64, tail: f64) -> Result<Cutoffs> {
        let fail = |line: u64, message: String| Error::Format {
            at: Location::new(name, line),
            message,
        };
        let mut lines = text.lines().enumerate();
        let (_, header) = lines
            .next()
            .ok_or_else(|| fail(0, "empty cutoff file".into()))?;
        let languages: Vec<&str> = header
            .split(',')
            .skip(1)
            .map(|f| Rule::Python.trim(f))
            .collect();
        if languages.is_empty() {
            return Err(fail(1, "no language columns in the header".into()));
        }
        let (mut heads, mut tails) = (None, None);
        for (i, line) in lines {
            let number = i as u64 + 1;
            if Rule::Python.trim(line).is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split(',').map(|f| Rule::Python.trim(f)).collect();
            if fields.len() != languages.len() + 1 {
                return Err(fail(
                    number,
                    format!(
                        "{} fields, the header has {}",
                        fields.len(),
                        languages.len() + 1
                    ),
                ));
            }
            let label: f64 = fields[0].parse().map_err(|_| {
                fail(
                    number,
                    format!("percentile {:?} is not a number", fields[0]),
                )
            })?;
            let values = || -> Result<Vec<f64>> {
                fields[1..]
                    .iter()
                    .map(|f| {
                        if PANDAS_NA.contains(f) {
                            return Ok(f64::NAN);
                        }
                        f.parse::<f64>()
                            .map_err(|_| fail(number, format!("cutoff {f:?} is not a number")))
                    })
                    .collect()
            };
            if label == head {
                heads = Some(values()?);
            }
            if label == tail {
                tails = Some(values()?);
            }
        }
        let heads = heads.ok_or_else(|| fail(0, format!("no row for percentile_head {head}")))?;
        let tails = tails.ok_or_else(|| fail(0, format!("no row for percentile_tail {tail}")))?;
        let by_language = languages
            .iter()
            .zip(heads.into_iter().zip(tails))
            .map(|(l, ht)| (l.to_string(), ht))
            .collect();
        Ok(Cutoffs { by_language })
    }

    /// The (head, tail) cutoffs of `language`.
    pub fn get(&self, language: &str) -> Option<(f64, f64)> {
        self.by_language.get(language).copied()
    }

    /// The bucket of a (rounded) perplexity in `language`, CCNet's `PerplexityBucket` rule.
    pub fn bucket(&self, language: &str, perplexity: Option<f64>) -> Bucket {
        let (Some(ppl), Some((head, tail))) = (perplexity, self.get(language)) else {
            return Bucket::All;
        };
        if ppl < 0.0 {
            Bucket::All
        } else {
            bucket_of(ppl, (head, tail))
        }
    }
}

/// The SentencePiece model and language model of one language.
#[derive(Clone)]
pub struct LanguageModels {
    /// `{lang}.sp.model`.
    pub sentencepiece: Arc<SentencePiece>,
    /// `{lang}.arpa.bin` (or an ARPA or kneser binary model).
    pub model: Arc<Model>,
    /// The language model's path.
    pub model_path: PathBuf,
    /// Per SentencePiece id: the language model's id of the piece when the piece is one word
    /// of the joined line, else [`NOT_ONE_WORD`] ([`piece_word_ids`]).
    pub word_ids: Arc<Vec<u32>>,
}

impl LanguageModels {
    /// The models of one language, with the piece-to-word table made for the pair.
    pub fn new(sentencepiece: Arc<SentencePiece>, model: Arc<Model>, model_path: PathBuf) -> Self {
        let word_ids = Arc::new(piece_word_ids(&sentencepiece, &model));
        LanguageModels {
            sentencepiece,
            model,
            model_path,
            word_ids,
        }
    }
}

/// In [`LanguageModels::word_ids`]: the piece is not exactly one word of the joined line.
pub const NOT_ONE_WORD: u32 = u32::MAX;

/// Whether `piece`, joined to others by spaces, stays exactly one word both for the kenlm
/// module (split on ASCII whitespace, cut at a NUL) and for Python's `len(line.split())`.
fn is_one_word(piece: &str) -> bool {
    !piece.is_empty() && !piece.chars().any(|c| c == '\0' || Rule::Python.is_space(c))
}

/// The table of [`LanguageModels::word_ids`], computed once per (SentencePiece model, language
/// model) pair: the id the kenlm module's `model.score(line)` gives each piece that stays one
/// word of the joined line (non-empty, no NUL, no Python whitespace), [`NOT_ONE_WORD`] for
/// the others (their documents are scored from the joined text). The unknown piece's entry is
/// never used: its text is the span it covers.
pub fn piece_word_ids(sentencepiece: &SentencePiece, model: &Model) -> Vec<u32> {
    (0..sentencepiece.len() as u32)
        .map(|id| match sentencepiece.id_to_piece(id) {
            Some(piece) if is_one_word(piece) => model.index_bytes(piece.as_bytes()),
            _ => NOT_ONE_WORD,
        })
        .collect()
}

/// The language-model file names looked for, in order, for language `lang` (CCNet's
/// `{lang}.arpa.bin` first). Each is loaded by [`Model::load`], which recognises the format
/// by content.
pub const MODEL_SUFFIXES: [&str; 6] = [
    ".arpa.bin",
    ".bin",
    ".arpa",
    ".arpa.gz",
    ".arpa.xz",
    ".arpa.zst",
];

/// Loads every language of a CCNet `lm_dir`: each `{lang}.sp.model` with its language model
/// (`{lang}.arpa.bin`, else another of [`MODEL_SUFFIXES`]). A SentencePiece model without a
/// language model, or the reverse for `.arpa.bin`, is an error naming the missing file.
pub fn load_lm_dir(dir: &Path, cancel: &Cancel) -> Result<BTreeMap<String, LanguageModels>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("cannot open", dir, e))?;
    let mut languages = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("cannot read", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(lang) = name.strip_suffix(".sp.model") {
            languages.push(lang.to_string());
        } else if let Some(lang) = name.strip_suffix(".arpa.bin") {
            if !dir.join(format!("{lang}.sp.model")).exists() {
                return Err(Error::InvalidArgument(format!(
                    "{}: {name} has no SentencePiece model {lang}.sp.model next to it",
                    dir.display()
                )));
            }
        }
    }
    languages.sort();
    let loaded: Vec<Result<(String, LanguageModels)>> = languages
        .par_iter()
        .map(|lang| {
            cancel.check()?;
            let sp_path = dir.join(format!("{lang}.sp.model"));
            let model_path = MODEL_SUFFIXES
                .iter()
                .map(|s| dir.join(format!("{lang}{s}")))
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "{}: {lang}.sp.model has no language model ({lang}.arpa.bin, \
                         {lang}.arpa or {lang}.bin)",
                        dir.display()
                    ))
                })?;
            let sentencepiece = Arc::new(SentencePiece::load(&sp_path)?);
            let model = Arc::new(Model::load(&model_path, cancel)?);
            Ok((
                lang.clone(),
                LanguageModels::new(sentencepiece, model, model_path),
            ))
        })
        .collect();
    loaded.into_iter().collect()
}

/// What the scorer found for one document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DocScore {
    /// CCNet's rounded perplexity; None when the document is unscored.
    pub perplexity: Option<f64>,
    /// Its bucket.
    pub bucket: Bucket,
    /// Words scored (pieces, without the `</s>` per line).
    pub tokens: u64,
    /// A 64-bit hash of the document's `normalize_for_dedup` text, for exact deduplication.
    pub dedup_hash: u64,
}

/// Per thread: SentencePiece's normalized text, the word ids of a document scored alone
/// ([`CcnetScorer::score`]) and (for the few documents scored from their text) the joined
/// pieces, reused between documents.
#[derive(Default)]
struct Scratch {
    sp: String,
    ids: Vec<u32>,
    line: String,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's [`Scratch`] (fresh buffers if it is in use), then frees the
/// buffers that grew past [`SCRATCH_KEEP`].
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| {
        let mut fresh = Scratch::default();
        let mut guard = cell.try_borrow_mut();
        let scratch = match &mut guard {
            Ok(s) => &mut **s,
            Err(_) => &mut fresh,
        };
        let result = f(scratch);
        if scratch.sp.capacity() > SCRATCH_KEEP
            || scratch.line.capacity() > SCRATCH_KEEP
            || scratch.ids.capacity() > SCRATCH_KEEP / 4
        {
            *scratch = Scratch::default();
        }
        result
    })
}

/// Documents a worker of [`CcnetScorer::score_batch`] takes at once: their word ids are
/// scored by one [`Model::score_lines`] call per language, in lockstep.
const GROUP: usize = 64;

/// Scratch buffers larger than this (bytes) are freed after a document.
const SCRATCH_KEEP: usize = 1 << 20;

/// CCNet's scoring of a joined text: split on `\n`, each line scored by [`Model::kenlm_score`]
/// and counted by Python's `len(line.split()) + 1`: (log10 sum, length, words).
fn score_joined(model: &Model, joined: &str) -> (f64, u64, u64) {
    let (mut log_sum, mut length, mut tokens) = (0f64, 0u64, 0u64);
    for line in joined.split('\n') {
        log_sum += f64::from(model.kenlm_score(line.as_bytes(), true, true));
        let words = python_word_count(line);
        tokens += words;
        length += words + 1;
    }
    (log_sum, length, tokens)
}

/// CCNet's document scorer over a directory of per-language models.
pub struct CcnetScorer {
    normalizer: Normalizer,
    dedup: Normalizer,
    models: BTreeMap<String, LanguageModels>,
    cutoffs: Cutoffs,
}

impl CcnetScorer {
    /// A scorer over loaded models and cutoffs (empty cutoffs: every bucket `all`).
    pub fn new(models: BTreeMap<String, LanguageModels>, cutoffs: Cutoffs) -> Self {
        CcnetScorer {
            normalizer: Normalizer::ccnet(CcnetOptions::default()),
            dedup: Normalizer::ccnet_dedup(),
            models,
            cutoffs,
        }
    }

    /// Loads `lm_dir` ([`load_lm_dir`]) and, if given, `cutoff_csv` at the two percentiles.
    /// Any two rows of the file will do, in either order, as CCNet's `PerplexityBucket` takes
    /// them (a missing row is a [`Error::Format`] naming the file, where pandas raises a
    /// `KeyError`).
    pub fn open(
        lm_dir: &Path,
        cutoff_csv: Option<&Path>,
        percentile_head: f64,
        percentile_tail: f64,
        cancel: &Cancel,
    ) -> Result<Self> {
        let cutoffs = match cutoff_csv {
            Some(p) => Cutoffs::from_csv(p, percentile_head, percentile_tail)?,
            None => Cutoffs::default(),
        };
        Ok(Self::new(load_lm_dir(lm_dir, cancel)?, cutoffs))
    }

    /// The languages with models, sorted.
    pub fn languages(&self) -> Vec<String> {
        self.models.keys().cloned().collect()
    }

    /// The models of `language`.
    pub fn models(&self, language: &str) -> Option<&LanguageModels> {
        self.models.get(language)
    }

    /// Scores one document (see the module doc); `dedup` also hashes its
    /// `normalize_for_dedup` text (else the hash is 0).
    pub fn score(&self, text: &str, language: Option<&str>, dedup: bool) -> DocScore {
        let hash = if dedup { self.dedup_hash(text) } else { 0 };
        let Some((lang, models)) = language.and_then(|l| self.models.get_key_value(l)) else {
            return unscored(hash);
        };
        let scored = self.normalizer.with_normalized(text, |normalized| {
            with_scratch(|s| {
                s.ids.clear();
                match document_ids(models, normalized, s, None) {
                    Pieces::None => None,
                    Pieces::Scored(scored) => Some(scored),
                    Pieces::Ids(pieces) => {
                        let sum = models.model.score_ids(&s.ids, true);
                        Some(piece_sums(sum, pieces))
                    }
                }
            })
        });
        match scored {
            None => unscored(hash),
            Some(scored) => self.finish(lang, scored, hash),
        }
    }

    /// The result of a scored document: (log10 sum, length, pieces) to CCNet's rounded
    /// perplexity and `lang`'s bucket.
    fn finish(
        &self,
        lang: &str,
        (log_sum, length, tokens): (f64, u64, u64),
        hash: u64,
    ) -> DocScore {
        let ppl = round1(perplexity(log_sum, length));
        DocScore {
            perplexity: Some(ppl),
            bucket: self.cutoffs.bucket(lang, Some(ppl)),
            tokens,
            dedup_hash: hash,
        }
    }

    fn dedup_hash(&self, text: &str) -> u64 {
        self.dedup.with_normalized(text, dedup_hash)
    }

    /// Scores a batch of (text, language) documents, in input order, as [`CcnetScorer::score`]
    /// would one by one, the documents in parallel. A document without text is unscored.
    ///
    /// Each worker takes 64 documents at a time: their word ids first, then one
    /// [`Model::score_lines`] call per language over the group's documents (each one sentence
    /// of ids ending in `</s>`, as [`CcnetScorer::score`] scores it), whose lockstep keeps the
    /// misses of several documents in flight at once.
    pub fn score_batch<T, L>(
        &self,
        docs: &[(Option<T>, Option<L>)],
        dedup: bool,
        cancel: &Cancel,
    ) -> Result<Vec<DocScore>>
    where
        T: AsRef<str> + Sync,
        L: AsRef<str> + Sync,
    {
        let mut out = Vec::with_capacity(docs.len());
        for chunk in docs.chunks(4096) {
            cancel.check()?;
            let groups: Vec<Vec<DocScore>> = chunk
                .par_chunks(GROUP)
                .map(|group| self.score_group(group, dedup))
                .collect::<Result<_>>()?;
            out.extend(groups.into_iter().flatten());
        }
        Ok(out)
    }

    /// [`CcnetScorer::score_batch`] of one group of documents, on this thread.
    fn score_group<T, L>(
        &self,
        docs: &[(Option<T>, Option<L>)],
        dedup: bool,
    ) -> Result<Vec<DocScore>>
    where
        T: AsRef<str>,
        L: AsRef<str>,
    {
        /// The documents of one language in the group scored from their ids.
        struct Pending<'m> {
            lang: &'m str,
            models: &'m LanguageModels,
            ids: Vec<u32>,
            ends: Vec<usize>,
            /// (index in the group, pieces) per sentence of `ids`.
            docs: Vec<(usize, u64)>,
        }
        let mut out = Vec::with_capacity(docs.len());
        let mut pending: Vec<Pending<'_>> = Vec::new();
        for (i, (text, language)) in docs.iter().enumerate() {
            let Some(text) = text.as_ref().map(AsRef::as_ref) else {
                out.push(unscored(0));
                continue;
            };
            let hash = if dedup { self.dedup_hash(text) } else { 0 };
            out.push(unscored(hash));
            let language = language.as_ref().map(AsRef::as_ref);
            let Some((lang, models)) = language.and_then(|l| self.models.get_key_value(l)) else {
                continue;
            };
            let k = match pending.iter().position(|p| std::ptr::eq(p.models, models)) {
                Some(k) => k,
                None => {
                    pending.push(Pending {
                        lang,
                        models,
                        ids: Vec::new(),
                        ends: Vec::new(),
                        docs: Vec::new(),
                    });
                    pending.len() - 1
                }
            };
            let p = &mut pending[k];
            let found = self.normalizer.with_normalized(text, |normalized| {
                with_scratch(|s| document_ids(models, normalized, s, Some(&mut p.ids)))
            });
            match found {
                Pieces::None => {}
                Pieces::Scored(scored) => out[i] = self.finish(lang, scored, hash),
                Pieces::Ids(pieces) => {
                    p.ends.push(p.ids.len());
                    p.docs.push((i, pieces));
                }
            }
        }
        let mut sums = Vec::new();
        for p in &pending {
            sums.clear();
            sums.resize(p.ends.len(), 0f32);
            p.models
                .model
                .score_lines(&p.ids, &p.ends, true, &mut sums)?;
            for (&(i, pieces), &sum) in p.docs.iter().zip(&sums) {
                out[i] = self.finish(p.lang, piece_sums(sum, pieces), out[i].dedup_hash);
            }
        }
        Ok(out)
    }
}

/// An unscored document's result.
fn unscored(dedup_hash: u64) -> DocScore {
    DocScore {
        perplexity: None,
        bucket: Bucket::All,
        tokens: 0,
        dedup_hash,
    }
}

/// What [`document_ids`] found in a normalized document.
enum Pieces {
    /// No pieces: the document is unscored.
    None,
    /// This many pieces, their word ids and `</s>`'s appended to the ids.
    Ids(u64),
    /// A piece is not one word of the joined line: the document scored from its joined text
    /// ([`score_joined`]), (log10 sum, length, pieces).
    Scored((f64, u64, u64)),
}

/// (log10 sum, length, pieces) of a document of `pieces` pieces whose ids (and `</s>`'s) sum
/// to `sum`: its one line's length is the pieces plus one.
fn piece_sums(sum: f32, pieces: u64) -> (f64, u64, u64) {
    (f64::from(sum), pieces + 1, pieces)
}

/// Steps 2 and 3 of the module doc for a normalized document, up to the scoring of its ids:
/// each piece is mapped to its word id by [`LanguageModels::word_ids`] and appended, then
/// `</s>`'s, to `ids` (the scratch's own ids when None), to be scored as the joined line's
/// words ([`Model::score_ids`] or [`Model::score_lines`]). A document with a piece that is not
/// one word of the joined line leaves `ids` as it was and is scored from the joined text
/// ([`score_joined`]), as CCNet splits and counts it.
fn document_ids(
    models: &LanguageModels,
    normalized: &str,
    scratch: &mut Scratch,
    ids: Option<&mut Vec<u32>>,
) -> Pieces {
    let sp = &models.sentencepiece;
    let model = &models.model;
    let unk = sp.unk_id();
    let Scratch {
        sp: sp_buf,
        ids: own,
        line,
    } = scratch;
    let ids = ids.unwrap_or(own);
    let start = ids.len();
    let mut one_word = true;
    sp.for_each_piece_id(normalized, sp_buf, &mut |piece, id| {
        let word = if id == unk {
            // The unknown piece's text is the span it covers.
            if is_one_word(piece) {
                model.index_bytes(piece.as_bytes())
            } else {
                NOT_ONE_WORD
            }
        } else {
            models
                .word_ids
                .get(id as usize)
                .copied()
                .unwrap_or(NOT_ONE_WORD)
        };
        one_word &= word != NOT_ONE_WORD;
        ids.push(word);
    });
    let pieces = (ids.len() - start) as u64;
    if pieces == 0 {
        Pieces::None
    } else if one_word {
        ids.push(model.eos_id());
        Pieces::Ids(pieces)
    } else {
        ids.truncate(start);
        line.clear();
        sp.for_each_piece_id(normalized, sp_buf, &mut |piece, _| {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(piece);
        });
        Pieces::Scored(score_joined(model, line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_and_rounding() {
        assert_eq!(perplexity(-2.0, 2), 10.0);
        assert_eq!(round1(0.25), 0.2);
        assert_eq!(round1(123.456), 123.5);
        assert_eq!(python_word_count(" a\u{a0}b\u{3000}c  "), 3);
        assert_eq!(python_word_count("▁a ▁b"), 2);
    }

    #[test]
    fn cutoffs() {
        let c =
            Cutoffs::parse(",de,en\n0,0,0\n30,100,200\n60,300,400.5\n", "c", 30.0, 60.0).unwrap();
        assert_eq!(c.get("en"), Some((200.0, 400.5)));
        assert_eq!(c.bucket("en", Some(199.9)), Bucket::Head);
        assert_eq!(c.bucket("en", Some(200.0)), Bucket::Middle);
        assert_eq!(c.bucket("en", Some(400.5)), Bucket::Tail);
        assert_eq!(c.bucket("fr", Some(1.0)), Bucket::All);
        assert_eq!(c.bucket("en", None), Bucket::All);
        assert!(Cutoffs::parse(",de\n30,1\n", "c", 30.0, 60.0).is_err());
        assert!(Cutoffs::parse(",de\n30,x\n60,1\n", "c", 30.0, 60.0).is_err());
    }

    /// CCNet's `get_bucket` tries the head cutoff, then the tail cutoff: cutoffs out of order
    /// (a head percentile above the tail one) and NaN cells (pandas' reading of an empty cell)
    /// get its answers, not a binary search's.
    #[test]
    fn cutoffs_out_of_order_and_nan_are_tried_in_order() {
        let c = Cutoffs::parse(",en,fr\n30,300,\n60,100,NaN\n", "c", 30.0, 60.0).unwrap();
        assert_eq!(c.bucket("en", Some(150.0)), Bucket::Head);
        assert_eq!(c.bucket("en", Some(50.0)), Bucket::Head);
        assert_eq!(c.bucket("en", Some(300.0)), Bucket::Tail);
        assert_eq!(c.bucket("fr", Some(1.0)), Bucket::Tail);
        let c = Cutoffs::parse(",en\n30,100\n60,300\n", "c", 60.0, 30.0).unwrap();
        assert_eq!(c.bucket("en", Some(150.0)), Bucket::Head);
        assert_eq!(c.bucket("en", Some(299.9)), Bucket::Head);
        assert_eq!(c.bucket("en", Some(300.0)), Bucket::Tail);
        assert_eq!(bucket_index(5.0, &[1.0, 9.0, 3.0, 7.0]), 1);
        assert_eq!(bucket_index(f64::NAN, &[1.0, 2.0]), 2);
        assert_eq!(bucket_index(1.5, &[f64::NAN, 2.0]), 1);
    }

    /// A unigram SentencePiece model (identity normalization, `▁` for spaces) with pieces of
    /// one word, a piece holding a no-break space (not one word of the joined line) and no
    /// piece for `x` or `\n` (unknown spans).
    fn sentencepiece() -> SentencePiece {
        use crate::text::sentencepiece::proto::test_writer::unigram_model;
        let pieces: [(&str, f32, u64); 13] = [
            ("<unk>", 0.0, 2),
            ("<s>", 0.0, 3),
            ("</s>", 0.0, 3),
            ("▁", -2.0, 1),
            ("▁a", -1.5, 1),
            ("▁b", -1.7, 1),
            ("a", -2.5, 1),
            ("b", -2.6, 1),
            ("c", -2.8, 1),
            ("ab", -2.0, 1),
            ("▁ab", -1.8, 1),
            ("a\u{a0}b", -1.0, 1),
            ("e", -3.0, 1),
        ];
        SentencePiece::from_bytes(&unigram_model(&pieces), "test.model").unwrap()
    }

    /// A trigram ARPA over the pieces: every bigram of the contexts and words below, and the
    /// trigrams whose two bigrams exist, numbers varied so that walks reach every order.
    fn arpa() -> String {
        let unigrams = [
            "<unk>", "<s>", "</s>", "▁", "▁a", "▁b", "a", "b", "c", "ab", "▁ab", "e",
        ];
        let contexts = ["<s>", "▁a", "▁b", "a", "b"];
        let words = ["▁a", "▁b", "a", "b", "</s>"];
        let mut bigrams = Vec::new();
        for (i, u) in contexts.iter().enumerate() {
            for (j, w) in words.iter().enumerate() {
                if (i + 2 * j) % 3 != 0 {
                    bigrams.push((*u, *w, -0.25 - 0.125 * (i + j) as f32));
                }
            }
        }
        let mut trigrams = Vec::new();
        for &(u, v, _) in &bigrams {
            for &(v2, w, _) in &bigrams {
                if v2 == v && contexts.contains(&v) && (u.len() + w.len()) % 2 == 0 {
                    trigrams.push((u, v, w, -0.0625 - 0.03125 * w.len() as f32));
                }
            }
        }
        let mut t = format!(
            "\\data\\\nngram 1={}\nngram 2={}\nngram 3={}\n\n\\1-grams:\n",
            unigrams.len(),
            bigrams.len(),
            trigrams.len()
        );
        for (i, u) in unigrams.iter().enumerate() {
            let p = if *u == "<s>" {
                -99.0
            } else {
                -1.0 - 0.1 * i as f32
            };
            t += &format!("{p}\t{u}\t{}\n", -0.05 * (i % 4) as f32);
        }
        t += "\n\\2-grams:\n";
        for (u, w, p) in &bigrams {
            t += &format!("{p}\t{u} {w}\t-0.2\n");
        }
        t += "\n\\3-grams:\n";
        for (u, v, w, p) in &trigrams {
            t += &format!("{p}\t{u} {v} {w}\n");
        }
        t + "\n\\end\\\n"
    }

    /// A scorer with two languages over the same pieces: `xx` with the model from the ARPA
    /// (probing tables), `yy` with it written and read back as KenLM's trie; `cutoff.csv` for
    /// `xx` only.
    fn scorer() -> &'static CcnetScorer {
        static SCORER: std::sync::OnceLock<CcnetScorer> = std::sync::OnceLock::new();
        SCORER.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let (arpa_path, trie_path) = (dir.path().join("xx.arpa"), dir.path().join("yy.bin"));
            std::fs::write(&arpa_path, arpa()).unwrap();
            let cancel = Cancel::new();
            let probing = Model::load(&arpa_path, &cancel).unwrap();
            probing
                .save_trie(&trie_path, crate::model::TrieOptions::default(), true)
                .unwrap();
            let trie = Model::load(&trie_path, &cancel).unwrap();
            assert!(trie.is_binary());
            let sp = Arc::new(sentencepiece());
            let mut models = BTreeMap::new();
            for (lang, model, path) in [("xx", probing, arpa_path), ("yy", trie, trie_path)] {
                let m = LanguageModels::new(sp.clone(), Arc::new(model), path);
                models.insert(lang.to_string(), m);
            }
            let cutoffs = Cutoffs::parse(",xx\n30,20\n60,60\n", "c", 30.0, 60.0).unwrap();
            CcnetScorer::new(models, cutoffs)
        })
    }

    /// How [`document_ids`] takes a text: 0 no pieces, 1 ids, 2 scored from its joined text.
    fn kind(scorer: &CcnetScorer, text: &str) -> u8 {
        let models = scorer.models("xx").unwrap();
        scorer.normalizer.with_normalized(text, |n| {
            let mut scratch = Scratch::default();
            match document_ids(models, n, &mut scratch, None) {
                Pieces::None => 0,
                Pieces::Ids(_) => 1,
                Pieces::Scored(_) => 2,
            }
        })
    }

    #[test]
    fn the_test_documents_take_every_path() {
        let s = scorer();
        assert_eq!(kind(s, ""), 0);
        assert_eq!(kind(s, "  "), 0);
        assert_eq!(kind(s, "a b ab cab x"), 1);
        assert_eq!(kind(s, "a\u{a0}b a"), 2);
        assert_eq!(kind(s, "a x\u{a0}x b"), 2);
        // Both languages score, with and without cutoffs.
        let xx = s.score("a b ab", Some("xx"), false);
        let yy = s.score("a b ab", Some("yy"), false);
        assert!(xx.perplexity.is_some() && xx.bucket != Bucket::All);
        assert_eq!(yy.bucket, Bucket::All);
        assert_eq!(xx.perplexity, yy.perplexity);
        assert_eq!(s.score("a", Some("zz"), true).perplexity, None);
    }

    /// A document for the grouping test: a text of pieces, unknown spans, newlines and no-break
    /// spaces (or none), and a language with a probing model, a trie model, no model or none.
    fn document() -> impl Strategy<Value = (Option<String>, Option<String>)> {
        let texts = proptest::option::weighted(
            0.9,
            proptest::collection::vec(
                proptest::sample::select(vec![
                    "a", "b", "c", " ", " ", "ab", "\n", "\u{a0}", "x", "é", "A", "1", "e",
                ]),
                0..40,
            )
            .prop_map(|parts| parts.concat()),
        );
        let languages = proptest::option::weighted(
            0.9,
            proptest::sample::select(vec!["xx", "xx", "yy", "zz"]).prop_map(String::from),
        );
        (texts, languages)
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// `score_batch` (groups of documents, their ids scored in lockstep per language)
        /// gives every document what `score` gives it alone: the same perplexity, bucket,
        /// pieces and hash, across group boundaries, languages and unscored or text-scored
        /// documents between.
        #[test]
        fn grouped_scoring_equals_scoring_alone(
            docs in proptest::collection::vec(document(), 0..(3 * GROUP)),
            dedup: bool,
        ) {
            let s = scorer();
            let got = s.score_batch(&docs, dedup, &Cancel::new()).unwrap();
            prop_assert_eq!(got.len(), docs.len());
            for (i, ((text, lang), g)) in docs.iter().zip(&got).enumerate() {
                let alone = match text {
                    Some(t) => s.score(t, lang.as_deref(), dedup),
                    None => unscored(0),
                };
                prop_assert_eq!(g, &alone, "document {} {:?}", i, (text, lang));
            }
        }
    }
}
