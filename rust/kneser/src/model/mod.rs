//! N-gram language models for scoring: loaded from ARPA or from kneser's binary format, scored
//! with KenLM's numbers.
//!
//! Input: an ARPA file (KenLM's, SRILM's or ours; plain, gzip, xz or zstd) or a binary model
//! written by [`Model::save_binary`] (recognised by its magic bytes). Output: log10
//! probabilities of words and sentences, per-word details (n-gram length, OOV flag),
//! perplexities, KenLM-style `query` reports.
//!
//! The query structure (`table`): a vocabulary table (word hash to id), the unigrams as an
//! array indexed by id, and one open-addressing hash table per higher order keyed by a 64-bit hash
//! of the word ids (KenLM's probing model). Word ids follow the ARPA's unigram list: `<unk>` is
//! 0 and every other word takes the next id in file order, as KenLM's `query` prints them.
//! A model whose ARPA lacks `<unk>` gives it log10 p = -100 (KenLM's default) and
//! [`Model::unk_missing`] says so; `<s>` and `</s>` must be present.
//!
//! Scoring (`score`) reproduces KenLM's backoff rule and float arithmetic. The binary format
//! (`binary`) is the same tables written little-endian behind a versioned header, memory-mapped
//! on load: it loads in milliseconds and pages in on demand. KenLM's trie files (`trie`) are
//! mapped too and scored in place (`trie_search`: binary searches over bit-packed levels).
//!
//! Memory: ARPA loading holds the tables (about 24 bytes per n-gram) plus a growing table while
//! an order is read; a binary model is mapped, not read.

use std::path::Path;

use rayon::prelude::*;

use crate::arpa::reader::MAX_ARPA_ORDER;
use crate::cancel::Cancel;
use crate::error::{IoContext, Result};

pub use build::BuildConfig;
pub use load_method::LoadMethod;
use score::Lookup;
pub use score::{split_words, FullScore, State};

/// The largest order a model may have.
pub const MAX_ORDER: usize = MAX_ARPA_ORDER;

/// Where the image of the model (KenLM's probing binary, byte for byte) lives.
pub(crate) enum Storage {
    /// Built from an ARPA file.
    Owned(Vec<u8>),
    /// A binary file, mapped (or copied, for [`LoadMethod::Read`]).
    Mapped(memmap2::Mmap),
}

impl Storage {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Storage::Owned(v) => v,
            Storage::Mapped(m) => m,
        }
    }
}

/// An n-gram language model ready for scoring. Cheap to share between threads (`Sync`).
pub struct Model {
    order: usize,
    vocab_size: usize,
    bos: u32,
    eos: u32,
    unk_missing: bool,
    /// Whether the image holds the vocabulary strings.
    has_vocab: bool,
    layout: binary::Layout,
    storage: Storage,
    /// Where the model came from, for writing it as a trie.
    source: Source,
    /// For a trie file: its geometry (scoring reads the trie in place); `None` for the probing
    /// image.
    trie: Option<Box<trie_search::TrieSearch>>,
}

/// The file a model was read from, when a trie can be written from it.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// Built in memory or from a stream.
    None,
    /// An ARPA file read with these options; its size and time as they were before the read.
    Arpa(std::path::PathBuf, BuildConfig, build::Stamp),
    /// A trie binary file.
    Trie(std::path::PathBuf),
    /// A probing binary file (its tables are the model's image: no trie is built from it).
    Probing(std::path::PathBuf),
}

/// Runs `$body` with `$v` bound to the model's search structure (a [`score::Lookup`]: the
/// probing tables' [`score::View`] or the trie's [`trie_search::TrieView`]); `$body` is compiled
/// for each.
macro_rules! with_view {
    ($model:expr, $v:ident => $body:expr) => {{
        let m: &Model = $model;
        match &m.trie {
            None => {
                let $v = m.view();
                $body
            }
            Some(t) => {
                let $v = t.view(m.storage.bytes());
                $body
            }
        }
    }};
}

mod binary;
mod build;
mod kenlm_module;
mod load_method;
pub mod probing;
pub mod query;
mod score;
mod sizes;
mod stream;
mod trie;
mod trie_search;

pub use sizes::{arpa_memory_estimate, memory_estimate, memory_sizes, MemoryEstimateFlags};
pub use stream::{binary_output, binary_writer, BinaryJob, BinaryLayout, BinaryWriter};
pub use trie::TrieOptions;

impl Model {
    /// Loads a model: a kneser binary model (recognised by its magic bytes) or an ARPA file
    /// (plain, gzip, xz or zstd).
    ///
    /// Args:
    ///     path: the model file.
    ///     cancel: polled while an ARPA is read.
    ///
    /// Example:
    ///     `let lm = Model::load(Path::new("lm.arpa.xz"), &Cancel::new())?;`
    pub fn load(path: &Path, cancel: &Cancel) -> Result<Model> {
        Self::load_with(path, LoadMethod::default(), cancel)
    }

    /// Loads a model as [`Model::load`] does, bringing a binary model into memory by `method`
    /// (an ARPA file is always parsed into memory).
    ///
    /// Example:
    ///     `let lm = Model::load_with(Path::new("lm.kbin"), LoadMethod::Read, &Cancel::new())?;`
    pub fn load_with(path: &Path, method: LoadMethod, cancel: &Cancel) -> Result<Model> {
        match Self::load_binary(path, method)? {
            Some(model) => Ok(model),
            None => Self::from_arpa(path, cancel),
        }
    }

    /// Loads `path` if it is a binary model (KenLM's, by its magic bytes, as
    /// [`Model::load_with`] decides): `None` for any other file (an ARPA, to be read by
    /// [`Model::load_with`]). A binary loads in about a millisecond (a map and the header
    /// checks), so callers may run it where a long ARPA read would not be run.
    ///
    /// Example:
    ///     `let lm = Model::load_binary(Path::new("lm.bin"), LoadMethod::Populate)?;`
    pub fn load_binary(path: &Path, method: LoadMethod) -> Result<Option<Model>> {
        match binary::open_binary(path)? {
            Some(file) => binary::load_file(&file, path, method).map(Some),
            None => Ok(None),
        }
    }

    /// Loads an ARPA file (plain or compressed).
    pub fn from_arpa(path: &Path, cancel: &Cancel) -> Result<Model> {
        Self::from_arpa_with(path, &BuildConfig::default(), cancel)
    }

    /// Loads an ARPA file with `build_binary`'s options (probing multiplier, `-i`, `-u`).
    pub fn from_arpa_with(path: &Path, config: &BuildConfig, cancel: &Cancel) -> Result<Model> {
        // Taken before the read: a file changed while it is read differs from it too.
        let stamp = match path.as_os_str() == "-" {
            true => None,
            false => Some(build::Stamp::of(path)?),
        };
        let mut m = build::from_arpa(path, config, cancel)?;
        if let Some(stamp) = stamp {
            m.source = Source::Arpa(path.to_path_buf(), *config, stamp);
        }
        Ok(m)
    }

    /// Writes the model as KenLM's trie layout (`build_binary [-q] [-b] [-a] trie`): for a
    /// model read from an ARPA file, the bytes `build_binary` writes for that ARPA (the file is
    /// read again, as `build_binary` reads it: the probing tables in memory hold hashes, not
    /// words, and keeping every n-gram's words from the load would cost every scoring user that
    /// memory; docs/kenlm-binary.md); for a model read from a trie file, its n-grams with their
    /// stored values, in the layout of `options`.
    ///
    /// Errors: [`crate::Error::InvalidArgument`] for a model built from a stream or in memory,
    /// and for bit widths outside 1 to 25; [`crate::Error::Format`] naming the ARPA when it
    /// changed (size or modification time) or vanished since the load, so that the file written
    /// is never that of a different model; the errors of reading the source again.
    pub fn save_trie(&self, path: &Path, options: TrieOptions, include_vocab: bool) -> Result<()> {
        crate::io::claim_output(path, self.input_file().as_slice())?;
        let (grams, multiplier) = match &self.source {
            Source::Arpa(arpa, config, stamp) => {
                stamp.check(arpa)?;
                let grams = build::grams_from_arpa(arpa, config, &Cancel::new())?;
                // The read itself: a change during it shows in the time or size afterwards.
                stamp.check(arpa)?;
                (grams, config.multiplier)
            }
            Source::Trie(_) => match self.trie_grams() {
                Some(grams) => (grams?, self.layout.multiplier),
                None => unreachable_source()?,
            },
            Source::None | Source::Probing(_) => unreachable_source()?,
        };
        trie::save(&grams, path, options, multiplier, include_vocab)
    }

    /// For a model read from a trie file: its n-grams, decoded from the bytes in memory.
    pub(crate) fn trie_grams(&self) -> Option<Result<trie::Grams>> {
        let t = self.trie.as_ref()?;
        Some(trie::decode(
            self.storage.bytes(),
            &self.name_for_errors(),
            &t.counts,
            &t.geometry,
            self.has_vocab,
        ))
    }

    fn name_for_errors(&self) -> String {
        match &self.source {
            Source::Trie(p) | Source::Arpa(p, ..) | Source::Probing(p) => p.display().to_string(),
            Source::None => "the model".into(),
        }
    }

    /// Loads ARPA text from a reader; `name` appears in error messages.
    pub fn from_arpa_reader(
        input: impl std::io::BufRead,
        name: &str,
        cancel: &Cancel,
    ) -> Result<Model> {
        build::from_arpa_reader(input, name, &BuildConfig::default(), cancel)
    }

    /// Writes the model as KenLM's probing binary (what `build_binary probing` writes for the
    /// same ARPA, byte for byte), with the vocabulary strings; the file appears at `path` only
    /// when complete.
    pub fn save_binary(&self, path: &Path) -> Result<()> {
        self.save_binary_with(path, true)
    }

    /// [`Model::save_binary`], leaving out the vocabulary strings when `include_vocab` is false
    /// (`build_binary -v`). Order-1 models cannot be saved (KenLM's format needs order >= 2).
    /// The file the model was loaded from ([`Model::input_file`]) is refused as `path`
    /// (`InvalidArgument`), as every output onto an input is.
    pub fn save_binary_with(&self, path: &Path, include_vocab: bool) -> Result<()> {
        binary::check_order(self.order)?;
        binary::save(self, path, include_vocab)
    }

    /// The file the model was loaded from (an ARPA or binary file; None for a model built in
    /// memory or read from a stream). The save methods refuse to write onto it.
    pub fn input_file(&self) -> Option<&Path> {
        match &self.source {
            Source::Arpa(p, ..) | Source::Trie(p) | Source::Probing(p) => Some(p),
            Source::None => None,
        }
    }

    /// The probing multiplier of the tables (buckets per entry).
    pub fn probing_multiplier(&self) -> f32 {
        self.layout.multiplier
    }

    /// The n-gram counts of the tables (those of the ARPA header).
    pub fn counts(&self) -> &[u64] {
        &self.layout.counts
    }

    /// The words of the vocabulary in id order (`<unk>` first), if the model holds them (an
    /// ARPA always does; a binary written with `-v` does not).
    ///
    /// Errors: [`crate::Error::Format`] naming the file when its strings do not hold exactly
    /// [`Model::vocab_size`] words (a load checks only their ends; see `vocab_strings`).
    pub fn vocab_words(&self) -> Result<Option<Vec<&[u8]>>> {
        Ok(self
            .vocab_strings()?
            .map(|bytes| bytes.split(|&b| b == 0).take(self.vocab_size).collect()))
    }

    /// The vocabulary strings after the tables (`None` without them), checked to hold exactly
    /// [`Model::vocab_size`] NUL-terminated words. The count is made here, when a caller needs
    /// the words (saving, decoding, listing), not on load: scoring never reads the strings, and
    /// a load checks only their ends (docs/kenlm-binary.md).
    pub(crate) fn vocab_strings(&self) -> Result<Option<&[u8]>> {
        if !self.has_vocab {
            return Ok(None);
        }
        let end = self
            .trie
            .as_ref()
            .map_or(self.layout.end, |t| t.geometry.end);
        let bytes = self.storage.bytes().get(end..).unwrap_or_default();
        binary::check_vocab_strings(bytes, self.vocab_size as u64, end, &self.name_for_errors())?;
        Ok(Some(bytes))
    }

    #[inline]
    fn view(&self) -> score::View<'_> {
        let bytes = self.storage.bytes();
        let l = &self.layout;
        let mut tables = [probing::Table::EMPTY; MAX_ORDER + 1];
        for (i, (range, &rem)) in l.tables.iter().zip(&l.table_buckets).enumerate() {
            let n = i + 2;
            tables[n] = probing::Table::with_buckets(&bytes[range.clone()], l.stride(n), rem);
        }
        score::View {
            order: self.order,
            bos: self.bos,
            eos: self.eos,
            vocab: probing::Table::with_buckets(
                &bytes[l.vocab.clone()],
                probing::VOCAB_ENTRY,
                l.vocab_buckets,
            ),
            unigrams: &bytes[l.unigrams.clone()],
            tables,
        }
    }

    /// The n-gram order.
    pub fn order(&self) -> usize {
        self.order
    }

    /// The number of words with an id, `<unk>` included (KenLM's vocabulary bound).
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// Whether the ARPA lacked `<unk>` (it was given log10 p = -100).
    pub fn unk_missing(&self) -> bool {
        self.unk_missing
    }

    /// Whether the model was loaded from a binary file (mapped, or copied by
    /// [`LoadMethod::Read`]).
    pub fn is_mapped(&self) -> bool {
        matches!(self.storage, Storage::Mapped { .. })
    }

    /// Whether the model was loaded from a KenLM binary file (probing or trie).
    pub fn is_binary(&self) -> bool {
        self.is_mapped() || matches!(self.source, Source::Trie(_))
    }

    /// The id of `word` (0 for an unknown word, as `<unk>`).
    pub fn index(&self, word: &str) -> u32 {
        with_view!(self, v => v.index(word.as_bytes()))
    }

    /// The id of a word given as bytes (0 for an unknown word).
    pub fn index_bytes(&self, word: &[u8]) -> u32 {
        with_view!(self, v => v.index(word))
    }

    /// Whether `word` has an id other than `<unk>`'s (the kenlm module's `in`).
    pub fn contains(&self, word: &str) -> bool {
        self.index(word) != 0
    }

    /// The id of `<s>`.
    pub fn bos_id(&self) -> u32 {
        self.bos
    }

    /// The id of `</s>`.
    pub fn eos_id(&self) -> u32 {
        self.eos
    }

    /// The state at the start of a sentence: the context `<s>`.
    pub fn begin_sentence_state(&self) -> State {
        with_view!(self, v => v.begin_sentence())
    }

    /// The empty context.
    pub fn null_context_state(&self) -> State {
        State::default()
    }

    /// The log10 probability and unigram backoff of the word with `id`.
    pub fn unigram(&self, id: u32) -> (f32, f32) {
        with_view!(self, v => v.unigram(id))
    }

    /// Scores the word with `id` after `state`; the state after it goes to `out`.
    ///
    /// Args:
    ///     state: the context.
    ///     id: the word (from [`Model::index`]).
    ///     out: receives the next state.
    ///
    /// Example:
    ///     `let s = lm.full_score(&lm.begin_sentence_state(), lm.index("the"), &mut out);`
    pub fn full_score(&self, state: &State, id: u32, out: &mut State) -> FullScore {
        let id = if (id as usize) < self.vocab_size {
            id
        } else {
            0
        };
        with_view!(self, v => v.full_score(state, id, out))
    }

    /// log10 p of `text` (words split on ASCII whitespace), with `<s>` context and `</s>` as
    /// asked. The sum is in `f32`, as the kenlm module's.
    pub fn score(&self, text: &str, bos: bool, eos: bool) -> f32 {
        with_view!(self, v => v.score(text.as_bytes(), bos, eos))
    }

    /// The log10 probability of the words `ids` (vocabulary ids, `</s>`'s included if it is
    /// to be scored) from `<s>` with `bos`, else from the empty context: the same `f32` sum,
    /// in the same order, as [`Model::score`] of the text those ids are the words of. For
    /// callers that map their tokens to ids once (CCNet mode's SentencePiece pieces).
    pub fn score_ids(&self, ids: &[u32], bos: bool) -> f32 {
        with_view!(self, v => v.score_ids(ids, bos))
    }

    /// [`Model::score_ids`] of many sentences at once, their lookups overlapped: sentence `i`
    /// is `ids[ends[i - 1]..ends[i]]` (`ids[..ends[0]]` for the first), its sum into
    /// `out[i]`, the same `f32` sum in the same order as `score_ids` of it. On a model larger
    /// than half the last-level cache, several sentences are scored in lockstep, so that the
    /// cache misses of one are in flight while the others are scored; a smaller model is
    /// scored a sentence at a time (for callers that hold many sentences of ids: CCNet mode's
    /// documents).
    ///
    /// Errors: [`crate::Error::InvalidArgument`] when `ends` decreases or passes `ids.len()`,
    /// `out` is not as long as `ends`, or an id is not below [`Model::vocab_size`] (nothing is
    /// scored then).
    ///
    /// Example:
    ///     `lm.score_lines(&ids, &[3, 7], true, &mut sums)?;`
    pub fn score_lines(
        &self,
        ids: &[u32],
        ends: &[usize],
        bos: bool,
        out: &mut [f32],
    ) -> Result<()> {
        let mut last = 0usize;
        for &end in ends {
            if end < last || end > ids.len() {
                return Err(crate::error::Error::InvalidArgument(format!(
                    "score_lines: sentence end {end} after end {last} of {} ids",
                    ids.len()
                )));
            }
            last = end;
        }
        if out.len() != ends.len() {
            return Err(crate::error::Error::InvalidArgument(format!(
                "score_lines: {} sums asked for {} sentences",
                out.len(),
                ends.len()
            )));
        }
        if let Some(bad) = ids.iter().find(|&&id| id as usize >= self.vocab_size) {
            return Err(crate::error::Error::InvalidArgument(format!(
                "score_lines: word id {bad} is not below the vocabulary size {}",
                self.vocab_size
            )));
        }
        with_view!(self, v => v.score_lines(ids, ends, bos, out));
        Ok(())
    }

    /// Every word's score in `text` (and `</s>`'s with `eos`).
    pub fn full_scores(&self, text: &str, bos: bool, eos: bool) -> Vec<FullScore> {
        with_view!(self, v => v.full_scores(text.as_bytes(), bos, eos))
    }

    /// The kenlm module's perplexity: `10^(-score(text) / (words + 1))`.
    pub fn perplexity(&self, text: &str) -> f64 {
        score::perplexity_of(self.score(text, true, true), text.as_bytes())
    }

    /// Scores many texts in parallel (rayon's pool), in input order; polls `cancel` between
    /// blocks of texts.
    pub fn score_batch<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        bos: bool,
        eos: bool,
        cancel: &Cancel,
    ) -> Result<Vec<f32>> {
        self.batch(texts, cancel, |_, (score, _)| score, bos, eos)
    }

    /// The perplexity of many texts in parallel, in input order.
    pub fn perplexity_batch<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        cancel: &Cancel,
    ) -> Result<Vec<f64>> {
        self.batch(
            texts,
            cancel,
            |_, (score, words)| score::perplexity_of_words(score, words),
            true,
            true,
        )
    }

    /// Scores `texts` in parallel and gives each text's `f32` sum and word count, with the
    /// text, to `finish`, on the worker threads.
    fn batch<S, T, F>(
        &self,
        texts: &[S],
        cancel: &Cancel,
        finish: F,
        bos: bool,
        eos: bool,
    ) -> Result<Vec<T>>
    where
        S: AsRef<str> + Sync,
        T: Send + Default + Clone,
        F: Fn(&[u8], (f32, usize)) -> T + Sync,
    {
        const BLOCK: usize = 4096;
        // Texts a rayon task scores (and results it writes): at most 256 (64, 128 and 512
        // measured no faster on 5,000 lines of book.o5), and a batch too small for four tasks
        // a thread at that size gets smaller ones (at least 64), so that it is still shared
        // out evenly: 300 lines in two tasks of 256 and 44 kept one thread idle most of the
        // call.
        let task = texts
            .len()
            .div_ceil(rayon::current_num_threads() * 4)
            .clamp(64, 256);
        let mut out = vec![T::default(); texts.len()];
        with_view!(self, v => {
            for (texts, out) in texts.chunks(BLOCK * 16).zip(out.chunks_mut(BLOCK * 16)) {
                cancel.check()?;
                texts
                    .par_chunks(task)
                    .zip(out.par_chunks_mut(task))
                    .for_each(|(texts, out)| {
                        let bytes: Vec<&[u8]> = texts.iter().map(|t| t.as_ref().as_bytes()).collect();
                        let mut scores = vec![0.0f32; bytes.len()];
                        let mut words = vec![0usize; bytes.len()];
                        v.score_block(&bytes, bos, eos, &mut scores, &mut words);
                        let each = out.iter_mut().zip(bytes).zip(scores).zip(words);
                        for (((o, text), s), w) in each {
                            *o = finish(text, (s, w));
                        }
                    });
            }
        });
        Ok(out)
    }
}

/// Converts an ARPA file into KenLM's probing binary: [`Model::from_arpa_with`] then
/// [`Model::save_binary_with`] (`build_binary [-p] [-v] [-i] [-u] probing arpa out`).
///
/// Example:
///     `build_binary(Path::new("lm.arpa"), Path::new("lm.bin"), &BuildConfig::default(), true, &Cancel::new())?;`
pub fn build_binary(
    arpa: &Path,
    output: &Path,
    config: &BuildConfig,
    include_vocab: bool,
    cancel: &Cancel,
) -> Result<()> {
    Model::from_arpa_with(arpa, config, cancel)?.save_binary_with(output, include_vocab)
}

/// Converts an ARPA file into KenLM's trie layout: `build_binary [-q bits] [-b bits] [-a bits]
/// [-p] [-v] [-i] [-u] trie arpa out`, the same bytes.
///
/// Example:
///     `build_binary_trie(Path::new("lm.arpa"), Path::new("lm.bin"), &BuildConfig::default(), TrieOptions::default(), true, &Cancel::new())?;`
pub fn build_binary_trie(
    arpa: &Path,
    output: &Path,
    config: &BuildConfig,
    options: TrieOptions,
    include_vocab: bool,
    cancel: &Cancel,
) -> Result<()> {
    options.check()?;
    let grams = build::grams_from_arpa(arpa, config, cancel)?;
    trie::save(&grams, output, options, config.multiplier, include_vocab)
}

/// The error of a model whose n-grams are not at hand for the trie layout.
fn unreachable_source<T>() -> Result<T> {
    Err(crate::error::Error::InvalidArgument(
        "this model was not read from an ARPA or trie file, so its n-grams are not at hand \
         for the trie layout: save it as probing, or build the trie from the ARPA"
            .into(),
    ))
}

/// Opens `path` and reads its first bytes (for format detection).
fn head_of(path: &Path, n: usize) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).at_path("cannot open", path)?;
    let mut head = Vec::with_capacity(n);
    file.take(n as u64)
        .read_to_end(&mut head)
        .at_path("cannot read", path)?;
    Ok(head)
}

#[cfg(test)]
mod tests;
