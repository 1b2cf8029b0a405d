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

use rayon::prelude::*;
use rustc_hash::FxHashMap;

pub use super::vocabulary::Vocabulary;

use super::{BOS, EOS, UNK};
use crate::cancel::Cancel;
use crate::error::{Error, Location, Result};
use crate::sort::{add_counts, KeyOrder, Layout, SortedStream, Sorter, TempDir};
use crate::text::whitespace::lmplz_spans;

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
}

impl Counter {
    /// A counter with a sort buffer of `memory` bytes in `temp`.
    pub fn new(opts: CountOptions, memory: usize, temp: &TempDir, cancel: &Cancel) -> Self {
        let sorter = window_sorter(opts.order, memory, temp, cancel);
        Counter {
            record: vec![0; opts.order + 2],
            opts,
            vocab: Vocabulary::with_specials(),
            sorter,
            sentence: Vec::new(),
            tokens: 0,
            cancel: cancel.clone(),
        }
    }

    /// Adds chunks of whole lines, tokenizing them in parallel; ids are still given in order of
    /// first appearance, so the result equals adding the lines one by one.
    pub fn add_chunks(&mut self, chunks: &[Chunk]) -> Result<()> {
        self.cancel.check()?;
        let opts = &self.opts;
        let locals: Vec<Result<LocalChunk<'_>>> =
            chunks.par_iter().map(|c| tokenize_chunk(c, opts)).collect();
        let mut map: Vec<u32> = Vec::new();
        for local in locals {
            let local = local?;
            map.clear();
            for w in &local.words {
                map.push(self.vocab.insert(w));
            }
            self.tokens += local.tokens;
            self.sentence.clear();
            self.sentence.push(BOS);
            for &id in &local.ids {
                if id >= END_UNTERMINATED {
                    if id == END_TERMINATED || !self.opts.lmplz_final_line {
                        self.sentence.push(EOS);
                    }
                    self.emit_windows()?;
                    self.sentence.clear();
                    self.sentence.push(BOS);
                } else {
                    self.sentence.push(map[id as usize]);
                }
            }
        }
        Ok(())
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
        let (vocab, stream, tokens, _) = self.finish_keeping_buffer()?;
        Ok((vocab, stream, tokens))
    }

    /// [`Counter::finish`], also handing back the sort buffer when the windows are merged
    /// from disk (see [`Sorter::finish_keeping_buffer`]).
    pub fn finish_keeping_buffer(self) -> Result<(Vocabulary, SortedStream, u64, Vec<u32>)> {
        let (stream, buf) = self.sorter.finish_keeping_buffer()?;
        Ok((self.vocab, stream, self.tokens, buf))
    }
}

/// The sorter of counted order-`order` windows `[w0 .. w(order-1) | count u64]`: suffix order,
/// equal windows' counts added. Used by counting and by every merge of count files.
pub(crate) fn window_sorter(
    order: usize,
    memory: usize,
    temp: &TempDir,
    cancel: &Cancel,
) -> Sorter {
    Sorter::new(
        Layout {
            key_words: order,
            payload_words: 2,
        },
        KeyOrder::Suffix,
        Some(add_counts),
        memory,
        temp,
        cancel,
    )
}

/// A piece of input holding whole lines, for parallel tokenization.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// The bytes: lines each ended by `\n`, except perhaps the last line of the input.
    pub text: Vec<u8>,
    /// The 1-based number of the first line.
    pub first_line: u64,
    /// The input's name, for errors.
    pub source: std::sync::Arc<str>,
}

const END_TERMINATED: u32 = u32::MAX;
const END_UNTERMINATED: u32 = u32::MAX - 1;

/// A chunk's tokens as chunk-local ids (in order of first appearance in the chunk), sentences
/// ended by a marker.
struct LocalChunk<'a> {
    words: Vec<Cow<'a, [u8]>>,
    ids: Vec<u32>,
    tokens: u64,
}

fn tokenize_chunk<'a>(chunk: &'a Chunk, opts: &CountOptions) -> Result<LocalChunk<'a>> {
    match std::str::from_utf8(&chunk.text) {
        Ok(_) => {
            let (words, ids, tokens) = tokenize_lines(&chunk.text, chunk, opts)?;
            let words = words.into_iter().map(Cow::Borrowed).collect();
            Ok(LocalChunk { words, ids, tokens })
        }
        Err(_) if opts.replace_invalid_utf8 => {
            let text = String::from_utf8_lossy(&chunk.text)
                .into_owned()
                .into_bytes();
            let (words, ids, tokens) = tokenize_lines(&text, chunk, opts)?;
            let words = words.into_iter().map(|w| Cow::Owned(w.to_vec())).collect();
            Ok(LocalChunk { words, ids, tokens })
        }
        Err(e) => {
            let pos = e.valid_up_to();
            let before = &chunk.text[..pos];
            let line = chunk.first_line + memchr::memchr_iter(b'\n', before).count() as u64;
            let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
            Err(Error::InvalidUtf8 {
                at: Location::new(&*chunk.source, line),
                byte_offset: pos - line_start,
            })
        }
    }
}

type Tokenized<'t> = (Vec<&'t [u8]>, Vec<u32>, u64);

/// Splits `text` into lines and tokens: chunk-local word list, ids with end markers, tokens.
fn tokenize_lines<'t>(text: &'t [u8], chunk: &Chunk, opts: &CountOptions) -> Result<Tokenized<'t>> {
    let mut local: FxHashMap<&'t [u8], u32> = FxHashMap::default();
    let mut words: Vec<&'t [u8]> = Vec::new();
    let mut ids: Vec<u32> = Vec::with_capacity(text.len() / 4);
    let mut tokens = 0u64;
    let mut rest: &'t [u8] = text;
    let mut line_no = chunk.first_line;
    while !rest.is_empty() {
        let (line, terminated, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], true, &rest[i + 1..]),
            None => (rest, false, &rest[rest.len()..]),
        };
        for tok in lmplz_spans(line).map(|(start, end)| &line[start..end]) {
            if matches!(tok, b"<s>" | b"</s>" | b"<unk>") {
                if opts.skip_symbols {
                    continue;
                }
                return Err(Error::SpecialInCorpus {
                    at: Location::new(&*chunk.source, line_no),
                    word: String::from_utf8_lossy(tok).into_owned(),
                });
            }
            let next_id = words.len() as u32;
            let id = *local.entry(tok).or_insert_with(|| {
                words.push(tok);
                next_id
            });
            ids.push(id);
            tokens += 1;
        }
        ids.push(if terminated {
            END_TERMINATED
        } else {
            END_UNTERMINATED
        });
        rest = next;
        line_no += 1;
    }
    Ok((words, ids, tokens))
}

/// Whether `id` is one of `<unk>`, `<s>`, `</s>`.
pub fn is_special(id: u32) -> bool {
    id == UNK || id == BOS || id == EOS
}
