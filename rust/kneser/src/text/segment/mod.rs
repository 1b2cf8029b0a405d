//! Dictionary-based Chinese word segmentation: jieba's algorithm with its HMM off.
//!
//! Input: text (`&str`) and a dictionary in jieba's format (`word freq [tag]` a line), to which
//! words can be added (`add_word`, a user dictionary) or deleted. Output: the words of the text,
//! in order, passed one by one to a callback, or collected. Memory: the dictionary's prefix trie
//! (about 30 MB for jieba's own `dict.txt`), plus per thread a scratch of a few words per
//! character of the longest Han block cut so far (dropped after a block above 64 Ki characters).
//!
//! The output equals `list(jieba.cut(text, HMM=False))` in accurate mode and
//! `list(jieba.cut(text, cut_all=True))` in full mode, for the same dictionary: the same prefix
//! table, the same word DAG, the same `f64` log probabilities (`ln(freq) - ln(total)`, summed in
//! jieba's order so that ties break identically), the same handling of text outside Han blocks.
//! In short: the text is split into runs of `[\u4E00-\u9FD5a-zA-Z0-9+#&._%-]` ("Han blocks",
//! cut on the dictionary) and the runs between them (whitespace kept as words, `\r\n` as one);
//! the private `cut` module states the rules in full. In accurate mode the words concatenate
//! back to the input.
//!
//! The contract for other modules (the tokenizer may use a segmenter as a mode): [`Segmenter`] is
//! `Send + Sync`, meant to be shared in an `Arc`; [`Segmenter::for_each_word`] and
//! [`Segmenter::for_each_word_full`] take `&self` and are deterministic:
//!
//! ```
//! use std::sync::Arc;
//! use kneser::text::segment::Segmenter;
//!
//! let mut seg = Segmenter::new();
//! seg.add_word("北京", Some(10)).unwrap();
//! seg.add_word("大学", Some(10)).unwrap();
//! let seg = Arc::new(seg);
//! let mut words = Vec::new();
//! seg.for_each_word("北京大学abc", &mut |w: &str| words.push(w.to_string()));
//! assert_eq!(words, ["北京", "大学", "abc"]);
//! ```

mod cut;
mod format;
mod jieba_api;
mod stream;
mod trie;

use std::cell::RefCell;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

pub use jieba_api::UserDictLine;
pub use stream::{JoinOptions, SegmentStats, WordBatch, WordList};

use crate::error::{Error, Result};
use crate::io::{display_name, open_input, LineReader};
use crate::text::tokenize::Tokenizer;
use cut::{Cutter, Scratch};
use format::{is_py_space, parse_main_line};
use trie::PrefixDict;

/// Blocks longer than this many characters do not keep their scratch buffers afterwards.
const KEEP_SCRATCH_CHARS: usize = 1 << 16;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A word segmenter over a jieba-format dictionary.
///
/// Example:
/// ```
/// use kneser::text::segment::Segmenter;
///
/// let mut seg = Segmenter::new();
/// for (w, f) in [("我", 100), ("爱", 50), ("北京", 30), ("天安门", 20), ("天安", 1)] {
///     seg.add_word(w, Some(f)).unwrap();
/// }
/// assert_eq!(seg.cut("我爱北京天安门!", false), ["我", "爱", "北京", "天安门", "!"]);
/// assert_eq!(seg.cut("天安门", true), ["天安", "天安门"]);
/// ```
#[derive(Debug, Clone)]
pub struct Segmenter {
    dict: PrefixDict,
    /// jieba's `total`: the sum of every frequency ever given (never decreased).
    total: u64,
    /// `ln(total as f64)`, as `math.log(total)` computes it.
    log_total: f64,
}

impl Default for Segmenter {
    fn default() -> Self {
        Self::new()
    }
}

impl Segmenter {
    /// A segmenter with an empty dictionary (every Han character is then its own word).
    pub fn new() -> Self {
        Segmenter {
            dict: PrefixDict::new(),
            total: 0,
            log_total: f64::NEG_INFINITY,
        }
    }

    /// Reads a main dictionary (jieba's `dict.txt` format) from `path` (plain, gzip, xz or zstd).
    ///
    /// Args:
    ///     path: the dictionary; each line `word freq [tag]`, fields separated by one space.
    ///
    /// Errors: [`Error::NotFound`], [`Error::Io`], or [`Error::Format`] naming the line of a
    /// malformed entry (missing or non-integer frequency, invalid UTF-8). Blank lines are
    /// skipped (jieba rejects them).
    pub fn from_path(path: &Path) -> Result<Self> {
        let reader = open_input(path)?;
        Self::from_reader(reader, &display_name(path))
    }

    /// Reads a main dictionary from `reader`; `name` appears in error messages.
    pub fn from_reader(reader: impl BufRead, name: &str) -> Result<Self> {
        let mut seg = Segmenter::new();
        let mut lines = LineReader::new(reader, name);
        while let Some(line) = lines.next_line()? {
            let number = line.number;
            match parse_main_line(line.bytes) {
                Ok(Some((word, freq))) => seg.insert(word, freq, name, number)?,
                Ok(None) => {}
                Err(message) => return Err(Error::format(name, number, message)),
            }
        }
        Ok(seg)
    }

    /// Adds a user dictionary (jieba's `load_userdict` format) from `path`.
    ///
    /// Each line is `word [freq] [tag]`: the word is the shortest prefix of the stripped line
    /// after which only ` digits` and/or ` lowercase-letters` remain, so words may hold spaces.
    /// A missing frequency is replaced by [`Segmenter::suggest_freq`]. Leading byte-order marks
    /// and blank lines are skipped. Tags are accepted and ignored.
    pub fn load_userdict(&mut self, path: &Path) -> Result<()> {
        let reader = open_input(path)?;
        self.load_userdict_reader(reader, &display_name(path))
    }

    /// [`Segmenter::load_userdict`] from a reader; `name` appears in error messages.
    pub fn load_userdict_reader(&mut self, reader: impl BufRead, name: &str) -> Result<()> {
        let mut lines = LineReader::new(reader, name);
        while let Some(line) = lines.next_line()? {
            self.add_userdict_line(UserDictLine::Bytes(line.bytes), name, line.number)?;
        }
        Ok(())
    }

    /// Adds `word` with frequency `freq`, or with [`Segmenter::suggest_freq`] when `None`, as
    /// jieba's `add_word` does: the word's frequency is replaced and the total grows by `freq`.
    /// Returns the frequency used.
    ///
    /// Args:
    ///     word: a non-empty word.
    ///     freq: its frequency; `None` for one just high enough for the word to be cut whole.
    ///
    /// Errors: [`Error::InvalidArgument`] for an empty word or a total beyond `u64::MAX`.
    pub fn add_word(&mut self, word: &str, freq: Option<u64>) -> Result<u64> {
        let freq = match freq {
            Some(f) => f,
            None => self.suggest_freq(word),
        };
        self.insert(word, freq, "", 0)?;
        Ok(freq)
    }

    /// Deletes `word` (sets its frequency to 0, as jieba's `del_word` does; its characters may
    /// still form other words).
    pub fn del_word(&mut self, word: &str) -> Result<()> {
        self.insert(word, 0, "", 0)
    }

    fn insert(&mut self, word: &str, freq: u64, source: &str, line: u64) -> Result<()> {
        if word.is_empty() {
            return Err(Error::InvalidArgument(
                "cannot add an empty word to the dictionary".into(),
            ));
        }
        self.total = self.total.checked_add(freq).ok_or_else(|| {
            let message = format!("the total frequency exceeds {}", u64::MAX);
            if source.is_empty() {
                Error::InvalidArgument(message)
            } else {
                Error::format(source, line, message)
            }
        })?;
        self.log_total = (self.total as f64).ln();
        self.dict.set(word, freq);
        Ok(())
    }

    /// The frequency jieba's `suggest_freq(word)` gives: just enough for `word` to be cut whole.
    ///
    /// It is `max(int(P * total) + 1, freq(word))` where `P` is the product of `freq(w) / total`
    /// over the words `w` of the current accurate cut of `word` (a word absent from the table
    /// counting 1, a prefix 0) and `freq(word)` is 1 when the word is absent.
    pub fn suggest_freq(&self, word: &str) -> u64 {
        let total = self.total as f64;
        let mut p = 1.0f64;
        self.for_each_word(word, &mut |w| {
            p *= self.table_freq(w).unwrap_or(1) as f64 / total;
        });
        // Python's int() truncates; NaN (an empty dictionary) becomes 0 here.
        let joined = ((p * total) as u64).saturating_add(1);
        joined.max(self.table_freq(word).unwrap_or(1))
    }

    /// jieba's `FREQ.get(word)`: the frequency of a word, 0 for a prefix of a word (or a
    /// deleted word), `None` when the string is neither.
    pub fn table_freq(&self, word: &str) -> Option<u64> {
        self.dict.find(word).map(|n| self.dict.freq(n))
    }

    /// The sum of every frequency given so far (jieba's `total`).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Number of strings in the prefix table (every prefix of every word).
    pub fn num_prefixes(&self) -> usize {
        self.dict.len()
    }

    fn cut_with(&self, text: &str, cut_all: bool, f: &mut dyn FnMut(&str)) {
        self.for_each_word_id(text, cut_all, &mut |w, _| f(w));
    }

    /// Calls `f` with each word of `text` (full mode when `cut_all`) and the word's id in the
    /// dictionary: a nonzero number naming the string (the same string always has the same
    /// id, in this segmenter and in every clone of it, whatever words are added later: the
    /// bindings cache one Python `str` per id), or 0 for a word that is not a dictionary word
    /// (text outside Han blocks, glued ASCII, a character without any word).
    pub fn for_each_word_id(&self, text: &str, cut_all: bool, f: &mut dyn FnMut(&str, u32)) {
        let cutter = Cutter {
            dict: &self.dict,
            log_total: self.log_total,
        };
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => {
                cutter.cut(text, cut_all, &mut scratch, f);
                if scratch.capacity_chars() > KEEP_SCRATCH_CHARS {
                    *scratch = Scratch::default();
                }
            }
            // Re-entered from a callback: use a fresh scratch.
            Err(_) => cutter.cut(text, cut_all, &mut Scratch::default(), f),
        });
    }

    /// Calls `f` with each word of `text` in accurate mode (`jieba.cut(text, HMM=False)`).
    /// The words concatenate back to `text`.
    pub fn for_each_word(&self, text: &str, f: &mut dyn FnMut(&str)) {
        self.cut_with(text, false, f);
    }

    /// Calls `f` with each word of `text` in full mode (`jieba.cut(text, cut_all=True)`):
    /// overlapping words, and (as jieba) empty strings around whitespace outside Han blocks.
    pub fn for_each_word_full(&self, text: &str, f: &mut dyn FnMut(&str)) {
        self.cut_with(text, true, f);
    }

    /// The words of `text` as owned strings, in full mode when `cut_all`.
    pub fn cut(&self, text: &str, cut_all: bool) -> Vec<String> {
        let mut out = Vec::new();
        self.cut_with(text, cut_all, &mut |w| out.push(w.to_string()));
        out
    }

    /// A [`Tokenizer`] whose tokens are this segmenter's words (full mode when `cut_all`),
    /// without the words that are only whitespace (jieba keeps each space as a word) or empty;
    /// lowercasing and stopwords can then be set on it as on any tokenizer.
    ///
    /// Example:
    /// ```
    /// use std::sync::Arc;
    /// use kneser::text::segment::Segmenter;
    ///
    /// let mut seg = Segmenter::new();
    /// seg.add_word("北京", Some(10)).unwrap();
    /// let tok = Segmenter::tokenizer(&Arc::new(seg), false).with_lowercase(true);
    /// assert_eq!(tok.tokenize("去北京 OK"), ["去", "北京", "ok"]);
    /// ```
    pub fn tokenizer(seg: &Arc<Segmenter>, cut_all: bool) -> Tokenizer {
        let seg = Arc::clone(seg);
        let name = if cut_all {
            "segmenter-full"
        } else {
            "segmenter"
        };
        Tokenizer::custom(name, move |text: &str, f: &mut dyn FnMut(&str)| {
            seg.cut_with(text, cut_all, &mut |w| {
                if !w.chars().all(is_py_space) {
                    f(w);
                }
            });
        })
    }
}

#[cfg(test)]
mod tests;
