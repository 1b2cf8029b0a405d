//! Text to ids and back.
//!
//! Input: text split by a [`Tokenizer`] (or ids, for decoding). Output: one `u32` id per token,
//! in order; a batch gives its ids back to back with `offsets` (`offsets[i]..offsets[i + 1]` are
//! text `i`'s ids). Tokens not in the vocabulary become the `<unk>` id, or an error when
//! [`Unknown::Raise`] is asked. Decoding joins the tokens with one space, so
//! `decode(encode(text))` is the tokenized text with `<unk>` for unknown tokens.
//!
//! Parallelism: a batch is cut into contiguous chunks encoded on rayon's threads, then joined in
//! order; the result does not depend on the thread count. Memory: the output, plus one copy of
//! the ids while the chunks are joined; the chunks' buffers are kept for the next batch (at
//! most [`SPARE_BYTES`] in all), so that a batch does not fault its working memory in anew.

use std::sync::Mutex;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::text::tokenize::{Mode, Tokenizer};
use crate::text::whitespace::is_lmplz_space;
#[cfg(doc)]
use crate::text::whitespace::Rule;

use super::table::{load8, Probe, TokenTable};
use super::{Vocab, UNK};

/// Batches of less text than this (in bytes) are encoded on the calling thread.
pub const SEQUENTIAL_BYTES: usize = 1 << 15;

/// Whether `texts` is a batch to encode on the calling thread (see [`SEQUENTIAL_BYTES`]).
pub fn is_small<S: AsRef<str>>(texts: &[S]) -> bool {
    texts.len() <= 1 || texts.iter().map(|t| t.as_ref().len()).sum::<usize>() < SEQUENTIAL_BYTES
}

/// The most capacity (in bytes) of chunk buffers [`Vocab::encode_batch`] keeps between batches.
pub const SPARE_BYTES: usize = 64 << 20;

/// Chunk buffers of earlier batches, emptied, for the next batch's chunks: a fresh buffer is
/// new pages, faulted in anew on every batch.
pub(super) static SPARE: Mutex<Vec<Vec<u32>>> = Mutex::new(Vec::new());

/// A buffer for a chunk's ids: a kept one, or a new one.
fn take_buffer() -> Vec<u32> {
    SPARE
        .lock()
        .ok()
        .and_then(|mut spare| spare.pop())
        .unwrap_or_default()
}

/// Keeps `buffers` (emptied) for later chunks, as long as [`SPARE_BYTES`] allows.
fn keep_buffers(buffers: impl IntoIterator<Item = Vec<u32>>) {
    let Ok(mut spare) = SPARE.lock() else {
        return;
    };
    let mut kept: usize = spare.iter().map(|b| b.capacity() * 4).sum();
    for mut b in buffers {
        if kept + b.capacity() * 4 <= SPARE_BYTES {
            kept += b.capacity() * 4;
            b.clear();
            spare.push(b);
        }
    }
}

/// Lookups in flight: a token's lookup is finished this many tokens after it is begun (see
/// [`Vocab::encode_lmplz`]).
const LOOKAHEAD: usize = 16;

/// Whether `t` is lmplz's whitespace rule with nothing else (no lowercasing, no stopwords).
fn is_plain_lmplz(t: &Tokenizer) -> bool {
    matches!(t.mode(), Mode::Whitespace) && !t.lowercases() && t.stopwords().is_none()
}

/// The high bit of each byte of `w` below 0x21 (where every separator lies) is set, and maybe
/// of bytes above such a byte (a borrow): the lowest set bit is always exact.
#[inline(always)]
fn below_0x21(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    w.wrapping_sub(ONES * 0x21) & !w & HIGHS
}

/// A mask of the low `n` bytes of a 16-byte word (`n < 16`), as its low and high halves: one
/// 128-bit shift, without a branch on `n`.
#[inline(always)]
fn low_bytes16(n: usize) -> (u64, u64) {
    debug_assert!(n < 16);
    let mask = (1u128 << (8 * n)) - 1;
    (mask as u64, (mask >> 64) as u64)
}

/// The index of the first of lmplz's separators in `bytes[from..]`, or `bytes.len()`. Eight
/// bytes at a time: the separators are all below 0x21, and the lowest byte flagged by the
/// "has a byte below 0x21" word trick is always a true one (only bytes above a true one can be
/// flagged falsely), so each flagged byte is checked and the scan goes on past a control
/// character that is not a separator.
#[inline(always)]
fn next_lmplz_space(bytes: &[u8], mut from: usize) -> usize {
    while from + 8 <= bytes.len() {
        let below = below_0x21(load8(bytes, from));
        if below == 0 {
            from += 8;
            continue;
        }
        let at = from + (below.trailing_zeros() / 8) as usize;
        if is_lmplz_space(bytes[at]) {
            return at;
        }
        from = at + 1;
    }
    while from < bytes.len() && !is_lmplz_space(bytes[from]) {
        from += 1;
    }
    from
}

/// How much of a text [`Vocab::encode_lmplz`] prefetches, [`TEXTS_AHEAD`] texts before it
/// splits it.
const PREFETCH_TEXT_BYTES: usize = 1024;

/// How many texts ahead [`Vocab::encode_lmplz`] prefetches: a batch's texts (Python strings)
/// lie apart in memory, and the first read of each had been the wait. `encode_batch`'s best of
/// 30 on bench_encode's 200,000 en-bench lines and vocabulary (`python benchmarks/bench_encode.py
/// --repeat 30`, with these constants set to each value): none 0.070 s; one ahead 0.060 s; two
/// 0.058 s; four 0.059 s; eight 0.066 s; two with 512 or 2,048 bytes 0.061 / 0.059 s.
const TEXTS_AHEAD: usize = 2;

/// Prefetches the cache lines of the first [`PREFETCH_TEXT_BYTES`] of `bytes`.
#[inline(always)]
fn prefetch_text(bytes: &[u8]) {
    let head = &bytes[..bytes.len().min(PREFETCH_TEXT_BYTES)];
    for line in head.chunks(64) {
        crate::model::probing::prefetch(line.as_ptr());
    }
}

/// What to do with a token that is not in the vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unknown {
    /// Use the id of `<unk>` (an error if the vocabulary has no `<unk>`).
    #[default]
    Unk,
    /// Fail with an error naming the token.
    Raise,
}

impl Unknown {
    /// `"unk"` (or `"map"`) or `"raise"`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "unk" | "map" => Ok(Unknown::Unk),
            "raise" => Ok(Unknown::Raise),
            other => Err(Error::InvalidArgument(format!(
                "unk must be \"unk\" or \"raise\", got {other:?}"
            ))),
        }
    }
}

/// The ids of a batch of texts, back to back, and where each text's ids start and end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedBatch {
    /// All ids, text after text.
    pub ids: Vec<u32>,
    /// `len + 1` offsets into `ids`: text `i` has `ids[offsets[i]..offsets[i + 1]]`.
    pub offsets: Vec<i64>,
}

impl Vocab {
    /// Appends the ids of each text of `texts` to `out`, in order; after each text, calls
    /// `done(index, n, out)` with the text's index and the number of ids appended for it (it
    /// may append more, such as an end-of-document id; the ids just appended may still be
    /// placeholders then, filled in before this returns). Returns the index of the text and the
    /// first unknown token when `unk` is `None` (raise mode); `out` is then incomplete.
    #[inline]
    pub(crate) fn encode_texts_into<'t>(
        &self,
        tokenizer: &Tokenizer,
        texts: impl IntoIterator<Item = &'t str, IntoIter: Clone>,
        unk: Option<u32>,
        out: &mut Vec<u32>,
        mut done: impl FnMut(usize, usize, &mut Vec<u32>),
    ) -> Option<(usize, String)> {
        if is_plain_lmplz(tokenizer) {
            return self.encode_lmplz(texts, unk, out, done);
        }
        for (index, text) in texts.into_iter().enumerate() {
            let before = out.len();
            let mut missing: Option<String> = None;
            tokenizer.for_each_token(text, &mut |token| match self.token_to_id(token) {
                Some(id) => out.push(id),
                None => match unk {
                    Some(u) => out.push(u),
                    None => {
                        if missing.is_none() {
                            missing = Some(token.to_string());
                        }
                    }
                },
            });
            if let Some(token) = missing {
                return Some((index, token));
            }
            let n = out.len() - before;
            done(index, n, out);
        }
        None
    }

    /// [`Vocab::encode_texts_into`] for lmplz's whitespace tokenizer without lowercasing or
    /// stopwords: the separators are ASCII bytes, so the text is split as bytes (a UTF-8
    /// sequence never holds an ASCII byte), giving the tokens of [`Rule::Lmplz`]'s split.
    ///
    /// The lookups are pipelined across tokens and texts: each token's slot is prefetched when
    /// it is split off, a placeholder id is appended for it, and its lookup is finished
    /// [`LOOKAHEAD`] tokens later (or at the end), overwriting the placeholder, so that about
    /// `LOOKAHEAD` cache misses are always in flight, also over the ends of (short) texts. The
    /// text [`TEXTS_AHEAD`] places on is prefetched when a text is begun.
    fn encode_lmplz<'t>(
        &self,
        texts: impl IntoIterator<Item = &'t str, IntoIter: Clone>,
        unk: Option<u32>,
        out: &mut Vec<u32>,
        mut done: impl FnMut(usize, usize, &mut Vec<u32>),
    ) -> Option<(usize, String)> {
        // A ring of lookups begun and not finished: the token, its probe, where its id goes
        // in `out`, and its text's index.
        let mut ring: [(&[u8], Probe, usize, usize); LOOKAHEAD] =
            [(&[][..], Probe::default(), 0, 0); LOOKAHEAD];
        let (mut head, mut pending) = (0usize, 0usize);
        let texts = texts.into_iter();
        let mut ahead = texts.clone().skip(TEXTS_AHEAD);
        for (index, text) in texts.enumerate() {
            if let Some(next) = ahead.next() {
                prefetch_text(next.as_bytes());
            }
            let bytes = text.as_bytes();
            let n = bytes.len();
            let before = out.len();
            let mut i = 0;
            loop {
                while i < n && is_lmplz_space(bytes[i]) {
                    i += 1;
                }
                if i == n {
                    break;
                }
                let start = i;
                // The common case, without a branch on the token's length: a token shorter
                // than 16 bytes followed by a separator, inside one 16-byte load.
                let short = bytes.get(start..start + 16).and_then(|window| {
                    let (w0, w1) = (load8(window, 0), load8(window, 8));
                    let flags = u128::from(below_0x21(w0)) | (u128::from(below_0x21(w1)) << 64);
                    let len = (flags.trailing_zeros() / 8) as usize;
                    (len < 16 && is_lmplz_space(window[len])).then(|| {
                        let (m0, m1) = low_bytes16(len);
                        let (k0, k1) = (w0 & m0, w1 & m1);
                        (len, self.table.probe_short(k0, k1, len))
                    })
                });
                let probe = match short {
                    Some((len, probe)) => {
                        i = start + len;
                        probe
                    }
                    None => {
                        i = next_lmplz_space(bytes, start + 1);
                        self.table.probe(&bytes[start..i])
                    }
                };
                if pending == LOOKAHEAD {
                    if let Some(missing) = finish_lookup(&self.table, &ring[head], unk, out) {
                        return Some(missing);
                    }
                    head = (head + 1) % LOOKAHEAD;
                    pending -= 1;
                }
                ring[(head + pending) % LOOKAHEAD] = (&bytes[start..i], probe, out.len(), index);
                pending += 1;
                out.push(0);
            }
            let count = out.len() - before;
            done(index, count, out);
        }
        while pending > 0 {
            if let Some(missing) = finish_lookup(&self.table, &ring[head], unk, out) {
                return Some(missing);
            }
            head = (head + 1) % LOOKAHEAD;
            pending -= 1;
        }
        None
    }

    /// The id unknown tokens get under `unknown`, or `None` to raise. Errors when `<unk>` is
    /// asked for but the vocabulary has none.
    pub(crate) fn unknown_id(&self, unknown: Unknown) -> Result<Option<u32>> {
        match unknown {
            Unknown::Raise => Ok(None),
            Unknown::Unk => self.unk_id().map(Some).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "the vocabulary has no {UNK} token to map unknown tokens to; pass unk=\"raise\" or build it with {UNK} among the specials"
                ))
            }),
        }
    }

    /// The ids of the tokens of `text`.
    ///
    /// Example:
    /// ```
    /// use kneser::text::tokenize::Tokenizer;
    /// use kneser::vocab::{Unknown, Vocab};
    /// let v = Vocab::from_entries(vec![("<unk>".into(), 0), ("a".into(), 1)], 1).unwrap();
    /// assert_eq!(v.encode(&Tokenizer::whitespace(), "a zz a", Unknown::Unk).unwrap(), [1, 0, 1]);
    /// assert!(v.encode(&Tokenizer::whitespace(), "zz", Unknown::Raise).is_err());
    /// ```
    pub fn encode(&self, tokenizer: &Tokenizer, text: &str, unknown: Unknown) -> Result<Vec<u32>> {
        let unk = self.unknown_id(unknown)?;
        let mut out = Vec::new();
        match self.encode_texts_into(tokenizer, [text], unk, &mut out, |_, _, _| {}) {
            None => Ok(out),
            Some((_, token)) => Err(not_in_vocab(&token, None)),
        }
    }

    /// The ids of many texts, encoded in parallel, with offsets.
    ///
    /// Example:
    /// ```
    /// use kneser::text::tokenize::Tokenizer;
    /// use kneser::vocab::{Unknown, Vocab};
    /// let v = Vocab::from_entries(vec![("<unk>".into(), 0), ("a".into(), 1)], 1).unwrap();
    /// let b = v.encode_batch(&Tokenizer::whitespace(), &["a", "", "b a"], Unknown::Unk).unwrap();
    /// assert_eq!((b.ids, b.offsets), (vec![1, 0, 1], vec![0, 1, 1, 3]));
    /// ```
    pub fn encode_batch<S: AsRef<str> + Sync>(
        &self,
        tokenizer: &Tokenizer,
        texts: &[S],
        unknown: Unknown,
    ) -> Result<EncodedBatch> {
        let unk = self.unknown_id(unknown)?;
        let chunk = texts
            .len()
            .div_ceil(rayon::current_num_threads() * 8)
            .max(64);
        let small = is_small(texts);
        let encode_chunk = |c: usize, texts: &[S]| {
            // A small batch's one chunk becomes the output: a fresh buffer of its own size.
            let mut ids = if small { Vec::new() } else { take_buffer() };
            let mut lens = Vec::with_capacity(texts.len());
            let texts = texts.iter().map(AsRef::as_ref);
            let record = |_, n: usize, _: &mut Vec<u32>| lens.push(n as u32);
            match self.encode_texts_into(tokenizer, texts, unk, &mut ids, record) {
                Some((i, token)) => Err(not_in_vocab(&token, Some(c * chunk + i))),
                None => Ok((ids, lens)),
            }
        };
        let parts: Vec<(Vec<u32>, Vec<u32>)> = if small {
            // Handing a small batch to the thread pool costs more than encoding it.
            vec![encode_chunk(0, texts)?]
        } else {
            texts
                .par_chunks(chunk)
                .enumerate()
                .map(|(c, texts)| encode_chunk(c, texts))
                .collect::<Result<_>>()?
        };
        Ok(join(parts, texts.len()))
    }

    /// The tokens of `ids` joined by single spaces.
    ///
    /// Example:
    /// ```
    /// let v = kneser::vocab::Vocab::from_entries(vec![("<unk>".into(), 0), ("a".into(), 1)], 1).unwrap();
    /// assert_eq!(v.decode(&[1, 0]).unwrap(), "a <unk>");
    /// ```
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        let mut out = String::new();
        for (i, &id) in ids.iter().enumerate() {
            let token = self.id_to_token(id).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "id {id} at position {i} is out of range for a vocabulary of {} tokens",
                    self.len()
                ))
            })?;
            if i > 0 {
                out.push(' ');
            }
            out.push_str(token);
        }
        Ok(out)
    }
}

/// The chunks' ids and per-text lengths of [`Vocab::encode_batch`] joined into one batch of
/// `texts` texts. The ids are copied on rayon's threads, each chunk into its own place of a
/// zeroed buffer (fresh zero pages from the allocator, cleared by the kernel on the thread that
/// first writes them, so the clearing is shared too): the join was a tenth of the time.
fn join(parts: Vec<(Vec<u32>, Vec<u32>)>, texts: usize) -> EncodedBatch {
    let total: usize = parts.iter().map(|(ids, _)| ids.len()).sum();
    let mut offsets = Vec::with_capacity(texts + 1);
    offsets.push(0);
    let mut end = 0i64;
    for (_, lens) in &parts {
        for &len in lens {
            end += i64::from(len);
            offsets.push(end);
        }
    }
    if parts.len() == 1 {
        let mut ids = parts
            .into_iter()
            .next()
            .map(|(ids, _)| ids)
            .unwrap_or_default();
        // A kept buffer may be far larger than this output, which the caller holds on to.
        if ids.capacity() > 2 * ids.len() + 4096 {
            ids.shrink_to_fit();
        }
        return EncodedBatch { ids, offsets };
    }
    let mut ids = vec![0u32; total];
    {
        let mut places = Vec::with_capacity(parts.len());
        let mut rest = ids.as_mut_slice();
        for (part, _) in &parts {
            let (place, tail) = rest.split_at_mut(part.len());
            places.push(place);
            rest = tail;
        }
        places
            .into_par_iter()
            .zip(parts.par_iter())
            .for_each(|(place, (part, _))| place.copy_from_slice(part));
    }
    keep_buffers(parts.into_iter().map(|(part, _)| part));
    EncodedBatch { ids, offsets }
}

/// The error for an unknown token in raise mode; `index` is the text's index in a batch.
pub(crate) fn not_in_vocab(token: &str, index: Option<usize>) -> Error {
    let place = index.map(|i| format!("texts[{i}]: ")).unwrap_or_default();
    Error::InvalidArgument(format!(
        "{place}token {token:?} is not in the vocabulary (unk=\"raise\"); pass unk=\"unk\" to map it to {UNK}"
    ))
}

/// Finishes a lookup begun by [`Vocab::encode_lmplz`]: writes the token's id over its
/// placeholder, or returns the text's index and the token when it is unknown and there is no
/// `unk`. A function always inlined rather than a closure, which the compiler kept out of line
/// (one call per token).
#[inline(always)]
fn finish_lookup(
    table: &TokenTable,
    (token, probe, at, index): &(&[u8], Probe, usize, usize),
    unk: Option<u32>,
    out: &mut [u32],
) -> Option<(usize, String)> {
    match (table.resolve(probe, token), unk) {
        (Some(id), _) | (None, Some(id)) => {
            out[*at] = id;
            None
        }
        // Cut at separator bytes, so on character boundaries.
        (None, None) => Some((*index, String::from_utf8_lossy(token).into_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_lmplz_space_finds_the_first_separator() {
        let alphabet: &[u8] = b"ab \t\r\n\0\x0b\x0c\x1f\x20\x21\x7f\xc3\xa9";
        let mut seed = 12345u64;
        for len in 0..40 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                        alphabet[(seed >> 33) as usize % alphabet.len()]
                    })
                    .collect();
                for from in 0..=len {
                    let want = (from..len)
                        .find(|&i| is_lmplz_space(bytes[i]))
                        .unwrap_or(len);
                    assert_eq!(next_lmplz_space(&bytes, from), want, "{bytes:?} {from}");
                }
            }
        }
    }
}
