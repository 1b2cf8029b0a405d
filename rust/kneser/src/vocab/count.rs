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

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::cancel::Cancel;
use crate::error::{Error, IoContext, Location, Result};
#[cfg(doc)]
use crate::io::LineReader;
use crate::io::{display_name, open_input};
use crate::text::tokenize::Tokenizer;

use super::{Vocab, VocabConfig};

/// The size of one batch of lines, in bytes of text, read from a file before it is processed.
pub const BATCH_BYTES: usize = 4 << 20;

/// A map from token to count, hashed with FxHash (fast, not DoS-resistant: the keys are the
/// user's own corpus).
pub type Counts = FxHashMap<Box<str>, u64>;

/// Lines read from one file: their text back to back, each followed by one separator byte
/// (the file's `\n`; the last line may have none), and where each ends.
#[derive(Debug, Default)]
pub struct LineBatch {
    /// The lines' text, each line followed by one byte that is not part of it.
    pub text: String,
    /// `ends[i]` is the end of line `i` in `text`, its separator excluded (line `i` starts at
    /// `ends[i - 1] + 1`, or 0).
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
        let start = if i == 0 { 0 } else { self.ends[i - 1] + 1 };
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
    consume: impl FnMut(&LineBatch) -> Result<()>,
) -> Result<()> {
    for_each_block(paths, BATCH_BYTES, cancel, consume)
}

/// [`for_each_batch`] with batches of about `block` bytes (tests use small ones).
pub(crate) fn for_each_block(
    paths: &[PathBuf],
    block: usize,
    cancel: &Cancel,
    mut consume: impl FnMut(&LineBatch) -> Result<()>,
) -> Result<()> {
    let (tx, rx) = mpsc::sync_channel::<Result<LineBatch>>(2);
    let (back_tx, back_rx) = mpsc::sync_channel::<LineBatch>(4);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for (file_index, path) in paths.iter().enumerate() {
                if let Err(e) = read_file(path, file_index, block, cancel, &tx, &back_rx) {
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
///
/// A batch is one block of about `block` bytes ([`BATCH_BYTES`]) read straight into its
/// buffer and cut after its last `\n` (the rest starts the next block), checked as UTF-8 as a
/// whole and split at its `\n`s with `memchr`: one copy of the bytes, not the two (and a check per line) of reading
/// line by line. Lines are the file's `\n`-separated lines (a `\r` before the `\n` is kept;
/// text after the last `\n` is a last line), as [`LineReader`] gives them.
fn read_file(
    path: &Path,
    file_index: usize,
    block: usize,
    cancel: &Cancel,
    tx: &mpsc::SyncSender<Result<LineBatch>>,
    recycled: &mpsc::Receiver<LineBatch>,
) -> Result<()> {
    let name = display_name(path);
    let mut input = open_input(path)?;
    let buffer = |first_line| match recycled.try_recv() {
        Ok(mut batch) => {
            let bytes = std::mem::take(&mut batch.text).into_bytes();
            batch.ends.clear();
            batch.file_index = file_index;
            batch.source.clone_from(&name);
            batch.first_line = first_line;
            (batch, bytes)
        }
        Err(_) => (
            LineBatch {
                text: String::new(),
                ends: Vec::new(),
                file_index,
                source: name.clone(),
                first_line,
            },
            Vec::with_capacity(block + (block >> 3)),
        ),
    };
    let mut carry: Vec<u8> = Vec::new();
    let mut first_line = 1u64;
    loop {
        cancel.check()?;
        let (mut batch, mut bytes) = buffer(first_line);
        // `bytes` keeps the length it had (its bytes are overwritten, never cleared), so a
        // recycled buffer is not zeroed again; it is cut to the block's length below.
        let mut filled = carry.len();
        if bytes.len() < filled + block {
            bytes.resize(filled + block, 0);
        }
        bytes[..filled].copy_from_slice(&carry);
        carry.clear();
        // Fill the buffer, then cut after its last `\n`; a buffer without one grows.
        let mut searched = 0;
        let mut at_end = false;
        let cut = loop {
            if filled == bytes.len() {
                match memchr::memrchr(b'\n', &bytes[searched..]) {
                    Some(p) => break searched + p + 1,
                    None => {
                        searched = filled;
                        bytes.resize(2 * filled.max(1), 0);
                    }
                }
            }
            match input.read(&mut bytes[filled..]) {
                Ok(0) => {
                    at_end = true;
                    break filled;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e).at_path("cannot read", &name),
            }
        };
        carry.extend_from_slice(&bytes[cut..filled]);
        bytes.truncate(cut);
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', &bytes) {
            batch.ends.push(nl);
            start = nl + 1;
        }
        if start < bytes.len() {
            batch.ends.push(bytes.len());
        }
        batch.text = String::from_utf8(bytes).map_err(|e| {
            let bad = e.utf8_error().valid_up_to();
            let line = batch.ends.partition_point(|&end| end < bad);
            let line_start = if line == 0 {
                0
            } else {
                batch.ends[line - 1] + 1
            };
            Error::InvalidUtf8 {
                at: Location::new(&name, first_line + line as u64),
                byte_offset: bad - line_start,
            }
        })?;
        first_line += batch.ends.len() as u64;
        if !batch.is_empty() && tx.send(Ok(batch)).is_err() {
            return Ok(());
        }
        if at_end {
            return Ok(());
        }
    }
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
