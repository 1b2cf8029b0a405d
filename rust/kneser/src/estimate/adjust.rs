//! Stage 2: adjusted counts, count-of-counts and prune marks (lmplz's `adjust_counts`).
//!
//! Input: the top-order windows `[w0 .. w(N-1) | count]` in [`KeyOrder::Suffix`](crate::sort::KeyOrder::Suffix), one per
//! distinct window. A window is left-padded with `<s>`; the n-gram it stands for starts at its
//! last `<s>` (a real n-gram holds `<s>` only first).
//!
//! Output: for every order k, the n-grams of order k in suffix order as
//! `[w0 .. w(k-1) | adjusted count u64]`, with [`PRUNED`] set in the count of pruned n-grams.
//! The adjusted count (Kneser and Ney 1995; Chen and Goodman 1998, sec. 3.3) of an order-k
//! n-gram is its raw count at the top order and for n-grams starting with `<s>` (which cannot be
//! extended to the left), and otherwise the number of distinct words seen before it. In suffix
//! order every n-gram's left extensions are contiguous, so one pass with one open group per
//! order computes all of them. Count-of-counts n1..n4 per order are collected on the way, over
//! all n-grams (pruning does not change discounts).
//!
//! lmplz's end-of-stream rule (KenLM `lm/builder/adjust_counts.cc`, the flush after its main
//! loop): when the stream ends, the last n-gram still held for each order enters the
//! count-of-counts with its raw count instead of its adjusted count. Its output keeps the
//! adjusted count, so only n1..n4 (and the discounts) see the difference. The top order and
//! n-grams starting with `<s>` use raw counts anyway. It shows when the last word in suffix
//! order (the newest word) has raw and adjusted counts in different buckets, as in
//! `tests/data/lmplz/lastword.txt`. lmplz's block boundaries (its `CollapseStream`) change no
//! statistic, so there is no other such rule.
//!
//! Pruning (lmplz's `--prune`, `--limit_vocab_file`): an n-gram is pruned when its raw count
//! (the summed counts of the windows ending in it) is at or below its order's threshold, or
//! when it holds a word outside the allowed vocabulary. The unigrams `<s>`, `</s>`, `<unk>` are
//! never pruned.
//!
//! Memory: one record per order, plus the write buffers of the N output files.

use super::{BOS, EOS};
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::sort::{get_u64, set_u64, RecordWriter, Run, SortedStream, TempDir};

/// Bit set in an adjusted count when the n-gram is pruned.
pub const PRUNED: u64 = 1 << 63;

/// Per-order statistics gathered by [`adjust_counts`].
#[derive(Debug, Clone, Default)]
pub struct OrderStats {
    /// `n[c]` = number of n-grams with adjusted count c, for c in 1..=4 (index 0 unused).
    pub count_of_counts: [u64; 5],
    /// N-grams of this order before pruning.
    pub total: u64,
    /// N-grams of this order kept after pruning.
    pub kept: u64,
}

/// What [`adjust_counts`] returns: one sorted file per order and the statistics.
pub struct Adjusted {
    /// `files[k-1]` holds the order-k n-grams in suffix order.
    pub files: Vec<Run>,
    /// `stats[k-1]` for order k.
    pub stats: Vec<OrderStats>,
}

/// How pruning is decided.
pub struct PruneRule<'a> {
    /// Threshold per order (index k-1); 0 keeps all.
    pub thresholds: Vec<u64>,
    /// `allowed[id]`: whether the word may appear in the model; `None` allows every word.
    pub allowed: Option<&'a [bool]>,
}

impl PruneRule<'_> {
    fn pruned(&self, gram: &[u32], raw: u64) -> bool {
        let k = gram.len();
        if k == 1 && gram[0] <= EOS {
            return false;
        }
        if raw <= self.thresholds[k - 1] {
            return true;
        }
        match self.allowed {
            Some(a) => gram
                .iter()
                .any(|&w| !a.get(w as usize).copied().unwrap_or(false)),
            None => false,
        }
    }
}

struct Group {
    raw: u64,
    adjusted: u64,
}

/// Where [`adjust_counts`] reads the windows: a sorted stream, or the records of one held in
/// memory, which several passes can read at once.
trait Windows {
    fn next_window(&mut self) -> Result<Option<&[u32]>>;
}

impl Windows for SortedStream {
    #[inline]
    fn next_window(&mut self) -> Result<Option<&[u32]>> {
        self.next()
    }
}

/// The windows of a buffer of records of `width` words, in order.
struct Records<'a> {
    words: &'a [u32],
    width: usize,
}

impl Windows for Records<'_> {
    #[inline]
    fn next_window(&mut self) -> Result<Option<&[u32]>> {
        if self.words.len() < self.width {
            return Ok(None);
        }
        let (record, rest) = self.words.split_at(self.width);
        self.words = rest;
        Ok(Some(record))
    }
}

/// What one pass of [`adjust_counts`] gives for the orders it took: `files[k-1]` and
/// `stats[k-1]` are set for those orders only.
struct Pass {
    files: Vec<Option<Run>>,
    stats: Vec<OrderStats>,
}

/// Runs stage 2 over the sorted windows; see the module doc. `stream_ends`: whether the
/// corpus's suffix-sorted stream ends with these windows (lmplz's end-of-stream rule applies
/// to the last n-gram of each order); false for a partition followed by a non-empty one.
///
/// Each order's groups depend on the windows alone, not on the other orders, so windows held
/// in memory are read by two passes at once on two threads, each writing some of the orders
/// (the two orders below the top one, and the others): the same files and statistics as one
/// pass writing all (both passes compare every window with the one before it, so the stage
/// takes more than half as long).
pub fn adjust_counts(
    windows: &mut SortedStream,
    order: usize,
    rule: &PruneRule<'_>,
    stream_ends: bool,
    temp: &TempDir,
    cancel: &Cancel,
) -> Result<Adjusted> {
    let n = order;
    let width = windows.width();
    let pass = |source: &mut Records<'_>, take: &dyn Fn(usize) -> bool| {
        adjust_pass(source, n, take, rule, stream_ends, temp, cancel)
    };
    let passes = match windows.rest_in_memory() {
        Some(words) if n >= 2 && rayon::current_num_threads() >= 2 => {
            let records = || Records { words, width };
            // The two orders below the top one to the second pass: about as many n-grams as
            // the top order and the lowest ones (en-bench, order 5: 26.8 M and 21.9 M).
            let second = |k: usize| k + 1 == n || k + 2 == n;
            let (a, b) = rayon::join(
                || pass(&mut records(), &|k| !second(k)),
                || pass(&mut records(), &second),
            );
            vec![a?, b?]
        }
        Some(words) => vec![pass(&mut Records { words, width }, &|_| true)?],
        None => vec![adjust_pass(
            windows,
            n,
            &|_| true,
            rule,
            stream_ends,
            temp,
            cancel,
        )?],
    };
    let mut files: Vec<Option<Run>> = (0..n).map(|_| None).collect();
    let mut stats = vec![OrderStats::default(); n];
    for pass in passes {
        for (k, (file, st)) in pass.files.into_iter().zip(pass.stats).enumerate() {
            if let Some(file) = file {
                files[k] = Some(file);
                stats[k] = st;
            }
        }
    }
    let files = files
        .into_iter()
        .enumerate()
        .map(|(k, f)| f.ok_or_else(|| Error::Internal(format!("order {} was not adjusted", k + 1))))
        .collect::<Result<Vec<_>>>()?;
    Ok(Adjusted { files, stats })
}

/// One pass of [`adjust_counts`] over `windows`, writing the orders `k` for which `take(k)`.
fn adjust_pass(
    windows: &mut impl Windows,
    n: usize,
    take: &dyn Fn(usize) -> bool,
    rule: &PruneRule<'_>,
    stream_ends: bool,
    temp: &TempDir,
    cancel: &Cancel,
) -> Result<Pass> {
    let mut writers = (1..=n)
        .map(|k| {
            take(k)
                .then(|| RecordWriter::create(temp, k + 2))
                .transpose()
        })
        .collect::<Result<Vec<_>>>()?;
    let mut stats = vec![OrderStats::default(); n];
    let mut groups: Vec<Group> = (0..=n)
        .map(|_| Group {
            raw: 0,
            adjusted: 0,
        })
        .collect();
    let mut prev: Vec<u32> = vec![0; n];
    let mut have_prev = false;
    let mut out = vec![0u32; n + 2];
    let mut seen: u64 = 0;

    let mut emit = |k: usize,
                    gram_end: &[u32],
                    group: &Group,
                    at_end: bool,
                    writers: &mut Vec<Option<RecordWriter>>,
                    stats: &mut Vec<OrderStats>|
     -> Result<()> {
        let Some(writer) = writers[k - 1].as_mut() else {
            return Ok(());
        };
        // gram_end is the whole window; the order-k n-gram is its last k words.
        let gram = &gram_end[n - k..];
        // Not a real n-gram if <s> appears after its first word (padding).
        if gram.len() > 1 && gram[1] == BOS {
            return Ok(());
        }
        let adjusted = if k == n || gram[0] == BOS {
            group.raw
        } else {
            group.adjusted
        };
        // lmplz's end-of-stream rule: the n-gram each lower order still holds when the stream
        // ends enters the count-of-counts with its raw count (its probability keeps the
        // adjusted count).
        let counted = if at_end { group.raw } else { adjusted };
        let st = &mut stats[k - 1];
        st.total += 1;
        if (1..=4).contains(&counted) {
            st.count_of_counts[counted as usize] += 1;
        }
        let mut count = adjusted;
        if rule.pruned(gram, group.raw) {
            count |= PRUNED;
        } else {
            st.kept += 1;
        }
        out[..k].copy_from_slice(gram);
        set_u64(&mut out[k..k + 2], count);
        writer.write(&out[..k + 2])
    };

    while let Some(rec) = windows.next_window()? {
        seen += 1;
        if seen.is_multiple_of(1 << 16) {
            cancel.check()?;
        }
        let count = get_u64(&rec[n..]);
        let key = &rec[..n];
        // Length of the common suffix with the previous window.
        let same = if have_prev {
            key.iter()
                .rev()
                .zip(prev.iter().rev())
                .take_while(|(a, b)| a == b)
                .count()
        } else {
            0
        };
        if have_prev {
            for k in (same + 1..=n).rev() {
                emit(k, &prev, &groups[k], false, &mut writers, &mut stats)?;
            }
        }
        for g in groups.iter_mut().take(n + 1).skip(same + 1) {
            g.raw = 0;
            g.adjusted = 0;
        }
        // A new (j+1)-suffix is a new left extension of the j-gram.
        for g in groups.iter_mut().take(n).skip(same.max(1)) {
            g.adjusted += 1;
        }
        for g in groups.iter_mut().skip(1) {
            g.raw += count;
        }
        prev.copy_from_slice(key);
        have_prev = true;
    }
    if have_prev {
        for k in (1..=n).rev() {
            emit(k, &prev, &groups[k], stream_ends, &mut writers, &mut stats)?;
        }
    }
    let files = writers
        .into_iter()
        .map(|w| w.map(RecordWriter::finish).transpose())
        .collect::<Result<Vec<_>>>()?;
    Ok(Pass { files, stats })
}
