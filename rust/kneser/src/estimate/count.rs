//! Stage 1: text to counted order-N windows (lmplz's `corpus_count`).
//!
//! Input: lines of text. Each line is a sentence `<s> w1 ... wn </s>`, tokens split by lmplz's
//! whitespace rule; text after the last newline gets no `</s>` (lmplz's behaviour, on by
//! default). Words get ids in order of first appearance after `<unk>`=0, `<s>`=1, `</s>`=2.
//! Output: one record `[w0 .. w(N-1) | count u64]` per distinct window ending at each token
//! after `<s>`, windows reaching before the sentence start left-padded with `<s>`, combined and
//! sorted in [`KeyOrder::Suffix`] by the external sorter. Memory: the vocabulary plus the sort
//! buffer (the budget).

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use super::{BOS, EOS, UNK};
use crate::cancel::Cancel;
use crate::error::{Error, Location, Result};
use crate::sort::{add_counts, KeyOrder, Layout, SortedStream, Sorter, TempDir};
use crate::text::whitespace::lmplz_tokens;

/// Words and their ids, in order of first appearance after the three specials.
#[derive(Debug, Default)]
pub struct Vocabulary {
    ids: FxHashMap<Box<[u8]>, u32>,
    words: Vec<Box<[u8]>>,
}

impl Vocabulary {
    /// A vocabulary holding `<unk>`, `<s>`, `</s>` with ids 0, 1, 2.
    pub fn with_specials() -> Self {
        let mut v = Vocabulary::default();
        for w in ["<unk>", "<s>", "</s>"] {
            v.insert(w.as_bytes());
        }
        v
    }

    /// The id of `word`, assigning the next id if it is new.
    #[inline]
    pub fn insert(&mut self, word: &[u8]) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = self.words.len() as u32;
        let boxed: Box<[u8]> = word.into();
        self.words.push(boxed.clone());
        self.ids.insert(boxed, id);
        id
    }

    /// The id of `word`, if known.
    pub fn get(&self, word: &[u8]) -> Option<u32> {
        self.ids.get(word).copied()
    }

    /// The word with id `id`.
    pub fn word(&self, id: u32) -> &[u8] {
        &self.words[id as usize]
    }

    /// Number of words, specials included.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether only the specials are present.
    pub fn is_empty(&self) -> bool {
        self.words.len() <= 3
    }
}

/// Options of the counting stage.
#[derive(Debug, Clone)]
pub struct CountOptions {
    /// Model order N.
    pub order: usize,
    /// Treat `<s>`, `</s>`, `<unk>` as whitespace.
    pub skip_symbols: bool,
    /// Replace invalid UTF-8 instead of failing.
    pub replace_invalid_utf8: bool,
    /// Text after the last newline gets no `</s>`.
    pub lmplz_final_line: bool,
}

/// Turns lines into counted windows; see the module doc.
pub struct Counter {
    opts: CountOptions,
    vocab: Vocabulary,
    sorter: Sorter,
    sentence: Vec<u32>,
    record: Vec<u32>,
    tokens: u64,
    cancel: Cancel,
    lines_since_check: u32,
}

impl Counter {
    /// A counter with a sort buffer of `memory` bytes in `temp`.
    pub fn new(opts: CountOptions, memory: usize, temp: &TempDir, cancel: &Cancel) -> Self {
        let layout = Layout {
            key_words: opts.order,
            payload_words: 2,
        };
        let sorter = Sorter::new(
            layout,
            KeyOrder::Suffix,
            Some(add_counts),
            memory,
            temp,
            cancel,
        );
        Counter {
            record: vec![0; opts.order + 2],
            opts,
            vocab: Vocabulary::with_specials(),
            sorter,
            sentence: Vec::new(),
            tokens: 0,
            cancel: cancel.clone(),
            lines_since_check: 0,
        }
    }

    /// Adds one line. `terminated` says whether a newline ended it; `at` names it in errors.
    pub fn add_line(
        &mut self,
        line: &[u8],
        terminated: bool,
        at: impl Fn() -> Location,
    ) -> Result<()> {
        self.lines_since_check += 1;
        if self.lines_since_check >= 4096 {
            self.lines_since_check = 0;
            self.cancel.check()?;
        }
        let line: Cow<'_, [u8]> = match std::str::from_utf8(line) {
            Ok(_) => Cow::Borrowed(line),
            Err(e) => {
                if self.opts.replace_invalid_utf8 {
                    Cow::Owned(String::from_utf8_lossy(line).into_owned().into_bytes())
                } else {
                    return Err(Error::InvalidUtf8 {
                        at: at(),
                        byte_offset: e.valid_up_to(),
                    });
                }
            }
        };
        self.sentence.clear();
        self.sentence.push(BOS);
        for tok in lmplz_tokens(&line) {
            let id = self.vocab.insert(tok);
            if id <= EOS {
                if self.opts.skip_symbols {
                    continue;
                }
                let word = String::from_utf8_lossy(tok).into_owned();
                return Err(Error::SpecialInCorpus { at: at(), word });
            }
            self.sentence.push(id);
        }
        self.tokens += (self.sentence.len() - 1) as u64;
        if terminated || !self.opts.lmplz_final_line {
            self.sentence.push(EOS);
        }
        self.emit_windows()
    }

    fn emit_windows(&mut self) -> Result<()> {
        let n = self.opts.order;
        let s = &self.sentence;
        for end in 1..s.len() {
            // Window of n words ending at `end`, left-padded with <s>.
            let start = end as isize + 1 - n as isize;
            for (j, slot) in self.record[..n].iter_mut().enumerate() {
                let pos = start + j as isize;
                *slot = if pos < 0 { BOS } else { s[pos as usize] };
            }
            self.record[n] = 1;
            self.record[n + 1] = 0;
            self.sorter.push(&self.record)?;
        }
        Ok(())
    }

    /// Tokens read so far (without `<s>` and `</s>`).
    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    /// The vocabulary so far.
    pub fn vocab(&self) -> &Vocabulary {
        &self.vocab
    }

    /// Sorts what was counted; returns the vocabulary and the sorted windows.
    pub fn finish(self) -> Result<(Vocabulary, SortedStream, u64)> {
        let stream = self.sorter.finish()?;
        Ok((self.vocab, stream, self.tokens))
    }
}

/// Whether `id` is one of `<unk>`, `<s>`, `</s>`.
pub fn is_special(id: u32) -> bool {
    id == UNK || id == BOS || id == EOS
}
