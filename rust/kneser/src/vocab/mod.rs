//! Vocabularies: token <-> id maps built from counted text, and their files.
//!
//! Input: text lines (files through [`crate::io::open_input`], or in-memory strings), split by a
//! [`Tokenizer`](crate::text::tokenize::Tokenizer). Output: a [`Vocab`] whose ids are assigned in a deterministic order: the special
//! tokens first, in the order configured (default `<unk>`, `<s>`, `</s>`, optionally `<pad>`),
//! then every other token by count descending, ties broken by the token's UTF-8 bytes ascending.
//! The order never depends on the number of threads or on the order of the input files.
//!
//! Memory: the counter holds one entry per distinct token (the token's bytes, a 16-byte key and
//! an 8-byte count); reading holds a bounded number of line batches
//! ([`count::BATCH_BYTES`] each). A built [`Vocab`] holds each token twice (id -> token and
//! token -> id) plus a count.
//!
//! Submodules: [`count`] (parallel counting), [`files`] (text, JSON and KenLM limit-vocab files),
//! [`encode`] (text <-> ids), [`shards`] (a corpus to `.npy` / `.bin` token-id shards).

pub mod count;
pub mod encode;
pub mod files;
pub mod shards;
mod table;

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use table::TokenTable;

pub use count::{build_from_files, TokenCounter};
pub use encode::{EncodedBatch, Unknown};
pub use shards::{
    encode_corpus, encode_texts, CorpusIndex, EncodeConfig, IdBatch, ShardDtype, ShardFormat,
    ShardSink, DEFAULT_SHARD_TOKENS, TEXTS_SOURCE,
};

/// The unknown-word token.
pub const UNK: &str = "<unk>";
/// The beginning-of-sentence token.
pub const BOS: &str = "<s>";
/// The end-of-sentence (and by default end-of-document) token.
pub const EOS: &str = "</s>";
/// The padding token (only when asked for).
pub const PAD: &str = "<pad>";

/// The default special tokens: `<unk>`, `<s>`, `</s>`, and `<pad>` when `pad` is true.
///
/// Example:
/// ```
/// assert_eq!(kneser::vocab::default_specials(true), ["<unk>", "<s>", "</s>", "<pad>"]);
/// ```
pub fn default_specials(pad: bool) -> Vec<String> {
    let mut v = vec![UNK.to_string(), BOS.to_string(), EOS.to_string()];
    if pad {
        v.push(PAD.to_string());
    }
    v
}

/// How a vocabulary is cut from the counts. Checked by [`VocabConfig::validate`] before any work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VocabConfig {
    /// Tokens seen fewer times than this are left out (specials are always kept). At least 1.
    pub min_count: u64,
    /// The largest vocabulary size, specials included; `None` for no limit.
    pub max_size: Option<usize>,
    /// The special tokens, given ids 0, 1, ... in this order.
    pub specials: Vec<String>,
}

impl Default for VocabConfig {
    fn default() -> Self {
        VocabConfig {
            min_count: 1,
            max_size: None,
            specials: default_specials(false),
        }
    }
}

impl VocabConfig {
    /// Checks the options: `min_count >= 1`, `max_size` above the number of specials, specials
    /// distinct, non-empty and free of whitespace.
    pub fn validate(&self) -> Result<()> {
        if self.min_count == 0 {
            return Err(Error::InvalidArgument(
                "min_count must be at least 1".into(),
            ));
        }
        if let Some(max) = self.max_size {
            if max <= self.specials.len() {
                return Err(Error::InvalidArgument(format!(
                    "max_size {max} leaves no room for ordinary tokens after the {} special tokens; \
                     max_size counts the specials, so pass at least {}",
                    self.specials.len(),
                    self.specials.len() + 1
                )));
            }
        }
        for (i, s) in self.specials.iter().enumerate() {
            check_token(s).map_err(|why| {
                Error::InvalidArgument(format!("special token {s:?} is invalid: {why}"))
            })?;
            if self.specials[..i].contains(s) {
                return Err(Error::InvalidArgument(format!(
                    "special token {s:?} is given twice"
                )));
            }
        }
        Ok(())
    }
}

/// Why `token` cannot be a vocabulary entry, if it cannot: empty, or holding a separator of
/// lmplz's whitespace rule (space, tab, CR, LF, NUL), which no file format could keep.
pub(crate) fn check_token(token: &str) -> std::result::Result<(), &'static str> {
    if token.is_empty() {
        Err("a token cannot be empty")
    } else if token.bytes().any(crate::text::whitespace::is_lmplz_space) {
        Err("a token cannot hold a space, tab, CR, LF or NUL")
    } else {
        Ok(())
    }
}

/// A vocabulary: ids `0..len()` each with a token and a count.
///
/// Example:
/// ```
/// use kneser::text::tokenize::Tokenizer;
/// use kneser::vocab::{TokenCounter, VocabConfig};
/// let mut counter = TokenCounter::new();
/// counter.add_texts(&Tokenizer::whitespace(), &["b a b", "c b a"]);
/// let vocab = counter.into_vocab(&VocabConfig::default(), "<test>").unwrap();
/// assert_eq!(vocab.tokens(), ["<unk>", "<s>", "</s>", "b", "a", "c"]);
/// assert_eq!(vocab.token_to_id("a"), Some(4));
/// assert_eq!(vocab.count(3), Some(3));
/// ```
#[derive(Debug, Clone)]
pub struct Vocab {
    table: TokenTable,
    counts: Vec<u64>,
    n_specials: usize,
    unk: Option<u32>,
    /// The files it was read from (a vocabulary file, or the corpus it was built from), which
    /// [`Vocab::save`] refuses to write over.
    inputs: Vec<std::path::PathBuf>,
}

impl Vocab {
    /// A vocabulary from `(token, count)` entries in id order, the first `n_specials` of them
    /// special. Fails on an empty, whitespace-holding or repeated token (`InvalidArgument`; the
    /// file loaders turn it into a `Format` error with the line) or more than `u32::MAX` entries.
    ///
    /// Example:
    /// ```
    /// let v = kneser::vocab::Vocab::from_entries(vec![("<unk>".into(), 0), ("a".into(), 5)], 1).unwrap();
    /// assert_eq!(v.unk_id(), Some(0));
    /// ```
    pub fn from_entries(entries: Vec<(String, u64)>, n_specials: usize) -> Result<Self> {
        if entries.len() > u32::MAX as usize {
            return Err(Error::InvalidArgument(format!(
                "a vocabulary holds at most {} tokens, got {}",
                u32::MAX,
                entries.len()
            )));
        }
        if n_specials > entries.len() {
            return Err(Error::Internal(format!(
                "{n_specials} specials among {} entries",
                entries.len()
            )));
        }
        let mut table = TokenTable::with_capacity(entries.len());
        let mut counts = Vec::with_capacity(entries.len());
        for (id, (token, count)) in entries.into_iter().enumerate() {
            check_token(&token).map_err(|why| {
                Error::InvalidArgument(format!("token {token:?} at id {id}: {why}"))
            })?;
            if let Err(first) = table.insert(&token) {
                return Err(Error::InvalidArgument(format!(
                    "token {token:?} appears twice, at ids {first} and {id}"
                )));
            }
            counts.push(count);
        }
        let unk = (0..n_specials)
            .find(|&i| table.token(i) == Some(UNK))
            .map(|i| i as u32);
        Ok(Vocab {
            table,
            counts,
            n_specials,
            unk,
            inputs: Vec::new(),
        })
    }

    /// Records the files the vocabulary was read from (see [`Vocab::inputs`]).
    pub fn with_inputs(mut self, inputs: Vec<std::path::PathBuf>) -> Self {
        self.inputs = inputs;
        self
    }

    /// The files the vocabulary was read from: the file [`Vocab::load`] read, or the corpus
    /// files [`build_from_files`] counted (empty for other sources). [`Vocab::save`] and
    /// [`Vocab::save_limit_vocab`] refuse to write onto one of them.
    pub fn inputs(&self) -> &[std::path::PathBuf] {
        &self.inputs
    }

    /// Cuts a vocabulary from `counts` (token -> occurrences) under `config`: specials first,
    /// then tokens with at least `min_count` occurrences by count descending and bytes
    /// ascending, at most `max_size` in all. `source` names the input in error messages.
    ///
    /// Errors: `InvalidArgument` for a bad config, an empty corpus (no token besides the
    /// specials) or a `min_count` above every count.
    pub fn from_counts(
        counts: FxHashMap<Box<str>, u64>,
        config: &VocabConfig,
        source: &str,
    ) -> Result<Self> {
        config.validate()?;
        let mut special_counts = vec![0u64; config.specials.len()];
        let mut rest: Vec<(Box<str>, u64)> = Vec::with_capacity(counts.len());
        for (token, count) in counts {
            match config.specials.iter().position(|s| **s == *token) {
                Some(i) => special_counts[i] += count,
                None => rest.push((token, count)),
            }
        }
        if rest.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "empty corpus: {source} holds no tokens (besides special tokens) to build a vocabulary from"
            )));
        }
        let max_count = rest.iter().map(|(_, c)| *c).max().unwrap_or(0);
        if config.min_count > max_count {
            return Err(Error::InvalidArgument(format!(
                "min_count {} is above every token count (the most frequent token occurs {max_count} times); lower min_count",
                config.min_count
            )));
        }
        rest.retain(|(_, c)| *c >= config.min_count);
        rest.sort_unstable_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| a.0.as_bytes().cmp(b.0.as_bytes()))
        });
        if let Some(max) = config.max_size {
            rest.truncate(max - config.specials.len());
        }
        let entries = config
            .specials
            .iter()
            .cloned()
            .zip(special_counts)
            .chain(rest.into_iter().map(|(t, c)| (t.into_string(), c)))
            .collect();
        Vocab::from_entries(entries, config.specials.len())
    }

    /// The number of ids.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether there is no id at all (never true for a built vocabulary).
    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// The id of `token`, if it is in the vocabulary.
    #[inline]
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.table.get(token)
    }

    /// The token of `id`, if `id < len()`.
    pub fn id_to_token(&self, id: u32) -> Option<&str> {
        self.table.token(id as usize)
    }

    /// The count of `id` (for specials: how often they occurred in the counted text).
    pub fn count(&self, id: u32) -> Option<u64> {
        self.counts.get(id as usize).copied()
    }

    /// The tokens in id order.
    pub fn tokens(&self) -> Vec<&str> {
        (0..self.len())
            .filter_map(|i| self.table.token(i))
            .collect()
    }

    /// The counts in id order.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The special tokens (ids `0..n`), in order.
    pub fn specials(&self) -> Vec<&str> {
        (0..self.n_specials)
            .filter_map(|i| self.table.token(i))
            .collect()
    }

    /// The number of special tokens.
    pub fn n_specials(&self) -> usize {
        self.n_specials
    }

    /// The id of `<unk>`, if it is one of the specials.
    pub fn unk_id(&self) -> Option<u32> {
        self.unk
    }

    /// Whether `id` is one of the specials.
    pub fn is_special(&self, id: u32) -> bool {
        (id as usize) < self.n_specials
    }
}

#[cfg(test)]
mod tests;
