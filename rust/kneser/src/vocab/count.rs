//! Parallel token counting, and the batched line reader the vocabulary stages share.
//!
//! Input: text lines, from in-memory strings ([`TokenCounter::add_texts`]) or from files
//! ([`TokenCounter::add_files`], read through [`crate::io::open_input`] and
//! [`crate::io::LineReader`]; invalid UTF-8 is an error naming the file and line). Each line is
//! split by a [`Tokenizer`]. Output: a map token -> occurrences (no order), turned into a
//! [`Vocab`] by [`TokenCounter::into_vocab`].
//!
//! Parallelism: a batch of lines is cut into one contiguous share per rayon thread; each share
//! is counted into that thread's own FxHash map, kept across batches (a token is allocated once
//! per thread, never per occurrence), and the maps are summed at the end. Counts are sums, so
//! the result does not depend on the thread count. Reading runs on its own thread, ahead.
//!
//! Memory: the distinct tokens with their counts, once per thread at most, plus at most four
//! line batches of about [`BATCH_BYTES`] each (two queued, one being read, one being counted).

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::io::{display_name, open_input, LineReader};
use crate::text::tokenize::Tokenizer;

use super::{Vocab, VocabConfig};

/// The size of one batch of lines, in bytes of text, read from a file before it is processed.
pub const BATCH_BYTES: usize = 4 << 20;

/// A map from token to count, hashed with FxHash (fast, not DoS-resistant: the keys are the
/// user's own corpus).
pub type Counts = FxHashMap<Box<str>, u64>;

/// Lines read from one file: their text back to back, and where each ends.
#[derive(Debug, Default)]
pub struct LineBatch {
    /// The lines' text, concatenated without separators.
    pub text: String,
    /// `ends[i]` is the end of line `i` in `text` (line `i` starts at `ends[i - 1]`, or 0).
    pub ends: Vec<usize>,
    /// Index of the file in the list being read.
    pub file_index: usize,
    /// The file's name for messages.
    pub source: String,
    /// 1-based number of the first line of the batch in its file.
    pub first_line: u64,
}

impl LineBatch {
    /// The number of lines.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the batch holds no line.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Line `i` of the batch.
    pub fn line(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    /// All lines, in order.
    pub fn lines(&self) -> Vec<&str> {
        (0..self.len()).map(|i| self.line(i)).collect()
    }
}

/// Reads `paths` in batches of lines on a reader thread and calls `consume` on each batch, in
/// file and line order, on the calling thread. Stops at the first error (of reading, of
/// `consume`, or a cancellation) and returns it. Consumed batches go back to the reader, which
/// refills their buffers (fresh pages cost the kernel a clearing each, as much as reading them).
pub fn for_each_batch(
    paths: &[PathBuf],
    cancel: &Cancel,
    mut consume: impl FnMut(&LineBatch) -> Result<()>,
) -> Result<()> {
    let (tx, rx) = mpsc::sync_channel::<Result<LineBatch>>(2);
    let (back_tx, back_rx) = mpsc::sync_channel::<LineBatch>(4);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for (file_index, path) in paths.iter().enumerate() {
                if let Err(e) = read_file(path, file_index, cancel, &tx, &back_rx) {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        });
        let mut outcome = Ok(());
        // `rx` is moved into the loop: leaving it early drops the receiver, so a reader blocked
        // on a full channel wakes up (its send fails) and the scope can join it.
        for batch in rx {
            outcome = batch.and_then(|b| {
                cancel.check()?;
                consume(&b)?;
                let _ = back_tx.try_send(b);
                Ok(())
            });
            if outcome.is_err() {
                break;
            }
        }
        outcome
    })
}

/// Reads one file into batches sent on `tx`; returns early (Ok) when the receiver is gone.
fn read_file(
    path: &Path,
    file_index: usize,
    cancel: &Cancel,
    tx: &mpsc::SyncSender<Result<LineBatch>>,
    recycled: &mpsc::Receiver<LineBatch>,
) -> Result<()> {
    let name = display_name(path);
    let mut reader = LineReader::new(open_input(path)?, name.clone());
    let fresh = |first_line| match recycled.try_recv() {
        Ok(mut batch) => {
            batch.text.clear();
            batch.ends.clear();
            batch.file_index = file_index;
            batch.source.clone_from(&name);
            batch.first_line = first_line;
            batch
        }
        Err(_) => LineBatch {
            text: String::with_capacity(BATCH_BYTES + (BATCH_BYTES >> 3)),
            ends: Vec::new(),
            file_index,
            source: name.clone(),
            first_line,
        },
    };
    let mut batch = fresh(1);
    while let Some(line) = reader.next_line()? {
        let number = line.number;
        batch.text.push_str(line.as_str(&name)?);
        batch.ends.push(batch.text.len());
        if batch.text.len() >= BATCH_BYTES {
            cancel.check()?;
            let full = std::mem::replace(&mut batch, fresh(number + 1));
            if tx.send(Ok(full)).is_err() {
                return Ok(());
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(Ok(batch));
    }
    Ok(())
}

/// Counts tokens over any number of calls, in parallel within each call.
///
/// Each of rayon's threads counts a contiguous share of every batch into its own map, kept
/// across calls (so a frequent token is allocated once per thread, not once per batch); the
/// maps are summed when the counts are taken out. Memory: at most one entry per distinct token
/// per thread.
///
/// Example:
/// ```
/// use kneser::text::tokenize::Tokenizer;
/// let mut c = kneser::vocab::TokenCounter::new();
/// c.add_texts(&Tokenizer::whitespace(), &["a b a", "b a"]);
/// assert_eq!(c.get("a"), 3);
/// assert_eq!((c.total(), c.distinct()), (5, 2));
/// ```
#[derive(Debug, Default)]
pub struct TokenCounter {
    shards: Vec<Counts>,
    total: u64,
    lines: u64,
}

impl TokenCounter {
    /// An empty counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts the tokens of each text (one line, or any string) in parallel.
    pub fn add_texts<S: AsRef<str> + Sync>(&mut self, tokenizer: &Tokenizer, texts: &[S]) {
        let threads = rayon::current_num_threads().max(1);
        if self.shards.len() < threads {
            self.shards.resize_with(threads, Counts::default);
        }
        let chunk = texts.len().div_ceil(threads).max(1);
        let added: u64 = self
            .shards
            .par_iter_mut()
            .zip(texts.par_chunks(chunk))
            .map(|(counts, texts)| {
                let mut n = 0u64;
                for text in texts {
                    tokenizer.for_each_token(text.as_ref(), &mut |t| {
                        n += 1;
                        bump(counts, t);
                    });
                }
                n
            })
            .sum();
        self.total += added;
        self.lines += texts.len() as u64;
    }

    /// Counts the tokens of every line of `paths` (plain or compressed; `-` is stdin).
    ///
    /// Errors: a missing or unreadable file, invalid UTF-8 (naming file and line), or
    /// `Interrupted` once `cancel` is set.
    pub fn add_files(
        &mut self,
        tokenizer: &Tokenizer,
        paths: &[PathBuf],
        cancel: &Cancel,
    ) -> Result<()> {
        for_each_batch(paths, cancel, |batch| {
            let lines = batch.lines();
            self.add_texts(tokenizer, &lines);
            Ok(())
        })
    }

    /// The occurrences of `token` counted so far.
    pub fn get(&self, token: &str) -> u64 {
        self.shards.iter().filter_map(|c| c.get(token)).sum()
    }

    /// The number of token occurrences counted.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The number of distinct tokens.
    pub fn distinct(&self) -> usize {
        let mut seen: rustc_hash::FxHashSet<&str> = rustc_hash::FxHashSet::default();
        for counts in &self.shards {
            seen.extend(counts.keys().map(|k| &**k));
        }
        seen.len()
    }

    /// The number of texts (lines) counted.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// The counts, token -> occurrences.
    pub fn into_counts(self) -> Counts {
        let mut shards = self.shards;
        shards.sort_by_key(|c| std::cmp::Reverse(c.len()));
        let mut shards = shards.into_iter();
        let mut all = shards.next().unwrap_or_default();
        for counts in shards {
            for (token, count) in counts {
                *all.entry(token).or_insert(0) += count;
            }
        }
        all
    }

    /// The vocabulary these counts give under `config`; `source` names the input in errors.
    pub fn into_vocab(self, config: &VocabConfig, source: &str) -> Result<Vocab> {
        Vocab::from_counts(self.into_counts(), config, source)
    }
}

/// Adds one to `token`'s count, allocating the key only on its first occurrence.
#[inline]
fn bump(counts: &mut Counts, token: &str) {
    if let Some(c) = counts.get_mut(token) {
        *c += 1;
    } else {
        counts.insert(Box::from(token), 1);
    }
}

/// Builds a vocabulary from files: counts every line of `paths` and cuts the counts under
/// `config` (see [`Vocab::from_counts`]).
///
/// Example:
/// ```no_run
/// use kneser::{text::tokenize::Tokenizer, vocab::{build_from_files, VocabConfig}, Cancel};
/// let v = build_from_files(&["corpus.txt".into()], &Tokenizer::whitespace(),
///                          &VocabConfig::default(), &Cancel::new()).unwrap();
/// ```
pub fn build_from_files(
    paths: &[PathBuf],
    tokenizer: &Tokenizer,
    config: &VocabConfig,
    cancel: &Cancel,
) -> Result<Vocab> {
    config.validate()?;
    if paths.is_empty() {
        return Err(Error::InvalidArgument(
            "no input files given to build a vocabulary from".into(),
        ));
    }
    let mut counter = TokenCounter::new();
    counter.add_files(tokenizer, paths, cancel)?;
    let names: Vec<String> = paths.iter().map(|p| display_name(p)).collect();
    Ok(counter
        .into_vocab(config, &names.join(", "))?
        .with_inputs(paths.to_vec()))
}
