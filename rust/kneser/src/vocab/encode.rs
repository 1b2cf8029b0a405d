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
//! the ids while the chunks are joined.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::text::tokenize::Tokenizer;

use super::{Vocab, UNK};

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
    /// Appends the ids of `text` to `out`. Returns the first unknown token when `unk` is `None`
    /// (raise mode); its id is then left out.
    #[inline]
    pub(crate) fn encode_into(
        &self,
        tokenizer: &Tokenizer,
        text: &str,
        unk: Option<u32>,
        out: &mut Vec<u32>,
    ) -> Option<String> {
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
        missing
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
        match self.encode_into(tokenizer, text, unk, &mut out) {
            None => Ok(out),
            Some(token) => Err(not_in_vocab(&token, None)),
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
        let parts: Vec<(Vec<u32>, Vec<u32>)> = texts
            .par_chunks(chunk)
            .enumerate()
            .map(|(c, texts)| {
                let mut ids = Vec::new();
                let mut lens = Vec::with_capacity(texts.len());
                for (i, text) in texts.iter().enumerate() {
                    let before = ids.len();
                    if let Some(token) = self.encode_into(tokenizer, text.as_ref(), unk, &mut ids) {
                        return Err(not_in_vocab(&token, Some(c * chunk + i)));
                    }
                    lens.push((ids.len() - before) as u32);
                }
                Ok((ids, lens))
            })
            .collect::<Result<_>>()?;
        let total: usize = parts.iter().map(|(ids, _)| ids.len()).sum();
        let mut out = EncodedBatch {
            ids: Vec::with_capacity(total),
            offsets: Vec::with_capacity(texts.len() + 1),
        };
        out.offsets.push(0);
        let mut end = 0i64;
        for (ids, lens) in parts {
            out.ids.extend_from_slice(&ids);
            for len in lens {
                end += i64::from(len);
                out.offsets.push(end);
            }
        }
        Ok(out)
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

/// The error for an unknown token in raise mode; `index` is the text's index in a batch.
pub(crate) fn not_in_vocab(token: &str, index: Option<usize>) -> Error {
    let place = index.map(|i| format!("texts[{i}]: ")).unwrap_or_default();
    Error::InvalidArgument(format!(
        "{place}token {token:?} is not in the vocabulary (unk=\"raise\"); pass unk=\"unk\" to map it to {UNK}"
    ))
}
