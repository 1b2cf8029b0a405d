//! The conventions of KenLM's Python module (`kenlm.pyx`), for the bindings that mirror it.
//!
//! Input: sentences and words as bytes (the module encodes a `str` as UTF-8 and passes `bytes`
//! as they are, valid UTF-8 or not). Output: the scores, flags and state order the module
//! gives, bit for bit.
//!
//! The module hands text to KenLM as C strings, so a NUL byte ends it:
//!
//! - `score(s)` with `bos` and `eos` passes the whole sentence to KenLM's `ScoreSentence` as one
//!   C string: the sentence ends at its first NUL, and is then split on bytes 9 to 13 and 32;
//! - every other call (`score` without `bos` or `eos`, `full_scores`, `BaseScore`, `in`) splits
//!   the sentence first with Python's `bytes.split()` (the same six bytes) and looks each word
//!   up as a C string: each word ends at its first NUL;
//! - `perplexity(s)` counts the words of the whole sentence (`len(s.split()) + 1`) but scores
//!   only what `score(s)` sees.
//!
//! Sums are in `f32` in word order, as the module's `cdef float total` (and `ScoreSentence`'s
//! `float ret`) accumulate them. OOV means the word's id is 0; `</s>` is never OOV.
//!
//! States compare as KenLM's `State::Compare` does: by length, then the word ids as the bytes
//! of their native (little-endian) representation (`memcmp`); backoffs are not compared.

use std::cmp::Ordering;

use super::score::{perplexity_of, split_words, Lookup};
use super::{FullScore, Model, State};
use crate::cancel::Cancel;
use crate::error::Result;

/// The part of `bytes` a C string holds: everything before the first NUL.
fn c_string(bytes: &[u8]) -> &[u8] {
    match memchr::memchr(0, bytes) {
        Some(end) => &bytes[..end],
        None => bytes,
    }
}

impl Model {
    /// The id the kenlm module gives `word` (`vocab.Index(word)`, the word read as a C string).
    pub fn kenlm_index(&self, word: &[u8]) -> u32 {
        self.index_bytes(c_string(word))
    }

    /// `word in model` of the kenlm module: the word has an id other than `<unk>`'s.
    pub fn kenlm_contains(&self, word: &[u8]) -> bool {
        self.kenlm_index(word) != 0
    }

    /// `model.score(sentence, bos, eos)` of the kenlm module. A sentence without a NUL byte
    /// (nearly all) is scored as [`Model::score`] scores it; one with a NUL follows the
    /// module's C-string rule.
    pub fn kenlm_score(&self, sentence: &[u8], bos: bool, eos: bool) -> f32 {
        with_view!(self, v => {
            if memchr::memchr(0, sentence).is_none() {
                return v.score(sentence, bos, eos);
            }
            let text = if bos && eos {
                c_string(sentence)
            } else {
                sentence
            };
            let mut total = 0.0f32;
            v.sentence_scores(split_words(text).map(|w| v.index(c_string(w))), bos, eos, |s| {
                total += s.prob
            });
            total
        })
    }

    /// `list(model.full_scores(sentence, bos, eos))` of the kenlm module: the words are split
    /// before they are cut at a NUL, whatever `bos` and `eos`.
    pub fn kenlm_full_scores(&self, sentence: &[u8], bos: bool, eos: bool) -> Vec<FullScore> {
        with_view!(self, v => {
            if memchr::memchr(0, sentence).is_none() {
                return v.full_scores(sentence, bos, eos);
            }
            let mut out = Vec::new();
            let ids = split_words(sentence).map(|w| v.index(c_string(w)));
            v.sentence_scores(ids, bos, eos, |s| out.push(s));
            out
        })
    }

    /// `model.perplexity(sentence)` of the kenlm module:
    /// `10 ** (-score(sentence) / (len(sentence.split()) + 1))`.
    pub fn kenlm_perplexity(&self, sentence: &[u8]) -> f64 {
        perplexity_of(self.kenlm_score(sentence, true, true), sentence)
    }

    /// [`Model::kenlm_score`] of every text, in parallel as [`Model::score_batch`] scores them;
    /// the few texts holding a NUL byte are scored again by the module's C-string rule, on the
    /// worker that scored them.
    pub fn kenlm_score_batch<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        bos: bool,
        eos: bool,
        cancel: &Cancel,
    ) -> Result<Vec<f32>> {
        self.batch(
            texts,
            cancel,
            |text, (score, _)| match memchr::memchr(0, text) {
                None => score,
                Some(_) => self.kenlm_score(text, bos, eos),
            },
            bos,
            eos,
        )
    }

    /// [`Model::kenlm_perplexity`] of every text, in parallel.
    pub fn kenlm_perplexity_batch<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        cancel: &Cancel,
    ) -> Result<Vec<f64>> {
        self.batch(
            texts,
            cancel,
            |text, (score, words)| match memchr::memchr(0, text) {
                None => super::score::perplexity_of_words(score, words),
                Some(_) => self.kenlm_perplexity(text),
            },
            true,
            true,
        )
    }
}

use super::probing::murmur_hash_64a;

impl State {
    /// KenLM's `hash_value(state)`: MurmurHash64A of the word ids' bytes, seed 0 (the kenlm
    /// module's `hash(state)` is this value as a signed 64-bit integer).
    pub fn kenlm_hash(&self) -> u64 {
        let bytes: Vec<u8> = self.words().iter().flat_map(|w| w.to_le_bytes()).collect();
        murmur_hash_64a(&bytes, 0)
    }

    /// KenLM's `State::Compare`: shorter states first, then the word ids compared as the bytes
    /// of their little-endian representation (the kenlm module's `<`, `==`, ... on states).
    pub fn kenlm_compare(&self, other: &State) -> Ordering {
        self.len().cmp(&other.len()).then_with(|| {
            let bytes =
                |s: &State| -> Vec<u8> { s.words().iter().flat_map(|w| w.to_le_bytes()).collect() };
            bytes(self).cmp(&bytes(other))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // The hand-written bigram model of the model tests.
    use crate::model::tests::model;

    #[test]
    fn plain_text_scores_as_the_core() {
        let m = model();
        for text in ["a b", "b zzz a", "", "  a\tb\x0b a ", "a\u{a0}b"] {
            for (bos, eos) in [(true, true), (true, false), (false, true), (false, false)] {
                assert_eq!(
                    m.kenlm_score(text.as_bytes(), bos, eos),
                    m.score(text, bos, eos)
                );
                assert_eq!(
                    m.kenlm_full_scores(text.as_bytes(), bos, eos),
                    m.full_scores(text, bos, eos)
                );
            }
            assert_eq!(m.kenlm_perplexity(text.as_bytes()), m.perplexity(text));
        }
    }

    #[test]
    fn nul_ends_the_sentence_with_bos_and_eos_and_each_word_otherwise() {
        let m = model();
        // ScoreSentence reads a C string: "a b" only.
        assert_eq!(
            m.kenlm_score(b"a b\0 zzz a", true, true),
            m.score("a b", true, true)
        );
        // Split first, then each word cut: "a", "b", "a".
        assert_eq!(
            m.kenlm_score(b"a b\0zzz a", false, true),
            m.score("a b a", false, true)
        );
        assert_eq!(
            m.kenlm_full_scores(b"a\0q b", true, true),
            m.full_scores("a b", true, true)
        );
        assert!(m.kenlm_contains(b"a\0zzz") && !m.kenlm_contains(b"\0a"));
        // perplexity counts the words of the whole sentence.
        let score = m.score("a", true, true);
        let want = 10f64.powf(-f64::from(score) / 4.0);
        assert_eq!(m.kenlm_perplexity(b"a\0b c d"), want);
    }

    #[test]
    fn batches_follow_the_same_rule() {
        let m = model();
        let texts = ["a b", "a\0b zzz", "\0", "b a\0 b", ""];
        let cancel = Cancel::new();
        for (bos, eos) in [(true, true), (false, true), (true, false)] {
            let batch = m
                .kenlm_score_batch(&texts, bos, eos, &cancel)
                .expect("batch");
            let single: Vec<f32> = texts
                .iter()
                .map(|t| m.kenlm_score(t.as_bytes(), bos, eos))
                .collect();
            assert_eq!(batch, single);
        }
        let ppl = m.kenlm_perplexity_batch(&texts, &cancel).expect("batch");
        let single: Vec<f64> = texts
            .iter()
            .map(|t| m.kenlm_perplexity(t.as_bytes()))
            .collect();
        assert_eq!(ppl, single);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_words_like_any_other() {
        let m = model();
        let s = m.kenlm_full_scores(b"a \xff\xfe b", false, false);
        assert_eq!(s.len(), 3);
        assert!(s[1].oov && !s[0].oov && !s[2].oov);
    }

    #[test]
    fn murmur_hash_64a_known_values() {
        // Values of KenLM's util::MurmurHash64A (and the kenlm module's hash of the states).
        assert_eq!(murmur_hash_64a(b"", 0), 0);
        assert_eq!(State::default().kenlm_hash(), 0);
        assert_eq!(
            State::single(1, 0.0).kenlm_hash() as i64,
            -780_611_581_681_153_783
        );
        // Every tail length takes its own branch.
        let hashes: Vec<u64> = (0..=16)
            .map(|n| murmur_hash_64a(&[7u8; 16][..n], 0))
            .collect();
        let mut distinct = hashes.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), hashes.len());
    }

    #[test]
    fn states_order_by_length_then_bytes() {
        let m = model();
        let null = m.null_context_state();
        let bos = m.begin_sentence_state();
        assert_eq!(null.kenlm_compare(&null), Ordering::Equal);
        assert_eq!(null.kenlm_compare(&bos), Ordering::Less);
        let mut a = State::default();
        let mut b = State::default();
        m.full_score(&null, m.index("a"), &mut a); // [3]
        m.full_score(&null, m.index("b"), &mut b); // [4]
        assert_eq!(a.kenlm_compare(&b), Ordering::Less);
        // memcmp of little-endian bytes: 256 = [0, 1, 0, 0] sorts before 1 = [1, 0, 0, 0].
        let x = State::single(256, 0.0);
        let y = State::single(1, 0.0);
        assert_eq!(x.kenlm_compare(&y), Ordering::Less);
    }
}
