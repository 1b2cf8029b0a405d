//! Scoring straight on a KenLM trie file, in place (memory-mapped or copied), as KenLM's
//! `search_trie` does: nothing is decoded on load.
//!
//! Input: the bytes of a trie file and its [`Geometry`] (checked against the file's size by
//! [`super::trie::parse_geometry`]). Output: the [`Lookup`] the sentence loops of
//! [`super::score`] score with, giving the numbers the probing path gives for the same n-grams
//! (and so KenLM's).
//!
//! The walk for a word `w` after the context `c0 c1 ...` (newest first): the unigram record of
//! `w` holds its probability, backoff and the range of its children among the bigrams (the
//! bigrams are stored newest word first, so the children of `w` are the bigrams `c w`); an
//! interpolation search (as KenLM's) over the bit-packed word ids of that range finds `c0`, whose
//! entry holds the bigram's values and the range of its children among the trigrams, where `c1`
//! is searched, and so on until a word is missing (vocabulary ids: an interpolation search of the
//! sorted word keys). A pointer is the entry's low `next_bits` bits, and with `-a`
//! (KenLM's `ArrayBhiksha`) the high bits are the number of offsets-array entries at or below the
//! entry's index, found by binary search.
//!
//! Values: unquantized entries hold 31 bits of probability (the sign is implied) and, below the
//! highest order, 32 bits of backoff; quantized entries hold a backoff index then a probability
//! index into the order's centers (section T2 of `docs/kenlm-binary.md`).
//!
//! Errors: none at scoring time. Pointers are clamped to their arrays and reads past the end
//! of the file read zeros, so a corrupted file scores wrongly but never crashes; the size and
//! header checks are made on load.
//!
//! Memory: nothing beyond the file's bytes and, per thread that scores a trie, the 384 KiB
//! of [`id_cache`] (allocated on the thread's first lookup; no lookup allocates after it).

use super::probing::{u64_at, with_sign};
use super::score::{id_cache, walk, FullScore, Lookup, Probe, State};
use super::trie::{offsets_at_or_below, read_bits, Geometry, OffsetsArray, Packed};
use super::MAX_ORDER;

/// Bytes of a trie unigram record: `f32` log10 p, `f32` backoff, `u64` first child.
const UNIGRAM_RECORD: usize = 16;

/// What scoring a trie needs besides its bytes: the geometry, the ids of `<s>` and `</s>`, and
/// the offsets of every section, worked out once on load.
#[derive(Debug)]
pub(crate) struct TrieSearch {
    pub geometry: Geometry,
    pub counts: Vec<u64>,
    plan: Plan,
}

/// One order above the unigrams as scoring reads it.
#[derive(Debug, Clone, Copy)]
struct LevelView {
    packed: Packed,
    entries: u64,
    /// With `-a`: the offsets array.
    array: Option<OffsetsArray>,
    /// Quantized: (prob bits, backoff bits, prob centers at, backoff centers at).
    quant: Option<(u8, u8, usize, usize)>,
}

/// Where everything is, for scoring.
#[derive(Debug)]
struct Plan {
    order: usize,
    bos: u32,
    eos: u32,
    /// Where the sorted vocabulary keys start, and how many there are.
    keys_at: usize,
    keys: usize,
    unigrams_at: usize,
    /// Entries of the bigrams (the unigram pointers' bound).
    bigrams: u64,
    /// The unigram count (every word id is below it).
    vocab: u64,
    /// `levels[n - 2]` for order `n`.
    levels: [Option<LevelView>; MAX_ORDER + 1],
    /// This search's tag in [`id_cache`] (one per `TrieSearch`, which is never cloned, and each
    /// is read over one model's bytes).
    cache_tag: u64,
}

/// A trie file's bytes ready for scoring.
#[derive(Clone, Copy)]
pub(crate) struct TrieView<'a> {
    bytes: &'a [u8],
    p: &'a Plan,
}

impl TrieSearch {
    /// The search over a file laid out as `geometry` with these counts (`<s>` and `</s>` set
    /// apart by [`TrieSearch::set_markers`]).
    pub(crate) fn new(geometry: Geometry, counts: Vec<u64>) -> TrieSearch {
        let g = &geometry;
        let order = counts.len();
        let mut levels = [None; MAX_ORDER + 1];
        for n in 2..=order {
            let longest = n == order;
            let (packed, array) = if longest {
                (g.longest, None)
            } else {
                let m = &g.middles[n - 2];
                (m.packed, m.array)
            };
            let quant = g
                .options
                .quantize
                .map(|(q, b)| (q, b, g.centers(n, 0), g.centers(n, 1)));
            levels[n - 2] = Some(LevelView {
                packed,
                entries: counts[n - 1],
                array,
                quant,
            });
        }
        let plan = Plan {
            order,
            bos: 0,
            eos: 0,
            keys_at: g.vocab + 8,
            keys: counts[0].saturating_sub(1) as usize,
            unigrams_at: g.unigrams,
            bigrams: counts[1],
            vocab: counts[0],
            levels,
            cache_tag: id_cache::new_tag(),
        };
        TrieSearch {
            geometry,
            counts,
            plan,
        }
    }

    /// Sets the ids of `<s>` and `</s>`.
    pub(crate) fn set_markers(&mut self, bos: u32, eos: u32) {
        self.plan.bos = bos;
        self.plan.eos = eos;
    }

    /// The view of `bytes` (the whole file) this geometry describes.
    #[inline]
    pub(crate) fn view<'a>(&'a self, bytes: &'a [u8]) -> TrieView<'a> {
        TrieView {
            bytes,
            p: &self.plan,
        }
    }
}

impl TrieView<'_> {
    /// The first child of unigram `id` (clamped to the bigrams).
    #[inline]
    fn unigram_next(&self, id: u32) -> u64 {
        u64_at(
            self.bytes,
            self.p.unigrams_at + UNIGRAM_RECORD * id as usize + 8,
        )
        .min(self.p.bigrams)
    }

    #[inline]
    fn f32_at(&self, at: usize) -> f32 {
        super::probing::f32_at(self.bytes, at)
    }
}

impl LevelView {
    #[inline]
    fn word(&self, bytes: &[u8], i: u64) -> u64 {
        read_bits(bytes, self.packed.bit(i), self.packed.word_bits)
    }

    /// The entry holding `word` among entries `begin..end` (sorted by word id, each below
    /// `vocab`).
    #[inline]
    fn find(&self, bytes: &[u8], begin: u64, end: u64, word: u32, vocab: u64) -> Option<u64> {
        uniform_find(
            begin,
            end.min(self.entries),
            0,
            vocab,
            u64::from(word),
            |i| self.word(bytes, i),
        )
    }

    /// The log10 probability (sign set) and backoff of entry `i`; the backoff of the highest
    /// order is KenLM's "no extension" `-0.0`.
    #[inline]
    fn values(&self, bytes: &[u8], i: u64, longest: bool) -> (f32, f32) {
        let bit = self.packed.bit(i) + u64::from(self.packed.word_bits);
        match self.quant {
            None => {
                let p = f32::from_bits(read_bits(bytes, bit, 31) as u32 | 0x8000_0000);
                let b = if longest {
                    -0.0
                } else {
                    f32::from_bits(read_bits(bytes, bit + 31, 32) as u32)
                };
                (p, b)
            }
            Some((q, b_bits, probs_at, backoffs_at)) => {
                let center =
                    |at: usize, index: u64| super::probing::f32_at(bytes, at + 4 * index as usize);
                if longest {
                    (with_sign(center(probs_at, read_bits(bytes, bit, q))), -0.0)
                } else {
                    let b = center(backoffs_at, read_bits(bytes, bit, b_bits));
                    let p = center(probs_at, read_bits(bytes, bit + u64::from(b_bits), q));
                    (with_sign(p), b)
                }
            }
        }
    }

    /// The pointers of entries `i` and `i + 1` (`i < entries`): the range of `i`'s children.
    /// With `-a`, one binary search of the offsets for `i`, then a step for `i + 1`, as KenLM's
    /// `ArrayBhiksha::ReadNext`.
    #[inline]
    fn children(&self, bytes: &[u8], i: u64) -> (u64, u64) {
        let p = &self.packed;
        let low = |i: u64| {
            read_bits(
                bytes,
                p.bit(i) + u64::from(p.total - p.next_bits),
                p.next_bits,
            )
        };
        match &self.array {
            None => (low(i), low(i + 1)),
            Some(a) => {
                let high = offsets_at_or_below(bytes, a, i);
                let mut next_high = high;
                while next_high + 1 < a.count as u64
                    && u64_at(bytes, a.at + 8 * (next_high as usize + 1)) <= i + 1
                {
                    next_high += 1;
                }
                (
                    (high << p.next_bits) | low(i),
                    (next_high << p.next_bits) | low(i + 1),
                )
            }
        }
    }
}

impl Lookup for TrieView<'_> {
    #[inline]
    fn bos(&self) -> u32 {
        self.p.bos
    }

    /// The whole file (the vocabulary strings, when present, are not read while scoring; the
    /// bound errs toward the lockstep, which large models want).
    fn search_bytes(&self) -> usize {
        self.bytes.len()
    }

    #[inline]
    fn eos(&self) -> u32 {
        self.p.eos
    }

    /// Interpolation search over the sorted keys (hashes: uniform), as KenLM's: the word with the
    /// key at rank `r` has id `r + 1`.
    #[inline]
    fn id_of_hash(&self, hash: u64) -> u32 {
        uniform_find(0, self.p.keys as u64, 0, u64::MAX, hash, |i| {
            u64_at(self.bytes, self.p.keys_at + 8 * i as usize)
        })
        .map_or(0, |rank| rank as u32 + 1)
    }

    #[inline]
    fn ids_of_keys(&self, keys: &[u64], _firsts: &[usize], f: impl FnMut(u32)) {
        id_cache::ids_of_keys(self.p.cache_tag, keys, |key| self.id_of_hash(key), f);
    }

    #[inline]
    fn unigram(&self, id: u32) -> (f32, f32) {
        let at = self.p.unigrams_at + UNIGRAM_RECORD * id as usize;
        (self.f32_at(at), self.f32_at(at + 4))
    }

    #[inline]
    fn prefetch_ngrams(&self, ids: &[u32], j: usize, _bos: bool) {
        self.prefetch(&State::default(), ids[j]);
    }

    #[inline]
    fn prefetch(&self, _state: &State, word: u32) {
        if let Some(b) = self
            .bytes
            .get(self.p.unigrams_at + UNIGRAM_RECORD * word as usize)
        {
            super::probing::prefetch(b);
        }
    }

    #[inline]
    fn full_score(&self, state: &State, word: u32, out: &mut State) -> FullScore {
        walk(self, state, word, out)
    }

    /// The range of the word's children among the bigrams.
    type Next = (u64, u64);

    /// Reads the range of `word`'s children (its unigram record was prefetched by
    /// [`Lookup::prefetch_word`]) and, when the walk will look for a bigram, prefetches the
    /// entry the search probes first.
    #[inline]
    fn prepare(&self, state: &State, word: u32, next: &mut Self::Next) {
        let range = (self.unigram_next(word), self.unigram_next(word + 1));
        *next = range;
        if state.is_empty() {
            return;
        }
        if let Some(level) = self.p.levels[0].as_ref() {
            let (lo, hi) = (range.0, range.1.min(level.entries));
            let key = u64::from(state.words[0]);
            let product = key.checked_mul(hi - lo.min(hi));
            if let (true, Some(product)) = (lo < hi && key <= self.p.vocab, product) {
                // uniform_find's first pivot over the values 0..=vocab.
                let first = lo + product / (self.p.vocab + 1);
                let at = (level.packed.bit(first) >> 3) as usize;
                if let Some(b) = self.bytes.get(at) {
                    super::probing::prefetch(b);
                }
            }
        }
    }

    #[inline]
    fn prefetch_word(&self, word: u32) {
        self.prefetch(&State::default(), word);
    }

    #[inline]
    fn score_prepared(
        &self,
        next: &Self::Next,
        state: &State,
        word: u32,
        out: &mut State,
    ) -> FullScore {
        walk(
            &Prepared {
                view: self,
                range: *next,
            },
            state,
            word,
            out,
        )
    }
}

/// A trie walk whose first range was read by [`Lookup::prepare`].
struct Prepared<'v, 'a> {
    view: &'v TrieView<'a>,
    range: (u64, u64),
}

impl Probe for Prepared<'_, '_> {
    type Cursor = (u64, u64);

    #[inline]
    fn order(&self) -> usize {
        self.view.p.order
    }

    #[inline]
    fn begin(&self, _state: &State, word: u32, _in_len: usize) -> ((f32, f32), Self::Cursor) {
        (self.view.unigram(word), self.range)
    }

    #[inline]
    fn find(
        &self,
        range: &mut Self::Cursor,
        n: usize,
        older: u32,
        more: bool,
    ) -> Option<(f32, f32)> {
        self.view.find(range, n, older, more)
    }
}

impl Probe for TrieView<'_> {
    /// The range of the children of the last n-gram found, among the next order's entries.
    type Cursor = (u64, u64);

    #[inline]
    fn order(&self) -> usize {
        self.p.order
    }

    #[inline]
    fn begin(&self, _state: &State, word: u32, _in_len: usize) -> ((f32, f32), Self::Cursor) {
        let range = (self.unigram_next(word), self.unigram_next(word + 1));
        (self.unigram(word), range)
    }

    #[inline]
    fn find(
        &self,
        range: &mut Self::Cursor,
        n: usize,
        older: u32,
        more: bool,
    ) -> Option<(f32, f32)> {
        let level = self.p.levels[n - 2].as_ref()?;
        let at = level.find(self.bytes, range.0, range.1, older, self.p.vocab)?;
        let longest = n == self.p.order;
        // The children, only when a longer n-gram is still to be looked for.
        if !longest && more {
            let bound = self.p.levels[n - 1].as_ref().map_or(0, |l| l.entries);
            let (b, e) = level.children(self.bytes, at);
            *range = (b.min(bound), e.min(bound));
        }
        Some(level.values(self.bytes, at, longest))
    }
}

/// The index of `key` among the increasing values `at(lo..hi)`, all within `lo_value..=hi_value`
/// (KenLM's `BoundedSortedUniformFind`): interpolation search, which takes a few probes on the
/// uniform values of a trie (hashes, word ids by hash rank), then bisection after eight probes, so
/// a skewed or corrupted run costs at most a binary search more. `None` when absent.
#[inline]
pub(crate) fn uniform_find(
    mut lo: u64,
    mut hi: u64,
    mut lo_value: u64,
    mut hi_value: u64,
    key: u64,
    at: impl Fn(u64) -> u64,
) -> Option<u64> {
    if key < lo_value || key > hi_value {
        return None;
    }
    let mut probes = 0u32;
    while lo < hi {
        // lo_value <= key <= hi_value: the pivot falls in lo..hi.
        let mid = if probes < 8 {
            // In 64-bit integers when they suffice (word ids), else in floating point (hashes;
            // a 128-bit division costs more than the probe it saves); any pivot in lo..hi is
            // correct.
            let (offset, width) = (key - lo_value, hi - lo);
            match (
                offset.checked_mul(width),
                (hi_value - lo_value).checked_add(1),
            ) {
                (Some(product), Some(span)) => lo + product / span,
                _ => {
                    // Through i64: x86-64 converts i64 <-> f64 in one instruction but u64 in a
                    // dozen with a branch. Shifted right by 11 both operands fit i64 (and f64's
                    // mantissa), and the fraction stays below 1, so the step stays below width.
                    let fraction = ((offset >> 11) as i64 as f64)
                        / (((hi_value - lo_value) >> 11) as i64 as f64 + 1.0);
                    (lo + (fraction * width as i64 as f64) as i64 as u64).min(hi - 1)
                }
            }
        } else {
            lo + (hi - lo) / 2
        };
        probes += 1;
        let v = at(mid);
        match v.cmp(&key) {
            std::cmp::Ordering::Less => {
                lo = mid + 1;
                lo_value = v;
            }
            std::cmp::Ordering::Greater => {
                hi = mid;
                hi_value = v;
            }
            std::cmp::Ordering::Equal => return Some(mid),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::uniform_find;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn uniform_find_finds_what_a_binary_search_finds(
            mut values in proptest::collection::vec(any::<u64>(), 0..300),
            probe in any::<u64>(),
            pick in any::<prop::sample::Index>(),
        ) {
            values.sort_unstable();
            values.dedup();
            let at = |i: u64| values[i as usize];
            let n = values.len() as u64;
            let mut keys = vec![probe, 0, u64::MAX];
            if !values.is_empty() {
                keys.push(values[pick.index(values.len())]);
            }
            for key in keys {
                let want = values.binary_search(&key).ok().map(|i| i as u64);
                prop_assert_eq!(uniform_find(0, n, 0, u64::MAX, key, at), want);
            }
            // Skewed: small values in a wide declared range.
            let small: Vec<u64> = (0..n).map(|i| i * i).collect();
            if let Some(&last) = small.last() {
                let key = small[pick.index(small.len())];
                let found = uniform_find(0, n, 0, last + 1, key, |i| small[i as usize]);
                prop_assert_eq!(found, small.binary_search(&key).ok().map(|i| i as u64));
            }
        }
    }
}
