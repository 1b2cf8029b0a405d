//! The vocabulary of an estimation: words and their ids in order of first appearance.
//!
//! Input: words as bytes. Output: dense ids (`<unk>`=0, `<s>`=1, `</s>`=2, then first
//! appearance) and the word of each id. Memory: the words' bytes in one arena, one offset per
//! word and a hash table of ids (about 5 bytes a word), [`Vocabulary::heap_bytes`] in all; no
//! allocation per word, so the ARPA writer copies words from one contiguous block.

use std::hash::{BuildHasher, BuildHasherDefault};

use hashbrown::HashTable;
use rustc_hash::FxHasher;

/// Bytes copied at once by [`Vocabulary::append_word`] for short words.
const FAST_COPY: usize = 16;

/// Words and their ids, in order of first appearance after the three specials.
#[derive(Default)]
pub struct Vocabulary {
    table: HashTable<u32>,
    /// The words back to back, followed by [`FAST_COPY`] zero bytes of slack.
    bytes: Vec<u8>,
    /// `ends[id]`: the end of word `id` in `bytes` (its start is `ends[id - 1]`, or 0).
    ends: Vec<usize>,
}

impl std::fmt::Debug for Vocabulary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vocabulary")
            .field("words", &self.len())
            .finish()
    }
}

fn hash(word: &[u8]) -> u64 {
    BuildHasherDefault::<FxHasher>::default().hash_one(word)
}

#[inline]
fn word_at<'a>(bytes: &'a [u8], ends: &[usize], id: u32) -> &'a [u8] {
    let id = id as usize;
    let start = if id == 0 { 0 } else { ends[id - 1] };
    &bytes[start..ends[id]]
}

impl Vocabulary {
    /// A vocabulary holding `<unk>`, `<s>`, `</s>` with ids 0, 1, 2.
    ///
    /// Example: `Vocabulary::with_specials().get(b"</s>") == Some(2)`.
    pub fn with_specials() -> Self {
        let mut v = Vocabulary {
            table: HashTable::new(),
            bytes: vec![0; FAST_COPY],
            ends: Vec::new(),
        };
        for w in ["<unk>", "<s>", "</s>"] {
            v.insert(w.as_bytes());
        }
        v
    }

    /// The id of `word`, assigning the next id if it is new.
    #[inline]
    pub fn insert(&mut self, word: &[u8]) -> u32 {
        let h = hash(word);
        let (bytes, ends) = (&self.bytes, &self.ends);
        if let Some(&id) = self.table.find(h, |&id| word_at(bytes, ends, id) == word) {
            return id;
        }
        let id = self.ends.len() as u32;
        // Replace the slack by the word, then restore the slack after it.
        self.bytes.truncate(self.bytes.len() - FAST_COPY);
        self.bytes.extend_from_slice(word);
        self.ends.push(self.bytes.len());
        self.bytes.extend_from_slice(&[0; FAST_COPY]);
        let (bytes, ends) = (&self.bytes, &self.ends);
        self.table
            .insert_unique(h, id, |&i| hash(word_at(bytes, ends, i)));
        id
    }

    /// The id of `word`, if known.
    pub fn get(&self, word: &[u8]) -> Option<u32> {
        let (bytes, ends) = (&self.bytes, &self.ends);
        self.table
            .find(hash(word), |&id| word_at(bytes, ends, id) == word)
            .copied()
    }

    /// The word with id `id`.
    #[inline]
    pub fn word(&self, id: u32) -> &[u8] {
        word_at(&self.bytes, &self.ends, id)
    }

    /// Appends the word with id `id` to `out`; words up to 16 bytes take one fixed-size copy.
    #[inline]
    pub fn append_word(&self, id: u32, out: &mut Vec<u8>) {
        let i = id as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let len = self.ends[i] - start;
        if len <= FAST_COPY {
            // The slack after the last word makes this in bounds for every word.
            let block: &[u8; FAST_COPY] = match self.bytes[start..start + FAST_COPY].try_into() {
                Ok(b) => b,
                Err(_) => return out.extend_from_slice(&self.bytes[start..start + len]),
            };
            out.extend_from_slice(block);
            out.truncate(out.len() - FAST_COPY + len);
        } else {
            out.extend_from_slice(&self.bytes[start..start + len]);
        }
    }

    /// Number of words, specials included.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether only the specials are present.
    pub fn is_empty(&self) -> bool {
        self.ends.len() <= 3
    }

    /// lmplz's `--renumber`: the same words with `<unk>` kept at 0 and every other word
    /// numbered in increasing MurmurHash64A (seed 0) of its bytes, the order of KenLM's sorted
    /// (trie) vocabulary. Returns the new vocabulary and `new_id[old_id]`.
    pub fn renumbered(&self) -> (Vocabulary, Vec<u32>) {
        let hash_of = |id: u32| crate::model::probing::murmur_hash_64a(self.word(id), 0);
        let mut order: Vec<(u64, u32)> =
            (1..self.len() as u32).map(|id| (hash_of(id), id)).collect();
        order.sort_unstable();
        let mut v = Vocabulary {
            table: HashTable::new(),
            bytes: vec![0; FAST_COPY],
            ends: Vec::new(),
        };
        let mut new_id = vec![0u32; self.len()];
        v.insert(self.word(0));
        for &(_, old) in &order {
            new_id[old as usize] = v.insert(self.word(old));
        }
        (v, new_id)
    }

    /// Heap bytes held (the arena, the offsets and the table), for the memory plan.
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
            + self.ends.capacity() * std::mem::size_of::<usize>()
            + self.table.capacity() * (std::mem::size_of::<u32>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_first_appearance_and_words_round_trip() {
        let mut v = Vocabulary::with_specials();
        let words: Vec<Vec<u8>> = (0..5000u32)
            .map(|i| format!("w{}{}", i % 1700, "x".repeat((i % 23) as usize)).into_bytes())
            .collect();
        let mut expected: Vec<Vec<u8>> = vec![b"<unk>".to_vec(), b"<s>".to_vec(), b"</s>".to_vec()];
        for w in &words {
            let id = v.insert(w);
            if id as usize == expected.len() {
                expected.push(w.clone());
            }
            assert_eq!(v.word(id), &w[..]);
            assert_eq!(v.get(w), Some(id));
        }
        assert_eq!(v.len(), expected.len());
        for (id, w) in expected.iter().enumerate() {
            let mut out = b"x".to_vec();
            v.append_word(id as u32, &mut out);
            assert_eq!(&out[1..], &w[..]);
        }
        assert_eq!(v.get(b"nope"), None);
        assert_eq!(v.get(b"</s>"), Some(2));
    }

    #[test]
    fn renumbered_keeps_unk_and_orders_by_murmur_hash() {
        let mut v = Vocabulary::with_specials();
        for i in 0..300u32 {
            v.insert(format!("word{i}").as_bytes());
        }
        let (r, new_id) = v.renumbered();
        assert_eq!(r.len(), v.len());
        assert_eq!(new_id[0], 0);
        assert_eq!(r.word(0), b"<unk>");
        let h = |w: &[u8]| crate::model::probing::murmur_hash_64a(w, 0);
        for id in 1..r.len() as u32 - 1 {
            assert!(h(r.word(id)) < h(r.word(id + 1)));
        }
        for old in 0..v.len() as u32 {
            assert_eq!(r.word(new_id[old as usize]), v.word(old));
            assert_eq!(r.get(v.word(old)), Some(new_id[old as usize]));
        }
    }
}
