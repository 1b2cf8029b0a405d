//! Stage 4: uninterpolated probabilities and backoff masses (lmplz's `initial_probabilities`).
//!
//! Input: the order-k n-grams with adjusted counts (and prune marks) in suffix order. They are
//! resorted in [`KeyOrder::Context`] so that each context's extensions are contiguous. For a
//! context c with extensions w (Chen and Goodman 1998, eq. 17; Heafield et al. 2013, sec. 3.3):
//!
//! * `p(w | c) = (a(c w) - D(a(c w))) / sum_x a(c x)` for each kept extension, and
//! * `gamma(c) = (sum over kept D(a(c w)) + sum over pruned a(c w)) / sum_x a(c x)`, the mass
//!   left for the lower order.
//!
//! Output: the kept n-grams `[w0 .. w(k-1) | p f32 | gamma(context) f32]` resorted to suffix
//! order, and the contexts `[c0 .. c(k-2) | gamma f32]`, which come out in suffix order of the
//! (k-1)-grams, or their gammas `[gamma f32]` alone where the reader takes them in turn without
//! looking at the words ([`ContextRecords::Gammas`]). Arithmetic is f32, as in lmplz. Memory:
//! the two sort buffers (half the budget each) and one context's extensions.

use super::adjust::PRUNED;
use super::discount::Discount;
use crate::cancel::Cancel;
use crate::error::Result;
use crate::sort::{
    get_u64, set_u64, sort_block, KeyOrder, Layout, RecordWriter, Run, SortedStream, Sorter,
    SpareBuffers, TempDir,
};

/// What the contexts' file holds per context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextRecords {
    /// `[c0 .. c(k-2) | gamma]`: for a reader that matches contexts by their words.
    Keyed,
    /// `[gamma]`: for a reader that takes the gammas in turn (lmplz's positional join,
    /// [`super::interpolate::BackoffJoin::Positional`]), a fifth of the bytes at order 5.
    Gammas,
}

impl ContextRecords {
    /// Words per record for contexts of the n-grams of order `k`.
    pub fn width(self, k: usize) -> usize {
        match self {
            ContextRecords::Keyed => k,
            ContextRecords::Gammas => 1,
        }
    }

    /// The record of `context` (its words) with `gamma`, into `out` (of [`Self::width`]).
    #[inline]
    fn fill(self, context: &[u32], gamma: f32, out: &mut [u32]) {
        if self == ContextRecords::Keyed {
            out[..context.len()].copy_from_slice(context);
        }
        out[out.len() - 1] = gamma.to_bits();
    }
}

/// The outputs of [`initial_order`].
pub struct Initial {
    /// Kept n-grams with p and their context's gamma, in suffix order.
    pub probs: SortedStream,
    /// Each context with its gamma, in suffix order of the contexts (taken by the writer of
    /// the order below).
    pub backoffs: Option<Run>,
}

/// The integer sums over one context's extensions that its probabilities and gamma depend
/// on. Sums of parts of the extensions add up exactly, so the partitioned estimator
/// ([`super::partitioned`]) reduces them across partitions and gets the same bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContextSums {
    /// `sum_x a(c x)`, pruned extensions included.
    pub denominator: u64,
    /// `classes[j]`: kept extensions with adjusted count j (3 for 3 and more; index 0 unused).
    pub classes: [u64; 4],
    /// The summed adjusted counts of the pruned extensions.
    pub pruned_mass: u64,
}

/// Words of [`ContextSums::to_words`].
pub const CONTEXT_SUMS_WORDS: usize = 10;

impl ContextSums {
    /// Adds an extension's adjusted count (with its prune mark).
    #[inline]
    pub fn add(&mut self, c: u64) {
        let count = c & !PRUNED;
        self.denominator += count;
        if c & PRUNED != 0 {
            self.pruned_mass += count;
        } else {
            self.classes[count.min(3) as usize] += 1;
        }
    }

    /// Adds the sums of other extensions of the same context.
    pub fn merge(&mut self, other: &ContextSums) {
        self.denominator += other.denominator;
        for j in 1..4 {
            self.classes[j] += other.classes[j];
        }
        self.pruned_mass += other.pruned_mass;
    }

    /// `gamma(c) = (sum over kept D(a) + pruned mass) / denominator`, in f32 as lmplz.
    pub fn gamma(&self, discount: &Discount) -> f32 {
        let mut numerator = 0.0f32;
        for (i, &n) in self.classes.iter().enumerate().skip(1) {
            numerator += discount.amount[i] * n as f32;
        }
        numerator += self.pruned_mass as f32;
        numerator / self.denominator as f32
    }

    /// As 10 record words: denominator, n1, n2, n3+, pruned mass (u64 each).
    pub fn to_words(&self, out: &mut [u32]) {
        let values = [
            self.denominator,
            self.classes[1],
            self.classes[2],
            self.classes[3],
            self.pruned_mass,
        ];
        for (i, v) in values.into_iter().enumerate() {
            set_u64(&mut out[2 * i..2 * i + 2], v);
        }
    }

    /// The inverse of [`ContextSums::to_words`].
    pub fn from_words(w: &[u32]) -> Self {
        let v = |i: usize| get_u64(&w[2 * i..2 * i + 2]);
        ContextSums {
            denominator: v(0),
            classes: [0, v(1), v(2), v(3)],
            pruned_mass: v(4),
        }
    }
}

/// `p(w | c) = (a - D(a)) / denominator` of a kept extension with adjusted count `count`.
#[inline]
pub fn probability(discount: &Discount, count: u64, denominator: u64) -> f32 {
    discount.apply(count) / denominator as f32
}

/// The gamma and the probabilities of one context's extensions `(count, pruned)`.
pub fn context_probabilities(
    discount: &Discount,
    counts: impl Iterator<Item = u64> + Clone,
    mut each: impl FnMut(usize, f32),
) -> f32 {
    let mut sums = ContextSums::default();
    for c in counts.clone() {
        sums.add(c);
    }
    let gamma = sums.gamma(discount);
    for (i, c) in counts.enumerate() {
        if c & PRUNED == 0 {
            each(i, probability(discount, c, sums.denominator));
        }
    }
    gamma
}

/// Runs stage 4 for one order k >= 2; see the module doc. The sorts collect into buffers
/// taken from `spare`; a buffer that does not end up holding the result goes back there. The
/// contexts' file holds `contexts` records.
#[allow(clippy::too_many_arguments)]
pub fn initial_order(
    file: &Run,
    k: usize,
    discount: &Discount,
    memory: usize,
    contexts: ContextRecords,
    temp: &TempDir,
    cancel: &Cancel,
    spare: &SpareBuffers,
) -> Result<Initial> {
    let half = memory / 2;
    let in_layout = Layout {
        key_words: k,
        payload_words: 2,
    };
    let mut by_context = Sorter::with_buffer(
        in_layout,
        KeyOrder::Context,
        None,
        half,
        temp,
        cancel,
        spare.take(),
    );
    let mut reader = file.reader()?;
    let mut rec = vec![0u32; k + 2];
    while reader.read(&mut rec)? {
        by_context.push(&rec)?;
    }
    let (mut stream, buf) = by_context.finish_keeping_buffer()?;

    let out_layout = Layout {
        key_words: k,
        payload_words: 2,
    };
    if let Some(words) = stream.take_words() {
        return initial_in_place(words, k, discount, out_layout, contexts, temp, cancel);
    }
    // The context sort's buffer, which its merge no longer needs.
    let mut by_suffix =
        Sorter::with_buffer(out_layout, KeyOrder::Suffix, None, half, temp, cancel, buf);
    let mut backoffs = RecordWriter::create(temp, contexts.width(k))?;

    let mut group: Vec<u32> = Vec::new(); // records of one context, k+2 words each
    let width = k + 2;
    let mut out = vec![0u32; k + 2];
    let mut ctx_out = vec![0u32; contexts.width(k)];
    let mut flush =
        |group: &mut Vec<u32>, by_suffix: &mut Sorter, backoffs: &mut RecordWriter| -> Result<()> {
            if group.is_empty() {
                return Ok(());
            }
            let counts = group.chunks_exact(width).map(|r| get_u64(&r[k..]));
            let mut probs: Vec<(usize, f32)> = Vec::new();
            let gamma = context_probabilities(discount, counts, |i, p| probs.push((i, p)));
            for (i, p) in probs {
                let r = &group[i * width..(i + 1) * width];
                out[..k].copy_from_slice(&r[..k]);
                out[k] = p.to_bits();
                out[k + 1] = gamma.to_bits();
                by_suffix.push(&out)?;
            }
            contexts.fill(&group[..k - 1], gamma, &mut ctx_out);
            backoffs.write(&ctx_out)?;
            group.clear();
            Ok(())
        };
    while let Some(r) = stream.next()? {
        if !group.is_empty() && group[..k - 1] != r[..k - 1] {
            flush(&mut group, &mut by_suffix, &mut backoffs)?;
        }
        group.extend_from_slice(r);
    }
    flush(&mut group, &mut by_suffix, &mut backoffs)?;
    drop(stream);
    let (probs, buf) = by_suffix.finish_keeping_buffer()?;
    spare.put(buf);
    Ok(Initial {
        probs,
        backoffs: Some(backoffs.finish()?),
    })
}

/// [`initial_order`] when the context sort did not spill: each kept record's output (same
/// width) is written over the buffer it came from, at an index no greater than its own (one
/// output at most per input, in order), and the buffer is then sorted in suffix order. Holds
/// one buffer of the order instead of two; the keys are distinct n-grams, so the result is the
/// one the second sorter gives.
fn initial_in_place(
    mut buf: Vec<u32>,
    k: usize,
    discount: &Discount,
    layout: Layout,
    contexts: ContextRecords,
    temp: &TempDir,
    cancel: &Cancel,
) -> Result<Initial> {
    let width = k + 2;
    let n = buf.len() / width;
    let mut backoffs = RecordWriter::create(temp, contexts.width(k))?;
    let mut ctx_out = vec![0u32; contexts.width(k)];
    let mut out = vec![0u32; width];
    let mut probs: Vec<(usize, f32)> = Vec::new();
    let mut write = 0usize; // records written
    let mut start = 0usize; // first record of the current context
    while start < n {
        let mut end = start + 1;
        while end < n && buf[end * width..end * width + k - 1] == buf[start * width..][..k - 1] {
            end += 1;
        }
        let group = &buf[start * width..end * width];
        let counts = group.chunks_exact(width).map(|r| get_u64(&r[k..]));
        probs.clear();
        let gamma = context_probabilities(discount, counts, |i, p| probs.push((i, p)));
        contexts.fill(&group[..k - 1], gamma, &mut ctx_out);
        for &(i, p) in &probs {
            let from = (start + i) * width;
            out[..k].copy_from_slice(&buf[from..from + k]);
            out[k] = p.to_bits();
            out[k + 1] = gamma.to_bits();
            buf[write * width..(write + 1) * width].copy_from_slice(&out);
            write += 1;
        }
        backoffs.write(&ctx_out)?;
        start = end;
    }
    buf.truncate(write * width);
    cancel.check()?;
    let sorted = sort_block(buf, layout, KeyOrder::Suffix, None);
    Ok(Initial {
        probs: SortedStream::in_memory(sorted, width),
        backoffs: Some(backoffs.finish()?),
    })
}

/// Unigram probabilities (the single, empty context): `counts[id]` with prune marks.
/// Returns the uninterpolated p per id (0 for pruned) and gamma.
pub fn initial_unigrams(discount: &Discount, counts: &[u64]) -> (Vec<f32>, f32) {
    let mut probs = vec![0.0f32; counts.len()];
    let gamma = context_probabilities(discount, counts.iter().copied(), |i, p| probs[i] = p);
    (probs, gamma)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(mut s: SortedStream) -> Vec<Vec<u32>> {
        let mut out = Vec::new();
        while let Some(r) = s.next().unwrap() {
            out.push(r.to_vec());
        }
        out
    }

    fn run_records(run: &Run, width: usize) -> Vec<Vec<u32>> {
        let mut reader = run.reader().unwrap();
        let mut rec = vec![0u32; width];
        let mut out = Vec::new();
        while reader.read(&mut rec).unwrap() {
            out.push(rec.clone());
        }
        out
    }

    /// The in-place path (the context sort fits its budget) and the two-sorter path (a budget
    /// of a few records, so both sorts spill) give the same records, pruned ones included.
    #[test]
    fn in_place_and_spilled_initial_probabilities_agree() {
        let temp = TempDir::new_in(&std::env::temp_dir()).unwrap();
        let cancel = Cancel::new();
        let k = 3;
        let mut writer = RecordWriter::create(&temp, k + 2).unwrap();
        let mut seed = 17u64;
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..5000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let key = [
                (seed >> 33) as u32 % 7,
                (seed >> 40) as u32 % 9,
                (seed >> 50) as u32 % 30,
            ];
            if !seen.insert(key) {
                continue;
            }
            let mut count = (seed >> 20) % 5 + 1;
            if seed.is_multiple_of(11) {
                count |= PRUNED;
            }
            let mut rec = key.to_vec();
            rec.extend([0, 0]);
            set_u64(&mut rec[k..], count);
            writer.write(&rec).unwrap();
        }
        let run = writer.finish().unwrap();
        let d = Discount::from_values([0.5, 1.0, 1.5]);
        let spare = SpareBuffers::default();
        let keyed = ContextRecords::Keyed;
        let big = initial_order(&run, k, &d, 1 << 24, keyed, &temp, &cancel, &spare).unwrap();
        let small = initial_order(&run, k, &d, 64, keyed, &temp, &cancel, &spare).unwrap();
        let (bo_big, bo_small) = (big.backoffs.unwrap(), small.backoffs.unwrap());
        assert!(bo_big.records() > 10);
        let contexts = run_records(&bo_big, k);
        assert_eq!(contexts, run_records(&bo_small, k));
        let (a, b) = (records(big.probs), records(small.probs));
        assert!(a.len() > 100 && a.len() < seen.len());
        assert_eq!(a, b);
        // The gammas alone, on both paths: the keyed records' last words, in order.
        let gammas: Vec<Vec<u32>> = contexts.iter().map(|r| vec![r[k - 1]]).collect();
        for memory in [1 << 24, 64] {
            let only = ContextRecords::Gammas;
            let g = initial_order(&run, k, &d, memory, only, &temp, &cancel, &spare).unwrap();
            assert_eq!(run_records(&g.backoffs.unwrap(), 1), gammas);
            assert_eq!(records(g.probs), a);
        }
    }
}
