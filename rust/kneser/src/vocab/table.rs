//! The token -> id index of a [`super::Vocab`]: an open-addressing hash table laid out so that
//! a lookup touches one cache line.
//!
//! Input: tokens inserted in id order. Output: `get(token) -> Option<id>` and `token(id)`.
//! Layout: every token's bytes back to back in one `String` (id order) with their end offsets,
//! and a power-of-two array of 24-byte slots filled at most half and probed linearly. A slot holds
//! the token's first 16 bytes (zero-padded), its length and its id, so a token of up to 16 bytes
//! (nearly every word of real text) is found or rejected without reading the arena; longer ones
//! compare the rest there. The hash is a folded 128-bit multiply of those 16 bytes and the length
//! (FxHash over all bytes for longer tokens). A `HashMap<Box<str>, u32>` spent most of its time
//! chasing and comparing scattered heap keys instead.
//!
//! Memory: the tokens' bytes, 8 bytes of offset and 48 to 96 bytes of slots per token.
//! (A two-level variant, the 4,096 most frequent ids in a small table looked up first, measured
//! no faster, so there is one table.)

use std::hash::Hasher;

use rustc_hash::FxHasher;

const EMPTY: u32 = u32::MAX;
/// The bytes of a token a slot holds (longer tokens compare the rest in the arena).
pub(super) const INLINE: usize = 16;
const SEED0: u64 = 0x243f_6a88_85a3_08d3;
const SEED1: u64 = 0x1319_8a2e_0370_7344;

#[derive(Debug, Clone, Copy)]
struct Slot {
    k0: u64,
    k1: u64,
    len: u32,
    id: u32,
}

const EMPTY_SLOT: Slot = Slot {
    k0: 0,
    k1: 0,
    len: 0,
    id: EMPTY,
};

/// A token's first 16 bytes, zero-padded, as two words; and its hash.
#[derive(Clone, Copy, Default)]
struct Key {
    k0: u64,
    k1: u64,
    hash: u64,
}

#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

/// The eight bytes at `at` as a little-endian word.
#[inline(always)]
pub(super) fn load8(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

#[inline(always)]
fn load4(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u64::from(u32::from_le_bytes(w))
}

/// The first 16 bytes of `b`, zero-padded, as two little-endian words, read with a few
/// overlapping fixed-size loads instead of a variable-length copy (whose libc call dominated
/// the lookup of short tokens).
#[inline(always)]
fn first16(b: &[u8]) -> (u64, u64) {
    let n = b.len();
    if n >= 16 {
        (load8(b, 0), load8(b, 8))
    } else if n >= 8 {
        // b[n-8..n] holds b[8..n] in its top 8*(n-8) bits.
        (
            load8(b, 0),
            load8(b, n - 8)
                .checked_shr(8 * (16 - n) as u32)
                .unwrap_or(0),
        )
    } else if n >= 4 {
        // Two overlapping 4-byte loads; the shared bytes are equal, so OR keeps them.
        (load4(b, 0) | (load4(b, n - 4) << (8 * (n - 4))), 0)
    } else if n > 0 {
        let (a, m, z) = (u64::from(b[0]), u64::from(b[n / 2]), u64::from(b[n - 1]));
        (a | (m << (8 * (n / 2))) | (z << (8 * (n - 1))), 0)
    } else {
        (0, 0)
    }
}

/// The hash of a token of `len <= 16` bytes whose zero-padded bytes are `k0`, `k1`.
#[inline(always)]
fn short_hash(k0: u64, k1: u64, len: usize) -> u64 {
    fold(k0 ^ SEED0, k1 ^ SEED1 ^ (len as u64).rotate_left(32))
}

#[inline(always)]
fn key(token: &[u8]) -> Key {
    let (k0, k1) = first16(token);
    let len = token.len() as u64;
    let hash = if token.len() <= INLINE {
        short_hash(k0, k1, token.len())
    } else {
        let mut h = FxHasher::default();
        h.write(token);
        fold(h.finish() ^ SEED0, SEED1 ^ len)
    };
    Key { k0, k1, hash }
}

/// A lookup begun by [`TokenTable::probe`]: the token's first 16 bytes and its home slot.
#[derive(Clone, Copy)]
pub(crate) struct Probe {
    k0: u64,
    k1: u64,
    home: usize,
}

/// Tokens by id and ids by token.
#[derive(Debug, Clone)]
pub(crate) struct TokenTable {
    arena: String,
    ends: Vec<usize>,
    slots: Vec<Slot>,
    mask: usize,
}

impl TokenTable {
    /// An empty table with room for `n` tokens before it grows.
    pub(crate) fn with_capacity(n: usize) -> Self {
        let cap = (n.max(4) * 2).next_power_of_two();
        TokenTable {
            arena: String::new(),
            ends: Vec::with_capacity(n),
            slots: vec![EMPTY_SLOT; cap],
            mask: cap - 1,
        }
    }

    /// The number of tokens.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The token of `id`.
    #[inline]
    pub(crate) fn token(&self, id: usize) -> Option<&str> {
        let end = *self.ends.get(id)?;
        let start = if id == 0 { 0 } else { self.ends[id - 1] };
        self.arena.get(start..end)
    }

    /// Whether `slot` holds `token`, whose zero-padded first 16 bytes are `k0`, `k1`.
    #[inline]
    fn matches(&self, slot: &Slot, (k0, k1): (u64, u64), token: &[u8]) -> bool {
        slot.k0 == k0
            && slot.k1 == k1
            && slot.len as usize == token.len()
            && (token.len() <= INLINE
                || self
                    .token(slot.id as usize)
                    .is_some_and(|t| t.as_bytes() == token))
    }

    /// The id of `token`.
    #[inline]
    pub(crate) fn get(&self, token: &str) -> Option<u32> {
        let token = token.as_bytes();
        self.resolve(&self.probe(token), token)
    }

    /// The first half of a lookup of `token`: its key and home slot, with a prefetch of that
    /// slot, so that a caller can start the lookups of several tokens before finishing any
    /// ([`TokenTable::resolve`]) and their cache misses overlap.
    #[inline(always)]
    pub(crate) fn probe(&self, token: &[u8]) -> Probe {
        let k = key(token);
        let home = k.hash as usize & self.mask;
        crate::model::probing::prefetch(self.slots[home..].as_ptr().cast::<u8>());
        Probe {
            k0: k.k0,
            k1: k.k1,
            home,
        }
    }

    /// [`TokenTable::probe`] of a token of `len` bytes, `1 <= len <= 16`, given as its
    /// zero-padded first 16 bytes (`k0` the first 8, little-endian): the same key and hash.
    #[inline(always)]
    pub(crate) fn probe_short(&self, k0: u64, k1: u64, len: usize) -> Probe {
        let home = short_hash(k0, k1, len) as usize & self.mask;
        crate::model::probing::prefetch(self.slots[home..].as_ptr().cast::<u8>());
        Probe { k0, k1, home }
    }

    /// The id of `token`, whose [`TokenTable::probe`] is `p`.
    #[inline(always)]
    pub(crate) fn resolve(&self, p: &Probe, token: &[u8]) -> Option<u32> {
        if token.len() >= EMPTY as usize {
            return None;
        }
        let mut i = p.home;
        loop {
            let slot = &self.slots[i];
            if slot.id == EMPTY {
                return None;
            }
            if self.matches(slot, (p.k0, p.k1), token) {
                return Some(slot.id);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// [`TokenTable::resolve`] of a token of `len <= 16` bytes (which the slot holds whole, so
    /// the token itself is not needed).
    #[inline(always)]
    pub(crate) fn resolve_short(&self, p: &Probe, len: u32) -> Option<u32> {
        debug_assert!(len as usize <= INLINE);
        let mut i = p.home;
        loop {
            let slot = &self.slots[i];
            if slot.id == EMPTY {
                return None;
            }
            if slot.k0 == p.k0 && slot.k1 == p.k1 && slot.len == len {
                return Some(slot.id);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Adds `token` with the next id; returns the existing id instead if it is already there.
    /// The caller keeps `len()` below `u32::MAX` and tokens shorter than 4 GiB.
    pub(crate) fn insert(&mut self, token: &str) -> Result<u32, u32> {
        if (self.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let bytes = token.as_bytes();
        let k = key(bytes);
        let mut i = k.hash as usize & self.mask;
        loop {
            let slot = self.slots[i];
            if slot.id == EMPTY {
                let id = self.len() as u32;
                self.arena.push_str(token);
                self.ends.push(self.arena.len());
                self.slots[i] = Slot {
                    k0: k.k0,
                    k1: k.k1,
                    len: bytes.len() as u32,
                    id,
                };
                return Ok(id);
            }
            if self.matches(&slot, (k.k0, k.k1), bytes) {
                return Err(slot.id);
            }
            i = (i + 1) & self.mask;
        }
    }

    fn grow(&mut self) {
        let cap = self.slots.len() * 2;
        let mut slots = vec![EMPTY_SLOT; cap];
        let mask = cap - 1;
        for slot in self.slots.iter().filter(|s| s.id != EMPTY) {
            let token = self.token(slot.id as usize).unwrap_or_default();
            let mut i = key(token.as_bytes()).hash as usize & mask;
            while slots[i].id != EMPTY {
                i = (i + 1) & mask;
            }
            slots[i] = *slot;
        }
        self.slots = slots;
        self.mask = mask;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_finds_and_grows() {
        let mut t = TokenTable::with_capacity(0);
        let long = "x".repeat(40);
        let words: Vec<String> = (0..10_000)
            .map(|i| match i % 3 {
                0 => format!("w{i}"),
                1 => format!("{long}{i}"),
                _ => format!("{i:0>16}"),
            })
            .collect();
        for (i, w) in words.iter().enumerate() {
            assert_eq!(t.insert(w), Ok(i as u32));
        }
        assert_eq!(t.insert("w6"), Err(6));
        assert_eq!(t.insert(&words[7]), Err(7));
        for (i, w) in words.iter().enumerate() {
            assert_eq!(t.get(w), Some(i as u32), "{w}");
            assert_eq!(t.token(i), Some(w.as_str()));
        }
        // Same first 16 bytes and length, different tail; a zero byte vs. padding.
        assert_eq!(t.get(&format!("{long}1x")), None);
        assert_eq!(t.get(&format!("{long}1")), Some(1));
        assert_eq!(t.get("w6\0"), None);
        assert_eq!(t.get(""), None);
        assert_eq!(t.token(10_000), None);
        assert!(t.slots.len() >= 2 * t.len());
    }

    #[test]
    fn first16_is_the_zero_padded_prefix() {
        let text = "abcdefghijklmnopqrstuvwxyz";
        for n in 0..=text.len() {
            let b = &text.as_bytes()[..n];
            let mut buf = [0u8; 16];
            buf[..n.min(16)].copy_from_slice(&b[..n.min(16)]);
            let want = (
                u64::from_le_bytes(buf[..8].try_into().unwrap()),
                u64::from_le_bytes(buf[8..].try_into().unwrap()),
            );
            assert_eq!(first16(b), want, "n = {n}");
        }
    }

    #[test]
    fn probe_short_is_probe() {
        let mut t = TokenTable::with_capacity(64);
        let text = "abcdefghijklmnopq\u{e9}\u{4e2d}";
        for n in 1..=16 {
            let b = &text.as_bytes()[..n];
            let (k0, k1) = first16(b);
            let (a, z) = (t.probe(b), t.probe_short(k0, k1, n));
            assert_eq!((a.k0, a.k1, a.home), (z.k0, z.k1, z.home));
            assert_eq!(t.resolve_short(&z, n as u32), t.resolve(&z, b));
            if let Ok(s) = std::str::from_utf8(b) {
                let id = t.insert(s).unwrap_or_else(|e| e);
                assert_eq!(t.resolve(&z, b), Some(id));
                assert_eq!(t.resolve_short(&z, n as u32), Some(id));
            }
        }
    }

    #[test]
    fn home_slots_spread_like_a_random_hash() {
        let mut t = TokenTable::with_capacity(4096);
        for i in 0..4096 {
            let _ = t.insert(&format!("tok{i}"));
        }
        let homes: std::collections::HashSet<usize> = (0..t.len())
            .filter_map(|id| t.token(id))
            .map(|tok| key(tok.as_bytes()).hash as usize & t.mask)
            .collect();
        // 4096 keys into 8192 slots: a random hash leaves about 3,223 distinct home slots.
        assert!(homes.len() > 3000, "{}", homes.len());
    }
}
