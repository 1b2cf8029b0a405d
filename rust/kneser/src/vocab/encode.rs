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
use crate::text::whitespace::lmplz_spans;
#[cfg(doc)]
use crate::text::whitespace::Rule;

use super::table::{load8, Probe, TokenTable, INLINE};
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

/// The tokens whose lookups [`Vocab::encode_lmplz`] begins before it finishes any (a group,
/// over the ends of texts, and of at most this many tokens, whatever a text's length).
const GROUP: usize = 64;

/// Whether `t` is lmplz's whitespace rule with nothing else (no lowercasing, no stopwords).
fn is_plain_lmplz(t: &Tokenizer) -> bool {
    matches!(t.mode(), Mode::Whitespace) && !t.lowercases() && t.stopwords().is_none()
}

/// `LOW_BYTES[n]`: a mask of the low `n` bytes of a 16-byte word (`n <= 16`), as its low and
/// high halves.
const LOW_BYTES: [(u64, u64); INLINE + 1] = {
    let mut t = [(0u64, 0u64); INLINE + 1];
    let mut n = 0;
    while n <= INLINE {
        let mask = if n == INLINE {
            u128::MAX
        } else {
            (1u128 << (8 * n)) - 1
        };
        t[n] = (mask as u64, (mask >> 64) as u64);
        n += 1;
    }
    t
};

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
    /// The lookups are batched in groups of tokens: each token's slot is prefetched when it
    /// is split off, with a placeholder id appended for it; once a group holds [`GROUP`]
    /// tokens (or at the end), its lookups are finished in order, overwriting the
    /// placeholders, so that each slot is read about a group's worth of tokens after its
    /// prefetch (also over the ends of short texts), in a buffer of fixed size. Tokens longer than 16 bytes (a few in a hundred)
    /// are looked up when split off. The text [`TEXTS_AHEAD`] places on is prefetched when a
    /// text is begun.
    fn encode_lmplz<'t>(
        &self,
        texts: impl IntoIterator<Item = &'t str, IntoIter: Clone>,
        unk: Option<u32>,
        out: &mut Vec<u32>,
        mut done: impl FnMut(usize, usize, &mut Vec<u32>),
    ) -> Option<(usize, String)> {
        // The group's lookups begun, in token order, and the runs of tokens they come from.
        let mut lookups: Vec<Lookup> = Vec::with_capacity(GROUP);
        let mut group: Vec<Run<'t>> = Vec::new();
        let texts = texts.into_iter();
        let mut ahead = texts.clone().skip(TEXTS_AHEAD);
        for (index, text) in texts.enumerate() {
            if let Some(next) = ahead.next() {
                prefetch_text(next.as_bytes());
            }
            let bytes = text.as_bytes();
            let before = out.len();
            let mut run = Run {
                at: before,
                count: 0,
                index,
                text,
                first: 0,
            };
            for (start, end) in lmplz_spans(bytes) {
                let len = end - start;
                // The common case: a token of at most 16 bytes with 16 bytes of text from its
                // start, read as two words and cut to its length.
                lookups.push(match bytes.get(start..start + INLINE) {
                    Some(window) if len <= INLINE => {
                        let (m0, m1) = LOW_BYTES[len];
                        let (k0, k1) = (load8(window, 0) & m0, load8(window, 8) & m1);
                        Lookup::short(self.table.probe_short(k0, k1, len), len)
                    }
                    _ => Lookup::of(&self.table, &bytes[start..end]),
                });
                out.push(0);
                run.count += 1;
                if lookups.len() == GROUP {
                    group.push(run);
                    if let Some(missing) = self.finish_group(&lookups, &group, unk, out) {
                        return Some(missing);
                    }
                    lookups.clear();
                    group.clear();
                    run = Run {
                        at: out.len(),
                        count: 0,
                        first: run.first + run.count,
                        ..run
                    };
                }
            }
            if run.count > 0 {
                group.push(run);
            }
            done(index, out.len() - before, out);
        }
        self.finish_group(&lookups, &group, unk, out)
    }

    /// Finishes the lookups of a group of [`Vocab::encode_lmplz`]: writes each token's id over
    /// its placeholder, or returns the text's index and the first unknown token when there is
    /// no `unk`.
    #[inline(always)]
    fn finish_group(
        &self,
        lookups: &[Lookup],
        group: &[Run<'_>],
        unk: Option<u32>,
        out: &mut [u32],
    ) -> Option<(usize, String)> {
        let mut lookups = lookups.iter();
        for run in group {
            let place = &mut out[run.at..run.at + run.count];
            for (j, (slot, lookup)) in place.iter_mut().zip(&mut lookups).enumerate() {
                match (lookup.finish(&self.table), unk) {
                    (Some(id), _) | (None, Some(id)) => *slot = id,
                    (None, None) => {
                        // Found again (rare): cut at separator bytes, so on character
                        // boundaries.
                        let nth = lmplz_spans(run.text.as_bytes()).nth(run.first + j);
                        let (s, e) = nth.unwrap_or_default();
                        let token = run.text.get(s..e).unwrap_or_default().to_string();
                        return Some((run.index, token));
                    }
                }
            }
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

/// Consecutive tokens of one text in a group of [`Vocab::encode_lmplz`]: their ids' place in
/// the output, the text's index, the text, and the first one's place among the text's tokens.
#[derive(Clone, Copy)]
struct Run<'t> {
    at: usize,
    count: usize,
    index: usize,
    text: &'t str,
    first: usize,
}

/// A lookup of [`Vocab::encode_lmplz`]: begun (a probe of a token of `len <= 16` bytes), or
/// done (`len` is [`LONG`], `id` the token's id or [`NONE`]).
#[derive(Clone, Copy)]
struct Lookup {
    probe: Probe,
    len: u32,
    id: u32,
}

/// [`Lookup::len`] of a lookup done when begun.
const LONG: u32 = u32::MAX;
/// [`Lookup::id`] of a token not in the vocabulary.
const NONE: u32 = u32::MAX;

impl Lookup {
    /// The lookup of a token of `len <= 16` bytes whose probe is `probe`.
    #[inline(always)]
    fn short(probe: Probe, len: usize) -> Self {
        Lookup {
            probe,
            len: len as u32,
            id: NONE,
        }
    }

    /// The lookup of `token`, of any length: begun when it is at most 16 bytes long, done
    /// otherwise.
    #[inline(always)]
    fn of(table: &TokenTable, token: &[u8]) -> Self {
        let probe = table.probe(token);
        if token.len() <= INLINE {
            return Lookup::short(probe, token.len());
        }
        Lookup {
            probe,
            len: LONG,
            id: table.resolve(&probe, token).unwrap_or(NONE),
        }
    }

    /// The token's id, or `None` when it is not in the vocabulary.
    #[inline(always)]
    fn finish(&self, table: &TokenTable) -> Option<u32> {
        if self.len == LONG {
            return (self.id != NONE).then_some(self.id);
        }
        table.resolve_short(&self.probe, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lmplz_encoder_is_the_plain_split_and_lookup() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |m: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % m
        };
        // Words of 1 to 40 characters (up to 120 bytes), some with bytes below 0x21 that do
        // not separate.
        let letters = ["a", "b", "\u{e9}", "\u{4e2d}", "\x0b", "\x0c", "x"];
        let words: Vec<String> = (0..300)
            .map(|i| {
                let len = 1 + (i * 7) % 40;
                (0..len).map(|_| letters[next(letters.len())]).collect()
            })
            .collect();
        let mut entries = vec![("<unk>".to_string(), 0u64)];
        let mut seen = std::collections::HashSet::new();
        for w in &words[..200] {
            if seen.insert(w.clone()) {
                entries.push((w.clone(), 1));
            }
        }
        let vocab = Vocab::from_entries(entries, 1).unwrap();
        let seps = [" ", "\t", "\r", "\n", "\0", "  "];
        let texts: Vec<String> = (0..400)
            .map(|_| {
                let n = next(30);
                let mut t = String::new();
                for _ in 0..n {
                    t.push_str(seps[next(seps.len())]);
                    t.push_str(&words[next(words.len())]);
                }
                if next(2) == 0 {
                    t.push_str(seps[next(seps.len())]);
                }
                t
            })
            .collect();
        let want = |t: &str| -> Vec<u32> {
            crate::text::whitespace::lmplz_tokens(t.as_bytes())
                .map(|tok| {
                    vocab
                        .token_to_id(std::str::from_utf8(tok).unwrap())
                        .unwrap_or(0)
                })
                .collect()
        };
        // An end id after each text, appended by `done` while the ids are placeholders.
        let mut out = Vec::new();
        let mut lens = Vec::new();
        let texts_ref = texts.iter().map(String::as_str);
        let done = |_, n, out: &mut Vec<u32>| {
            lens.push(n);
            out.push(u32::MAX);
        };
        assert_eq!(vocab.encode_lmplz(texts_ref, Some(0), &mut out, done), None);
        let mut at = 0;
        for (t, n) in texts.iter().zip(&lens) {
            assert_eq!(&out[at..at + n], want(t).as_slice(), "{t:?}");
            assert_eq!(out[at + n], u32::MAX);
            at += n + 1;
        }
        assert_eq!(at, out.len());
        // Raise mode: the first unknown token, and its text's index.
        let first = texts.iter().enumerate().find_map(|(i, t)| {
            crate::text::whitespace::lmplz_tokens(t.as_bytes())
                .map(|tok| std::str::from_utf8(tok).unwrap())
                .find(|tok| vocab.token_to_id(tok).is_none())
                .map(|tok| (i, tok.to_string()))
        });
        assert!(first.is_some());
        let texts_ref = texts.iter().map(String::as_str);
        let got = vocab.encode_lmplz(texts_ref, None, &mut Vec::new(), |_, _, _| {});
        assert_eq!(got, first);
        // One text of many groups, an unknown token deep inside it.
        let known = &vocab.id_to_token(1).unwrap().to_string();
        let long = format!("{} zzz {}", [known.as_str(); 1000].join(" "), known);
        let mut out = Vec::new();
        let got = vocab.encode_lmplz([long.as_str()], Some(0), &mut out, |_, _, _| {});
        assert_eq!(got, None);
        assert_eq!(out, want(&long));
        let got = vocab.encode_lmplz(
            [known.as_str(), long.as_str()],
            None,
            &mut Vec::new(),
            |_, _, _| {},
        );
        assert_eq!(got, Some((1, "zzz".to_string())));
    }
}
