//! Hashing and the open-addressing tables of the model.
//!
//! Input: words (bytes) and n-grams (word ids). Output: stable 64-bit keys, and tables that map
//! a key to a 64-bit value. Words are keyed by a hash of their bytes; an n-gram
//! `w1 ... wn` by combining the ids from the newest word back (`wn`, then `wn-1`, ...), so the
//! key of a longer context extends the key of a shorter one as scoring walks back through the
//! history (KenLM's probing model keys n-grams the same way, by hash alone, without storing the
//! words: two n-grams that collide in 64 bits would be confused, a chance of about n^2 / 2^65).
//!
//! A table is a flat array of buckets, each two `u64`: the key (0 marks an empty bucket) and the
//! value. A key picks its first bucket by multiply-shift range reduction and probes linearly.
//! Tables hold `ceil(1.5 n) + 1` buckets for `n` entries (KenLM's default probing multiplier).
//! The hash functions are part of the binary format: change them only with its version.
//!
//! Memory: 16 bytes per bucket, 24 bytes per entry.

/// Reads the `u64` at an index of a table, whether the table is owned (`&[u64]`) or a byte
/// slice of a memory-mapped file (little-endian).
pub(crate) trait Words: Copy {
    /// The number of `u64` in the table.
    fn len(self) -> usize;
    /// The `u64` at `i`, or 0 past the end (an empty bucket: never a panic).
    fn get(self, i: usize) -> u64;
    /// Asks the CPU to bring the `u64` at `i` into cache (a hint; nothing happens past the end).
    fn prefetch(self, i: usize);
}

/// A prefetch hint for the cache line holding `p`.
#[inline]
fn prefetch_ptr<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: `_mm_prefetch` needs SSE, part of the x86_64 baseline, so the target feature
        // is always present; a prefetch is a hint that never faults and reads nothing Rust
        // can observe, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

impl Words for &[u64] {
    #[inline]
    fn len(self) -> usize {
        <[u64]>::len(self)
    }
    #[inline]
    fn get(self, i: usize) -> u64 {
        <[u64]>::get(self, i).copied().unwrap_or(0)
    }
    #[inline]
    fn prefetch(self, i: usize) {
        if let Some(x) = <[u64]>::get(self, i) {
            prefetch_ptr(x);
        }
    }
}

/// A little-endian array of `u64` inside a byte slice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LeWords<'a>(pub &'a [u8]);

impl Words for LeWords<'_> {
    #[inline]
    fn len(self) -> usize {
        self.0.len() / 8
    }
    #[inline]
    fn get(self, i: usize) -> u64 {
        match self.0.get(i * 8..i * 8 + 8) {
            Some(b) => {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                u64::from_le_bytes(a)
            }
            None => 0,
        }
    }
    #[inline]
    fn prefetch(self, i: usize) {
        if let Some(x) = self.0.get(i * 8) {
            prefetch_ptr(x);
        }
    }
}

const K1: u64 = 0x9e37_79b9_7f4a_7c15;
const K2: u64 = 0xc2b2_ae3d_27d4_eb4f;

/// MurmurHash3's 64-bit finaliser: every input bit affects every output bit.
#[inline]
fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A non-zero key.
#[inline]
fn nonzero(h: u64) -> u64 {
    if h == 0 {
        1
    } else {
        h
    }
}

/// The key of a word (its bytes).
pub(crate) fn word_key(word: &[u8]) -> u64 {
    let mut h = K1 ^ (word.len() as u64).wrapping_mul(K2);
    let mut chunks = word.chunks_exact(8);
    for c in &mut chunks {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(a)).wrapping_mul(K2).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut a = [0u8; 8];
        a[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(a)).wrapping_mul(K2).rotate_left(29);
    }
    nonzero(fmix(h))
}

/// The key of the unigram `id` (the start of an n-gram key).
#[inline]
pub(crate) fn unigram_key(id: u32) -> u64 {
    fmix(u64::from(id).wrapping_add(1).wrapping_mul(K1))
}

/// The key of an n-gram that extends the n-gram of `key` by the older word `id`.
#[inline]
pub(crate) fn extend_key(key: u64, id: u32) -> u64 {
    nonzero(fmix(
        key.rotate_left(17) ^ u64::from(id).wrapping_add(1).wrapping_mul(K2),
    ))
}

/// The number of buckets for `entries` entries.
pub(crate) fn buckets_for(entries: usize) -> usize {
    entries + entries.div_ceil(2) + 1
}

/// The first bucket of `key` in a table of `buckets` buckets.
#[inline]
pub(crate) fn first_bucket(key: u64, buckets: usize) -> usize {
    ((u128::from(key) * buckets as u128) >> 64) as usize
}

/// The value stored under `key`, if any. Probes at most every bucket once, so a corrupt (full)
/// table cannot loop forever.
#[inline]
pub(crate) fn find<W: Words>(table: W, key: u64) -> Option<u64> {
    let buckets = table.len() / 2;
    if buckets == 0 {
        return None;
    }
    let mut i = first_bucket(key, buckets);
    for _ in 0..buckets {
        let k = table.get(2 * i);
        if k == key {
            return Some(table.get(2 * i + 1));
        }
        if k == 0 {
            return None;
        }
        i += 1;
        if i == buckets {
            i = 0;
        }
    }
    None
}

/// A table being filled; it grows when it passes its load limit.
#[derive(Debug, Clone)]
pub(crate) struct TableBuilder {
    slots: Vec<u64>,
    entries: usize,
}

impl TableBuilder {
    /// A table sized for `entries` entries.
    pub(crate) fn with_entries(entries: usize) -> Self {
        TableBuilder {
            slots: vec![0; 2 * buckets_for(entries)],
            entries: 0,
        }
    }

    /// The number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries
    }

    /// The value under `key`.
    pub(crate) fn get(&self, key: u64) -> Option<u64> {
        find(self.slots.as_slice(), key)
    }

    /// Inserts `key`; returns false (and changes nothing) if it is already present.
    pub(crate) fn insert(&mut self, key: u64, value: u64) -> bool {
        // Tables are sized for a load of 2/3; grow only past 4/5 (when more entries come than
        // announced), so that a table filled as planned keeps its size.
        let buckets = self.slots.len() / 2;
        if 5 * (self.entries + 1) > 4 * buckets {
            self.grow();
        }
        let buckets = self.slots.len() / 2;
        let mut i = first_bucket(key, buckets);
        loop {
            let k = self.slots[2 * i];
            if k == key {
                return false;
            }
            if k == 0 {
                self.slots[2 * i] = key;
                self.slots[2 * i + 1] = value;
                self.entries += 1;
                return true;
            }
            i += 1;
            if i == buckets {
                i = 0;
            }
        }
    }

    /// Replaces the value under `key` with `f(value)`; false if `key` is absent.
    pub(crate) fn update(&mut self, key: u64, f: impl FnOnce(u64) -> u64) -> bool {
        let buckets = self.slots.len() / 2;
        if buckets == 0 {
            return false;
        }
        let mut i = first_bucket(key, buckets);
        for _ in 0..buckets {
            let k = self.slots[2 * i];
            if k == key {
                self.slots[2 * i + 1] = f(self.slots[2 * i + 1]);
                return true;
            }
            if k == 0 {
                return false;
            }
            i += 1;
            if i == buckets {
                i = 0;
            }
        }
        false
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.slots = vec![0; 2 * buckets_for(2 * self.entries + 16)];
        // (2n + 16 entries planned: the load drops to about a third.)
        self.entries = 0;
        for pair in old.chunks_exact(2) {
            if pair[0] != 0 {
                self.insert(pair[0], pair[1]);
            }
        }
    }

    /// The finished table: buckets as `[key, value]` pairs.
    pub(crate) fn into_slots(self) -> Vec<u64> {
        self.slots
    }
}

/// Packs a probability and a backoff into one table value.
#[inline]
pub(crate) fn pack(prob: f32, backoff: f32) -> u64 {
    u64::from(prob.to_bits()) | (u64::from(backoff.to_bits()) << 32)
}

/// The bits of a backoff of -0.0, which marks an n-gram that is no context of a longer one
/// (KenLM's "no extension" mark): its backoff is 0 and scoring drops it from the state, saving
/// a probe that would fail. Adding -0.0 leaves every sum unchanged.
pub(crate) const NO_EXTENSION: u32 = 0x8000_0000;

/// Whether a backoff marks an n-gram that extends (is the context of a longer n-gram, or has a
/// non-zero backoff).
#[inline]
pub(crate) fn extends(backoff: f32) -> bool {
    backoff.to_bits() != NO_EXTENSION
}

/// The probability and backoff of a packed value.
#[inline]
pub(crate) fn unpack(value: u64) -> (f32, f32) {
    (
        f32::from_bits(value as u32),
        f32::from_bits((value >> 32) as u32),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn builder_grows_and_finds() {
        let mut t = TableBuilder::with_entries(2);
        for i in 0..1000u32 {
            assert!(t.insert(unigram_key(i), u64::from(i)));
        }
        assert!(!t.insert(unigram_key(7), 0));
        assert_eq!(t.len(), 1000);
        let slots = t.into_slots();
        for i in 0..1000u32 {
            assert_eq!(find(slots.as_slice(), unigram_key(i)), Some(u64::from(i)));
        }
        assert_eq!(find(slots.as_slice(), unigram_key(5000)), None);
        let bytes: Vec<u8> = slots.iter().flat_map(|w| w.to_le_bytes()).collect();
        assert_eq!(find(LeWords(&bytes), unigram_key(9)), Some(9));
    }

    #[test]
    fn a_full_table_does_not_loop() {
        let slots = vec![5u64, 1, 6, 2];
        assert_eq!(find(slots.as_slice(), 7), None);
    }

    proptest! {
        #[test]
        fn pack_round_trips(p in any::<f32>(), b in any::<f32>()) {
            let (p2, b2) = unpack(pack(p, b));
            prop_assert_eq!(p.to_bits(), p2.to_bits());
            prop_assert_eq!(b.to_bits(), b2.to_bits());
        }

        #[test]
        fn word_keys_are_nonzero_and_distinct(a in ".{0,20}", b in ".{0,20}") {
            prop_assert!(word_key(a.as_bytes()) != 0);
            if a != b {
                prop_assert!(word_key(a.as_bytes()) != word_key(b.as_bytes()));
            }
        }
    }
}
