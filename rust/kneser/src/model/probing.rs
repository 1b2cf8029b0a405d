//! KenLM's probing layout: the hashes, the table geometry and the byte layout of a probing
//! binary file (version 5), which is also the in-memory form of every model kneser scores.
//!
//! Input: words (bytes), n-grams (word ids), n-gram counts. Output: 64-bit keys, table sizes,
//! and read/write access to tables stored in a byte image. Because the image of a model read
//! from an ARPA file is byte for byte the file `build_binary probing` writes, loading such a file
//! is a memory map and writing one is a dump (see `docs/kenlm-binary.md` for every section).
//!
//! Hashes (one home, used by the vocabulary, the n-gram tables and the kenlm module's state
//! hash):
//! - a word: MurmurHash64A of its bytes, seed 0 ([`vocab_hash`]);
//! - an n-gram `w1 .. wn` (ids): start from `wn`, then for each older word `w`
//!   `key = key * 8978948897894561157 ^ (w + 1) * 17894857484156487943` (wrapping), so the key of
//!   a longer context extends the key of a shorter one ([`combine`]).
//!
//! Tables: open addressing, linear probing, first bucket `key % buckets`, key 0 marks an empty
//! bucket, `buckets = max(n + 1, trunc(multiplier * n))` for `n` entries (multiplier as `f32`).
//! Entries are packed (no padding): vocabulary `key u64, id u32` (12 bytes), middle orders
//! `key u64, prob f32, backoff f32` (16), the highest order `key u64, prob f32` (12), unigrams
//! `prob f32, backoff f32` (8) indexed by id. Every value little-endian.
//!
//! Collision policy: distinct words whose MurmurHash64A collide are detected while the
//! vocabulary is read (the words are kept, so a collision is told from a duplicate) and refused
//! with a [`crate::Error::Format`] naming both words, since the format cannot hold them apart. An
//! n-gram key that is already present is refused as a duplicate (a duplicate line, or the
//! 2^-64-per-pair chance of two n-grams sharing a key). A query n-gram absent from the model
//! can still match a stored key by chance (probability about `n / 2^64` per probe), as in KenLM:
//! the format stores no words to verify against.
//!
//! Memory: the tables are `buckets * entry size` bytes; nothing else.

/// Bytes of one vocabulary entry (key, id).
pub(crate) const VOCAB_ENTRY: usize = 12;
/// Bytes of one middle-order entry (key, prob, backoff).
pub(crate) const MIDDLE_ENTRY: usize = 16;
/// Bytes of one highest-order entry (key, prob).
pub(crate) const LONGEST_ENTRY: usize = 12;
/// Bytes of one unigram (prob, backoff).
pub(crate) const UNIGRAM_ENTRY: usize = 8;
/// Bytes of the vocabulary header (version byte, padding, bound `u32`) before its table.
pub(crate) const VOCAB_HEADER: usize = 8;
/// KenLM's default probing multiplier.
pub const DEFAULT_MULTIPLIER: f32 = 1.5;

/// MurmurHash64A (Austin Appleby's 64-bit MurmurHash2, KenLM's hash on 64-bit machines) of
/// `key` with `seed`; 8-byte blocks read little-endian.
pub fn murmur_hash_64a(key: &[u8], seed: u64) -> u64 {
    murmur_hash_64a_within(key, 0, key.len(), seed)
}

/// [`murmur_hash_64a`] of `bytes[start..end]`: the same value. When `bytes` goes on for 8
/// bytes past the last whole block, the partial block is read as one 8-byte load and masked
/// (the scoring loops hash words in place in their sentence).
#[inline]
pub(crate) fn murmur_hash_64a_within(bytes: &[u8], start: usize, end: usize, seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let key = &bytes[start..end];
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut blocks = key.chunks_exact(8);
    for block in &mut blocks {
        let mut a = [0u8; 8];
        a.copy_from_slice(block);
        let mut k = u64::from_le_bytes(a);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let from = end - tail.len();
        if let Some(b) = bytes.get(from..from + 8) {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            h ^= u64::from_le_bytes(a) & ((1u64 << (8 * tail.len())) - 1);
        } else {
            for (i, &b) in tail.iter().enumerate() {
                h ^= u64::from(b) << (8 * i);
            }
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The number of NUL bytes in `bytes` (the vocabulary words stored after the tables): a
/// byte count per 255-byte piece, which the compiler turns into 16-byte compares (no piece's
/// count can wrap its `u8`).
pub(crate) fn count_nuls(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|piece| {
            let n = piece
                .iter()
                .fold(0u8, |n, &b| n.wrapping_add(u8::from(b == 0)));
            usize::from(n)
        })
        .sum()
}

/// The vocabulary key of a word (KenLM's `HashForVocab`).
#[inline]
pub fn vocab_hash(word: &[u8]) -> u64 {
    murmur_hash_64a(word, 0)
}

/// Whether `word` is the unknown word as KenLM recognises it (`<unk>` or `<UNK>`, by hash).
#[inline]
pub fn is_unknown_word(hash: u64) -> bool {
    hash == vocab_hash(b"<unk>") || hash == vocab_hash(b"<UNK>")
}

/// The key of an n-gram extended by an older word (KenLM's `CombineWordHash`).
#[inline]
pub fn combine(current: u64, next: u32) -> u64 {
    current.wrapping_mul(8_978_948_897_894_561_157)
        ^ (u64::from(next) + 1).wrapping_mul(17_894_857_484_156_487_943)
}

/// The key of the n-gram `ids` given newest word first (`ids.len() >= 2`).
#[inline]
pub fn ngram_key(newest_first: &[u32]) -> u64 {
    let mut key = u64::from(newest_first[0]);
    for &w in &newest_first[1..] {
        key = combine(key, w);
    }
    key
}

/// The number of buckets of a table for `entries` entries.
pub fn buckets(entries: u64, multiplier: f32) -> u64 {
    (entries + 1).max((multiplier * entries as f32) as u64)
}

#[inline]
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    match bytes.get(at..at + 4) {
        Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        None => 0,
    }
}

#[inline]
pub(crate) fn u64_at(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..at + 8) {
        Some(b) => {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        }
        None => 0,
    }
}

/// The `f32` at byte `at` (0.0 past the end: never a panic).
#[inline]
pub(crate) fn f32_at(bytes: &[u8], at: usize) -> f32 {
    f32::from_bits(u32_at(bytes, at))
}

/// A prefetch hint for the cache line holding `p` (the one prefetch of the crate and the
/// bindings: hash tables, tries, and the bindings' walk over Python objects).
#[inline]
pub fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: `_mm_prefetch` needs SSE, part of the x86_64 baseline; a prefetch is a hint
        // that never faults and reads nothing Rust can observe, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// `key % d` without a division (Lemire, Kaser and Kurz, "Faster remainder by direct
/// computation", 2019): with `m = floor((2^128 - 1) / d) + 1`, the remainder is the high 64 bits
/// of `(m * key mod 2^128) * d`, exact for every 64-bit `key` and `d >= 1`. A probe computes its
/// first bucket this way: a 64-bit division costs more than the rest of the probe.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FastRem {
    m: u128,
    d: u64,
}

impl FastRem {
    /// The remainder by `d` (`d = 0` gives 0 for every key; callers never ask).
    pub(crate) fn new(d: u64) -> Self {
        if d == 0 {
            return FastRem { m: 0, d: 0 };
        }
        FastRem {
            m: (u128::MAX / u128::from(d)).wrapping_add(1),
            d,
        }
    }

    /// `key % d`.
    #[inline]
    pub(crate) fn rem(self, key: u64) -> u64 {
        let low = self.m.wrapping_mul(u128::from(key));
        let d = u128::from(self.d);
        let bottom = (u128::from(low as u64) * d) >> 64;
        let top = (low >> 64) * d;
        ((bottom + top) >> 64) as u64
    }
}

/// A read-only probing table inside a byte image.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table<'a> {
    bytes: &'a [u8],
    stride: usize,
    buckets: usize,
    rem: FastRem,
}

impl<'a> Table<'a> {
    pub(crate) fn new(bytes: &'a [u8], stride: usize) -> Self {
        let buckets = bytes.len() / stride;
        Table {
            bytes,
            stride,
            buckets,
            rem: FastRem::new(buckets as u64),
        }
    }

    /// A table of `rem`'s divisor buckets (`bytes.len() / stride`, worked out by the caller).
    #[inline]
    pub(crate) fn with_buckets(bytes: &'a [u8], stride: usize, rem: FastRem) -> Self {
        debug_assert_eq!(rem.d as usize, bytes.len() / stride);
        Table {
            bytes,
            stride,
            buckets: rem.d as usize,
            rem,
        }
    }

    pub(crate) const EMPTY: Table<'static> = Table {
        bytes: &[],
        stride: 16,
        buckets: 0,
        rem: FastRem { m: 0, d: 0 },
    };

    #[inline]
    fn ideal(&self, key: u64) -> usize {
        self.rem.rem(key) as usize
    }

    /// The table's size in bytes.
    pub(crate) fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// The byte offset of the value stored under `key` (after its 8-byte key), if present.
    /// Probes every bucket at most once, so a corrupt (full) table cannot loop.
    #[inline]
    pub(crate) fn find(&self, key: u64) -> Option<usize> {
        if self.buckets == 0 {
            return None;
        }
        self.find_from(key, self.ideal(key))
    }

    /// The first bucket `key` is probed at ([`Table::find_from`]'s start; 0 for an empty
    /// table).
    #[inline]
    pub(crate) fn first_bucket(&self, key: u64) -> usize {
        if self.buckets == 0 {
            0
        } else {
            self.ideal(key)
        }
    }

    /// Asks the CPU to bring bucket `i` into cache.
    #[inline]
    pub(crate) fn prefetch_bucket(&self, i: usize) {
        if let Some(b) = self.bytes.get(i * self.stride) {
            prefetch(b);
        }
    }

    /// [`Table::find`] from bucket `first` (`key`'s [`Table::first_bucket`], worked out
    /// beforehand).
    #[inline]
    pub(crate) fn find_from(&self, key: u64, first: usize) -> Option<usize> {
        if first >= self.buckets {
            return None;
        }
        let end = self.buckets * self.stride;
        let mut at = first * self.stride;
        for _ in 0..self.buckets {
            let k = u64_at(self.bytes, at);
            if k == key {
                return Some(at + 8);
            }
            if k == 0 {
                return None;
            }
            at += self.stride;
            if at == end {
                at = 0;
            }
        }
        None
    }

    /// The `u32` at a value offset (a vocabulary id).
    #[inline]
    pub(crate) fn u32(&self, at: usize) -> u32 {
        u32_at(self.bytes, at)
    }

    /// The `f32` at a value offset.
    #[inline]
    pub(crate) fn f32(&self, at: usize) -> f32 {
        f32_at(self.bytes, at)
    }
}

/// A probing table being filled inside a byte image, as KenLM fills it.
pub(crate) struct TableMut<'a> {
    bytes: &'a mut [u8],
    stride: usize,
    buckets: usize,
    rem: FastRem,
    entries: &'a mut usize,
}

/// The table has no free bucket left (more entries than its header announced).
#[derive(Debug)]
pub(crate) struct TableFull {
    pub buckets: usize,
}

impl<'a> TableMut<'a> {
    pub(crate) fn new(bytes: &'a mut [u8], stride: usize, entries: &'a mut usize) -> Self {
        let buckets = bytes.len() / stride;
        TableMut {
            bytes,
            stride,
            buckets,
            rem: FastRem::new(buckets as u64),
            entries,
        }
    }

    fn key_at(&self, at: usize) -> u64 {
        u64_at(self.bytes, at)
    }

    /// The value offset under `key`, if present.
    pub(crate) fn find(&self, key: u64) -> Option<usize> {
        Table::with_buckets(self.bytes, self.stride, self.rem).find(key)
    }

    /// Inserts `key` with `value` (the entry's bytes after the key) at the first empty bucket
    /// from its ideal one, without looking for an equal key (KenLM's `Insert`). Returns the
    /// value offset.
    pub(crate) fn insert(&mut self, key: u64, value: &[u8]) -> Result<usize, TableFull> {
        *self.entries += 1;
        if *self.entries >= self.buckets {
            return Err(TableFull {
                buckets: self.buckets,
            });
        }
        let mut i = self.rem.rem(key) as usize;
        loop {
            let at = i * self.stride;
            if self.key_at(at) == 0 {
                self.bytes[at..at + 8].copy_from_slice(&key.to_le_bytes());
                self.bytes[at + 8..at + 8 + value.len()].copy_from_slice(value);
                return Ok(at + 8);
            }
            i += 1;
            if i == self.buckets {
                i = 0;
            }
        }
    }

    /// The value offset under `key`, inserting `value` if absent (KenLM's `FindOrInsert`);
    /// the flag says whether it was found.
    pub(crate) fn find_or_insert(
        &mut self,
        key: u64,
        value: &[u8],
    ) -> Result<(usize, bool), TableFull> {
        match self.find(key) {
            Some(at) => Ok((at, true)),
            None => self.insert(key, value).map(|at| (at, false)),
        }
    }
}

/// `x` with the sign bit set.
#[inline]
pub(crate) fn with_sign(x: f32) -> f32 {
    f32::from_bits(x.to_bits() | 0x8000_0000)
}

/// `x` with the sign bit cleared (KenLM's mark "extends to the left").
#[inline]
pub(crate) fn without_sign(x: f32) -> f32 {
    f32::from_bits(x.to_bits() & 0x7fff_ffff)
}

/// The bits of a backoff of -0.0, KenLM's "no extension" mark: the n-gram is the context of no
/// longer n-gram, so scoring drops it from the state.
pub(crate) const NO_EXTENSION: u32 = 0x8000_0000;

/// Whether a backoff marks an n-gram that extends (is the context of a longer n-gram, or has a
/// non-zero backoff).
#[inline]
pub(crate) fn extends(backoff: f32) -> bool {
    backoff.to_bits() != NO_EXTENSION
}

/// KenLM's `SetExtension`: a zero backoff (either sign) becomes +0.0.
#[inline]
pub(crate) fn set_extension(backoff: f32) -> f32 {
    if backoff == 0.0 {
        0.0
    } else {
        backoff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        #[test]
        fn fast_rem_is_the_remainder(key in any::<u64>(), d in 1u64.., small in 1u64..5000) {
            prop_assert_eq!(FastRem::new(d).rem(key), key % d);
            prop_assert_eq!(FastRem::new(small).rem(key), key % small);
        }
    }

    proptest! {
        #[test]
        fn count_nuls_counts_the_nul_bytes(
            bytes in proptest::collection::vec(prop_oneof![Just(0u8), Just(0x80u8), Just(1u8), any::<u8>()], 0..1200),
            zeros in 0usize..1200,
        ) {
            prop_assert_eq!(count_nuls(&bytes), bytes.iter().filter(|&&b| b == 0).count());
            // All-NUL pieces of 255 bytes: each piece's `u8` count reaches 255 without wrapping.
            prop_assert_eq!(count_nuls(&vec![0u8; zeros]), zeros);
        }
    }

    #[test]
    fn fast_rem_edges() {
        for d in [
            1u64,
            2,
            3,
            7,
            1 << 32,
            (1 << 32) + 1,
            u64::MAX - 1,
            u64::MAX,
        ] {
            for key in [
                0u64,
                1,
                d - 1,
                d,
                d.wrapping_add(1),
                u64::MAX,
                u64::MAX - 1,
                1 << 63,
            ] {
                assert_eq!(FastRem::new(d).rem(key), key % d, "{key} % {d}");
            }
        }
    }

    #[test]
    fn murmur_hash_64a_known_values() {
        assert_eq!(murmur_hash_64a(b"", 0), 0);
        // Keys stored by build_binary in tests/data/kenlm/seed.o2.fallback.probing.bin: every
        // word of the model is in its vocabulary table under our hash (checked by loading it in
        // tests/test_kenlm_binary.py); here, two keys read from that file with `xxd`.
        let bin = include_bytes!("../../../../tests/data/kenlm/seed.o2.fallback.probing.bin");
        let (layout, _) =
            crate::model::binary::parse_header(bin, "seed").unwrap_or_else(|e| panic!("{e}"));
        let keys: Vec<u64> = layout
            .vocab
            .clone()
            .step_by(VOCAB_ENTRY)
            .map(|at| u64_at(bin, at))
            .filter(|&k| k != 0)
            .collect();
        assert_eq!(keys.len(), 5);
        for w in ["<s>", "</s>", "我", "你", "他"] {
            assert!(keys.contains(&vocab_hash(w.as_bytes())), "{w}");
        }
    }

    /// Fails on the first two distinct words with one key.
    fn assert_no_collision<'a>(words: impl Iterator<Item = &'a [u8]>) -> usize {
        let mut seen: HashMap<u64, &[u8]> = HashMap::new();
        for w in words {
            if let Some(other) = seen.insert(vocab_hash(w), w) {
                assert_eq!(other, w, "MurmurHash64A collision");
            }
        }
        seen.len()
    }

    #[test]
    fn no_collision_among_millions_of_near_identical_words() {
        // The shapes that collided under the old home-made hash (`discernable,` /
        // `discernible;`): one letter or one trailing punctuation apart, at every length.
        let mut words: Vec<Vec<u8>> = Vec::new();
        let stems = ["discern", "“’O", "a", "abcdefgh", "word"];
        for stem in stems {
            for i in 0..200_000u32 {
                let mut w = stem.as_bytes().to_vec();
                w.extend_from_slice(format!("{i:x}").as_bytes());
                for p in [b',', b';', b'.'] {
                    let mut v = w.clone();
                    v.push(p);
                    words.push(v);
                }
                words.push(w);
            }
        }
        // Every two-byte change of a 16-byte word.
        let base = *b"0123456789abcdef";
        for i in 0..16 {
            for j in (i + 1)..16 {
                for a in 0..=255u8 {
                    let mut w = base;
                    w[i] = a;
                    w[j] = a.wrapping_add(1);
                    words.push(w.to_vec());
                }
            }
        }
        let n = assert_no_collision(words.iter().map(|w| w.as_slice()));
        assert!(n > 4_000_000, "{n}");
    }

    #[test]
    fn no_collision_in_the_shared_vocabularies() {
        // Every whitespace token of the corpora in ../shared (594,314 distinct words in
        // en-bench alone); skipped when the folder is absent.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("{} is absent: skipped", dir.display());
            return;
        };
        let mut total = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "xz") {
                continue;
            }
            let mut text = Vec::new();
            let Ok(file) = std::fs::File::open(&path) else {
                continue;
            };
            use std::io::Read;
            xz2::read::XzDecoder::new_multi_decoder(file)
                .read_to_end(&mut text)
                .unwrap_or_default();
            total += assert_no_collision(
                text.split(|&b| crate::arpa::reader::is_arpa_space(b))
                    .filter(|w| !w.is_empty()),
            );
        }
        eprintln!("{total} distinct words, no collision");
    }

    #[test]
    fn bucket_counts_follow_kenlm() {
        // book.o3: 19467 unigrams -> 29200 vocabulary buckets, 86567 bigrams -> 129850,
        // 132688 trigrams -> 199032 (the sizes of build_binary's book.o3.probing.bin).
        assert_eq!(buckets(19467, 1.5), 29200);
        assert_eq!(buckets(86567, 1.5), 129850);
        assert_eq!(buckets(132688, 1.5), 199032);
        assert_eq!(buckets(0, 1.5), 1);
        assert_eq!(buckets(1, 1.5), 2);
    }

    #[test]
    fn tables_insert_and_find_and_never_loop() {
        let mut bytes = vec![0u8; 5 * MIDDLE_ENTRY];
        let mut entries = 0;
        let mut t = TableMut::new(&mut bytes, MIDDLE_ENTRY, &mut entries);
        for k in 1..5u64 {
            let at = t.insert(k * 5, &[k as u8; 8]).unwrap();
            assert_eq!(t.find(k * 5), Some(at));
        }
        assert!(t.insert(99, &[0; 8]).is_err());
        let full = vec![1u8; 4 * MIDDLE_ENTRY];
        assert_eq!(Table::new(&full, MIDDLE_ENTRY).find(7), None);
        assert_eq!(Table::EMPTY.find(7), None);
    }
}
