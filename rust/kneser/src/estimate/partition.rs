//! Partitioned merge of count files, for estimating on a cluster (`kneser.ray`).
//!
//! Input: the count files of the shards of one corpus, in corpus order (see
//! [`super::counts_file`]). The merge that [`super::counts_file::read_counts`] does on one node
//! is split into steps that can run on different machines:
//!
//! 1. [`merge_vocabularies`] reads only the vocabularies and writes the *vocabulary file*: a count
//!    file holding the merged vocabulary (the first-appearance order of the concatenated
//!    corpus: the first shard's words, then the second's new words, ...), the total tokens and
//!    no records.
//! 2. [`last_word_histogram`] (one shard at a time) counts a shard's windows per merged id of
//!    their last word, so that key ranges of about equal size can be chosen.
//! 3. [`merge_partition`] (one key range `[lo, hi)` at a time, in parallel) reads every shard,
//!    maps its ids onto the merged vocabulary, keeps the windows whose last word's merged id is
//!    in the range, and combines and sorts them in suffix order into a *partition file*: a count
//!    file with the merged vocabulary and those windows. The partition starting at id 0
//!    carries the corpus's token count, the others 0.
//!
//! Output: suffix order sorts by the last word first, so the partitions of consecutive ranges,
//! read in range order, are exactly the merged windows of the concatenated corpus; estimating
//! from them ([`super::Source::Counts`]) gives its model byte for byte.
//!
//! Memory: the merged vocabulary (a hash map of every word) plus one shard's id map, and for
//! [`merge_partition`] the sort budget (beyond it, sorted runs spill to the temp dir).

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::count::{window_sorter, Vocabulary};
use super::counts_file::{add_counts, write_counts, CountsFile, CountsHeader};
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::sort::TempDir;

impl CountsFile {
    /// Reads the vocabulary and maps each word onto `merged` (ids of words it lacks are an
    /// error, for a shard that was not part of the vocabulary pass).
    fn map_onto(&mut self, merged: &Vocabulary, vocabulary_name: &str) -> Result<Vec<u32>> {
        let mut map = Vec::with_capacity(self.header.words as usize);
        let name = self.name.clone();
        self.for_each_word(|w| {
            let id = merged.get(w).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "{name} holds the word {:?}, missing from the vocabulary file {vocabulary_name}; \
                     make the vocabulary from the same shards",
                    String::from_utf8_lossy(w)
                ))
            })?;
            map.push(id);
            Ok(())
        })?;
        Ok(map)
    }
}

/// Reads a vocabulary file (or any count file) into a [`Vocabulary`]; returns it with the
/// file's header.
pub fn read_vocabulary(path: &Path) -> Result<(Vocabulary, CountsHeader)> {
    let mut f = CountsFile::open(path)?;
    let mut vocab = Vocabulary::with_specials();
    let mut next = 0u32;
    let name = f.name.clone();
    f.for_each_word(|w| {
        if vocab.insert(w) != next {
            return Err(Error::format(
                &name,
                0,
                format!(
                    "word {:?} listed twice (or a special out of place) in the vocabulary",
                    String::from_utf8_lossy(w)
                ),
            ));
        }
        next += 1;
        Ok(())
    })?;
    Ok((vocab, f.header))
}

fn empty_stream(
    order: usize,
    temp: &TempDir,
    cancel: &Cancel,
) -> Result<crate::sort::SortedStream> {
    window_sorter(order, 1, temp, cancel).finish()
}

/// Step 1: merges the vocabularies of `shards` (in corpus order) into a vocabulary file at
/// `output` (written atomically); returns its header (order, total tokens, merged words, 0
/// records).
///
/// Args:
///     shards: count files of the shards, in corpus order, all of one order.
///     output: the vocabulary file to write.
///     temp: a temp dir (nothing large is written there).
///
/// Example:
///     `merge_vocabularies(&[a, b], Path::new("vocab.counts"), &temp, &cancel)?`
pub fn merge_vocabularies(
    shards: &[PathBuf],
    output: &Path,
    temp: &TempDir,
    cancel: &Cancel,
) -> Result<CountsHeader> {
    if shards.is_empty() {
        return Err(Error::InvalidArgument("no count files given".into()));
    }
    let mut vocab = Vocabulary::with_specials();
    let mut order = 0;
    let mut tokens = 0u64;
    for (i, path) in shards.iter().enumerate() {
        cancel.check()?;
        let mut f = CountsFile::open(path)?;
        if i == 0 {
            order = f.header.order;
        } else if f.header.order != order {
            return Err(different_orders(path, f.header.order, order));
        }
        tokens += f.header.tokens;
        f.for_each_word(|w| {
            vocab.insert(w);
            Ok(())
        })?;
    }
    write_counts(
        output,
        &vocab,
        empty_stream(order, temp, cancel)?,
        order,
        tokens,
        cancel,
    )
}

fn different_orders(path: &Path, got: usize, want: usize) -> Error {
    Error::InvalidArgument(format!(
        "count files of different orders cannot be merged: {} has order {got}, the vocabulary {want}",
        path.display()
    ))
}

/// Step 2: the number of windows of `shard` per merged id of their last word (a vector as long
/// as the merged vocabulary), for choosing partition ranges of about equal size.
///
/// Args:
///     shard: a count file that took part in the vocabulary pass.
///     vocabulary: the vocabulary file from [`merge_vocabularies`].
///
/// Example:
///     `let h = last_word_histogram(&a, Path::new("vocab.counts"), &cancel)?;`
pub fn last_word_histogram(shard: &Path, vocabulary: &Path, cancel: &Cancel) -> Result<Vec<u64>> {
    let (merged, vh) = read_vocabulary(vocabulary)?;
    let mut f = CountsFile::open(shard)?;
    if f.header.order != vh.order {
        return Err(different_orders(shard, f.header.order, vh.order));
    }
    let map = f.map_onto(&merged, &vocabulary.display().to_string())?;
    let n = f.header.order;
    let mut hist = vec![0u64; merged.len()];
    let mut bytes = vec![0u8; (n + 2) * 4];
    let mut rec = vec![0u32; n + 2];
    for i in 0..f.header.records {
        if i % (1 << 20) == 0 {
            cancel.check()?;
        }
        f.record(&mut bytes, &mut rec)?;
        let last = rec[n - 1];
        let id = *map.get(last as usize).ok_or_else(|| f.bad_id(last))?;
        hist[id as usize] += 1;
    }
    Ok(hist)
}

/// Step 3: the windows of all `shards` whose last word's merged id is in `range`, ids mapped
/// onto the merged vocabulary, combined and sorted in suffix order, written to `output` as a
/// count file with the merged vocabulary (atomically). The partition whose range starts at 0
/// carries the corpus's tokens. Returns its header.
///
/// Args:
///     shards: the count files given to [`merge_vocabularies`], in the same order.
///     vocabulary: the vocabulary file.
///     range: merged ids of the last word to keep, `lo..hi`.
///     output: the partition file to write.
///     memory: the sort budget in bytes.
///     temp: where sorted runs spill.
///
/// Example:
///     `merge_partition(&[a, b], voc, 0..1000, Path::new("p0.counts"), 1 << 30, &temp, &cancel)?`
pub fn merge_partition(
    shards: &[PathBuf],
    vocabulary: &Path,
    range: Range<u32>,
    output: &Path,
    memory: usize,
    temp: &TempDir,
    cancel: &Cancel,
) -> Result<CountsHeader> {
    if range.is_empty() {
        // Two partitions starting at 0 would both carry the tokens.
        return Err(Error::InvalidArgument(format!(
            "empty partition range {}..{}; give ranges with lo < hi",
            range.start, range.end
        )));
    }
    let (merged, vh) = read_vocabulary(vocabulary)?;
    let vocabulary_name = vocabulary.display().to_string();
    let n = vh.order;
    let mut sorter = window_sorter(n, memory, temp, cancel);
    let mut bytes = vec![0u8; (n + 2) * 4];
    let mut rec = vec![0u32; n + 2];
    let mut tokens = 0u64;
    let mut counted = 0u64;
    for path in shards {
        let mut f = CountsFile::open(path)?;
        if f.header.order != n {
            return Err(different_orders(path, f.header.order, n));
        }
        tokens += f.header.tokens;
        let map = f.map_onto(&merged, &vocabulary_name)?;
        for i in 0..f.header.records {
            if i % (1 << 20) == 0 {
                cancel.check()?;
            }
            f.record(&mut bytes, &mut rec)?;
            let last = *map
                .get(rec[n - 1] as usize)
                .ok_or_else(|| f.bad_id(rec[n - 1]))?;
            if !range.contains(&last) {
                continue;
            }
            for w in rec[..n].iter_mut() {
                *w = *map.get(*w as usize).ok_or_else(|| f.bad_id(*w))?;
            }
            sorter.push(&rec)?;
        }
        counted = add_counts(counted, &f)?;
    }
    if tokens != vh.tokens {
        return Err(Error::InvalidArgument(format!(
            "the shards hold {tokens} tokens but the vocabulary file {vocabulary_name} was made \
             from {}; give the same shards in the same order",
            vh.tokens
        )));
    }
    let carried = if range.start == 0 { tokens } else { 0 };
    write_counts(output, &merged, sorter.finish()?, n, carried, cancel)
}

/// The task form of [`merge_vocabularies`] (`kneser.ray`'s vocabulary pass): its own temp dir
/// in `temp_parent`, removed when it returns.
pub fn vocabulary_task(
    shards: &[PathBuf],
    output: &Path,
    temp_parent: &Path,
    cancel: &Cancel,
) -> Result<CountsHeader> {
    let temp = TempDir::new_in(temp_parent)?;
    merge_vocabularies(shards, output, &temp, cancel)
}

/// The task form of [`merge_partition`] (`kneser.ray`'s merge tasks): `threads` sorting
/// threads (0: all cores), its own temp dir in `temp_parent`, removed when it returns.
#[allow(clippy::too_many_arguments)]
pub fn partition_task(
    shards: &[PathBuf],
    vocabulary: &Path,
    range: Range<u32>,
    output: &Path,
    memory: u64,
    temp_parent: &Path,
    threads: usize,
    cancel: &Cancel,
) -> Result<CountsHeader> {
    let config = super::EstimateConfig {
        memory,
        threads,
        ..Default::default()
    };
    super::pipeline::in_pool(&config, || {
        let temp = TempDir::new_in(temp_parent)?;
        let memory = usize::try_from(memory).unwrap_or(usize::MAX);
        merge_partition(shards, vocabulary, range, output, memory, &temp, cancel)
    })
}

#[cfg(test)]
#[path = "partition_tests.rs"]
mod tests;
