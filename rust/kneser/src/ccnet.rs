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

/// The bucket of a perplexity between two cutoffs: `head` below the first, `middle` below the
/// second, else `tail` (NaN too; [`bucket_index`]). The one home of the rule, for CCNet's `PerplexityBucket`
/// ([`Cutoffs::bucket`]) and the generic pipeline.
pub fn bucket_of(perplexity: f64, (head, tail): (f64, f64)) -> Bucket {
    [Bucket::Head, Bucket::Middle, Bucket::Tail][bucket_index(perplexity, &[head, tail])]
}

/// The bucket index of a perplexity over increasing cutoffs: how many cutoffs are at or below
/// it (`len(cutoffs)` for NaN: the last bucket), numpy's `searchsorted(cutoffs, x, "right")`.
/// The rule of [`bucket_of`] for any number of cutoffs (`kneser.ray.Bucketer`).
pub fn bucket_index(perplexity: f64, cutoffs: &[f64]) -> usize {
    if perplexity.is_nan() {
        cutoffs.len()
    } else {
        cutoffs.partition_point(|&c| c <= perplexity)
    }
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

/// Per thread: SentencePiece's normalized text, the word ids of a document and (for the few
/// documents scored from their text) the joined pieces, reused between documents.
#[derive(Default)]
struct Scratch {
    sp: String,
    ids: Vec<u32>,
    line: String,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Scratch buffers larger than this (bytes) are freed after a document.
const SCRATCH_KEEP: usize = 1 << 20;

/// CCNet's scoring of a joined text: split on `\n`, each line scored by [`Model::kenlm_score`]
/// and counted by Python's `len(line.split()) + 1`: (log10 sum, length, words).
fn score_lines(model: &Model, joined: &str) -> (f64, u64, u64) {
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
    pub fn open(
        lm_dir: &Path,
        cutoff_csv: Option<&Path>,
        percentile_head: f64,
        percentile_tail: f64,
        cancel: &Cancel,
    ) -> Result<Self> {
        if !(0.0..=100.0).contains(&percentile_head)
            || !(0.0..=100.0).contains(&percentile_tail)
            || percentile_head > percentile_tail
        {
            return Err(Error::InvalidArgument(format!(
                "percentile_head ({percentile_head}) and percentile_tail ({percentile_tail}) \
                 must be increasing values in [0, 100]"
            )));
        }
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
        let scored = self
            .normalizer
            .with_normalized(text, |normalized| score_normalized(models, normalized));
        match scored {
            None => unscored(hash),
            Some((log_sum, length, tokens)) => {
                let ppl = round1(perplexity(log_sum, length));
                DocScore {
                    perplexity: Some(ppl),
                    bucket: self.cutoffs.bucket(lang, Some(ppl)),
                    tokens,
                    dedup_hash: hash,
                }
            }
        }
    }

    fn dedup_hash(&self, text: &str) -> u64 {
        self.dedup.with_normalized(text, dedup_hash)
    }

    /// Scores a batch of (text, language) documents, in input order, as [`CcnetScorer::score`]
    /// would one by one, the documents in parallel. A document without text is unscored.
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
            out.par_extend(
                chunk
                    .par_iter()
                    .with_min_len(16)
                    .map(|(text, lang)| match text {
                        Some(t) => self.score(t.as_ref(), lang.as_ref().map(AsRef::as_ref), dedup),
                        None => unscored(0),
                    }),
            );
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

/// Steps 2 and 3 of the module doc for a normalized document: (log10 sum, length, pieces),
/// None when it has no pieces. Each piece is mapped to its word id by
/// [`LanguageModels::word_ids`] and the ids scored as the joined line's words
/// ([`Model::score_ids`]); a document with a piece that is not one word of the joined line is
/// scored from the joined text ([`score_lines`]), as CCNet splits and counts it.
fn score_normalized(models: &LanguageModels, normalized: &str) -> Option<(f64, u64, u64)> {
    let sp = &models.sentencepiece;
    let model = &models.model;
    let unk = sp.unk_id();
    SCRATCH.with(|cell| {
        let mut fresh = Scratch::default();
        let mut guard = cell.try_borrow_mut();
        let scratch = match &mut guard {
            Ok(s) => &mut **s,
            Err(_) => &mut fresh,
        };
        let Scratch {
            sp: sp_buf,
            ids,
            line,
        } = scratch;
        ids.clear();
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
        let pieces = ids.len() as u64;
        let result = if pieces == 0 {
            None
        } else if one_word {
            ids.push(model.eos_id());
            let sum = model.score_ids(ids, true);
            Some((f64::from(sum), pieces + 1, pieces))
        } else {
            line.clear();
            sp.for_each_piece_id(normalized, sp_buf, &mut |piece, _| {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(piece);
            });
            Some(score_lines(model, line))
        };
        if sp_buf.capacity() > SCRATCH_KEEP
            || line.capacity() > SCRATCH_KEEP
            || ids.capacity() > SCRATCH_KEEP / 4
        {
            *scratch = Scratch::default();
        }
        result
    })
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
}
