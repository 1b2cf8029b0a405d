//! Building the query tables from an ARPA file.
//!
//! Input: the n-grams of an ARPA file, in file order (see [`crate::arpa::reader`]). Output: an
//! owned [`Model`]. Ids: `<unk>` is 0 wherever it is listed; every other unigram takes the next
//! id (1, 2, ...) in file order, as KenLM's probing vocabulary numbers them.
//!
//! Checks, each an [`Error::Format`] naming the line: a duplicate n-gram, a word of a higher
//! order missing from the unigrams, a positive log10 probability (KenLM refuses them by
//! default), a model without `<s>` or `</s>`. A missing `<unk>` gets log10 p = -100 and backoff
//! 0 (KenLM's default, which also warns).
//!
//! An n-gram whose context is absent from the order below (SRILM's pruning can leave such
//! holes) gets that context added with backoff 0 and the probability the model gives it by
//! backing off, as KenLM does, so that the longer n-gram stays reachable.
//!
//! Memory: the tables of the orders read so far (24 to 48 bytes per n-gram while a table grows).

use std::io::BufRead;
use std::path::Path;

use crate::arpa::reader::{read_arpa, read_arpa_from, ArpaVisitor, LineRef};
use crate::cancel::Cancel;
use crate::error::{Error, Result};

use super::table::{extend_key, pack, unigram_key, unpack, word_key, TableBuilder, NO_EXTENSION};
use super::{Model, Storage, MAX_ORDER};

/// log10 p given to `<unk>` when the ARPA has none (KenLM's `unknown_missing_logprob`).
pub(crate) const MISSING_UNK_LOG10P: f32 = -100.0;

pub(crate) fn from_arpa(path: &Path, cancel: &Cancel) -> Result<Model> {
    let mut b = Builder::default();
    read_arpa(path, &mut b, cancel)?;
    b.finish()
}

pub(crate) fn from_arpa_reader(input: impl BufRead, name: &str, cancel: &Cancel) -> Result<Model> {
    let mut b = Builder::default();
    read_arpa_from(input, name, &mut b, cancel)?;
    b.finish()
}

#[derive(Default)]
struct Builder {
    order: usize,
    vocab: Option<TableBuilder>,
    unigrams: Vec<u64>,
    unk_seen: bool,
    bos: Option<u32>,
    eos: Option<u32>,
    /// `tables[n - 2]` for order `n`.
    tables: Vec<TableBuilder>,
    ids: Vec<u32>,
}

impl Builder {
    fn vocab(&self) -> Result<&TableBuilder> {
        self.vocab
            .as_ref()
            .ok_or_else(|| Error::Internal("ARPA n-gram before its header".into()))
    }

    /// The key of the n-gram with `ids` (oldest first).
    fn key(ids: &[u32]) -> u64 {
        let mut rev = ids.iter().rev();
        let mut key = rev.next().map_or(0, |&w| unigram_key(w));
        for &w in rev {
            key = extend_key(key, w);
        }
        key
    }

    /// The packed value of an n-gram of order >= 1 if present.
    fn lookup(&self, ids: &[u32]) -> Option<u64> {
        match ids.len() {
            0 => None,
            1 => self.unigrams.get(ids[0] as usize).copied(),
            n => self.tables.get(n - 2)?.get(Self::key(ids)),
        }
    }

    /// The backed-off log10 p of the last word of `ids` given the others, from the tables built
    /// so far.
    fn backed_off(&self, ids: &[u32]) -> f32 {
        let n = ids.len();
        // The longest suffix present (the unigram always is).
        let mut start = n - 1;
        let mut prob = self.lookup(&ids[n - 1..]).map_or(0.0, |v| unpack(v).0);
        for s in (0..n - 1).rev() {
            match self.lookup(&ids[s..]) {
                Some(v) => {
                    prob = unpack(v).0;
                    start = s;
                }
                None => break,
            }
        }
        // Add the backoffs of the longer contexts, shortest first.
        let context = &ids[..n - 1];
        for s in (0..start).rev() {
            if let Some(v) = self.lookup(&context[s..]) {
                prob += unpack(v).1;
            }
        }
        prob
    }

    /// Marks the n-gram `ids` as the context of a longer one: a -0.0 backoff becomes +0.0.
    fn mark_context(&mut self, ids: &[u32]) {
        let mark = |v: u64| {
            if (v >> 32) as u32 == NO_EXTENSION {
                v & 0xffff_ffff
            } else {
                v
            }
        };
        match ids.len() {
            0 => {}
            1 => {
                if let Some(v) = self.unigrams.get_mut(ids[0] as usize) {
                    *v = mark(*v);
                }
            }
            n => {
                let key = Self::key(ids);
                if let Some(t) = self.tables.get_mut(n - 2) {
                    t.update(key, mark);
                }
            }
        }
    }

    /// Makes sure the context `ids` (order >= 2) is present, adding it (and its own missing
    /// contexts) as described in the module doc.
    fn ensure_context(&mut self, ids: &[u32]) {
        let n = ids.len();
        if n < 2 || self.lookup(ids).is_some() {
            return;
        }
        self.ensure_context(&ids[..n - 1]);
        let prob = self.backed_off(ids);
        let key = Self::key(ids);
        if let Some(t) = self.tables.get_mut(n - 2) {
            t.insert(key, pack(prob, 0.0));
        }
    }
}

impl ArpaVisitor for Builder {
    fn header(&mut self, counts: &[u64], at: LineRef<'_>) -> Result<()> {
        if counts.is_empty() {
            return Err(at.error("the \\data\\ header announces no n-grams"));
        }
        if counts.len() > MAX_ORDER {
            return Err(at.error(format!(
                "order {} is above the largest supported order {MAX_ORDER}",
                counts.len()
            )));
        }
        self.order = counts.len();
        let unigrams = usize::try_from(counts[0])
            .unwrap_or(usize::MAX)
            .min(1 << 32);
        self.vocab = Some(TableBuilder::with_entries(unigrams + 1));
        self.unigrams = Vec::with_capacity(unigrams + 1);
        self.unigrams.push(pack(MISSING_UNK_LOG10P, -0.0));
        self.tables = counts[1..]
            .iter()
            .map(|&c| TableBuilder::with_entries(usize::try_from(c).unwrap_or(0).min(1 << 40)))
            .collect();
        Ok(())
    }

    fn ngram(&mut self, words: &[&[u8]], p: f32, backoff: f32, at: LineRef<'_>) -> Result<()> {
        // A zero backoff is stored as -0.0 ("no extension") until a longer n-gram names this
        // one as its context (see `mark_context`).
        let backoff = if backoff == 0.0 { -0.0 } else { backoff };
        if p > 0.0 {
            return Err(at.error(format!(
                "positive log10 probability {p}: probabilities cannot exceed 1 (is this model from a buggy tool?)"
            )));
        }
        if words.len() == 1 {
            let word = words[0];
            let id = if word == b"<unk>" {
                if self.unk_seen {
                    return Err(at.error("duplicate unigram <unk>"));
                }
                self.unk_seen = true;
                0
            } else {
                let id = u32::try_from(self.unigrams.len())
                    .map_err(|_| at.error("more than 2^32 unigrams"))?;
                self.unigrams.push(0);
                id
            };
            let vocab = self
                .vocab
                .as_mut()
                .ok_or_else(|| Error::Internal("ARPA n-gram before its header".into()))?;
            if !vocab.insert(word_key(word), u64::from(id)) {
                return Err(at.error(format!(
                    "duplicate unigram {:?}",
                    String::from_utf8_lossy(word)
                )));
            }
            self.unigrams[id as usize] = pack(p, backoff);
            if word == b"<s>" {
                self.bos = Some(id);
            } else if word == b"</s>" {
                self.eos = Some(id);
            }
            return Ok(());
        }
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        for w in words {
            match self.vocab()?.get(word_key(w)) {
                Some(id) => ids.push(id as u32),
                None => {
                    return Err(at.error(format!(
                        "the word {:?} of this {}-gram is not among the unigrams",
                        String::from_utf8_lossy(w),
                        words.len()
                    )))
                }
            }
        }
        self.ensure_context(&ids[..ids.len() - 1]);
        self.mark_context(&ids[..ids.len() - 1]);
        let key = Self::key(&ids);
        let n = ids.len();
        self.ids = ids;
        let table = self
            .tables
            .get_mut(n - 2)
            .ok_or_else(|| Error::Internal("n-gram above the order of the header".into()))?;
        if !table.insert(key, pack(p, backoff)) {
            let text: Vec<String> = words
                .iter()
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            return Err(at.error(format!("duplicate {n}-gram {:?}", text.join(" "))));
        }
        Ok(())
    }

    fn end_order(&mut self, order: usize, at: LineRef<'_>) -> Result<()> {
        if order == 1 {
            if self.bos.is_none() {
                return Err(at.error(
                    "the model has no <s> unigram (KenLM refuses such models too); add `<s>` with its backoff",
                ));
            }
            if self.eos.is_none() {
                return Err(at.error(
                    "the model has no </s> unigram (KenLM refuses such models too); add `</s>`",
                ));
            }
        }
        Ok(())
    }
}

impl Builder {
    fn finish(self) -> Result<Model> {
        let (Some(bos), Some(eos), Some(vocab)) = (self.bos, self.eos, self.vocab) else {
            return Err(Error::Internal("ARPA read without unigrams".into()));
        };
        Ok(Model {
            order: self.order,
            vocab_size: self.unigrams.len(),
            bos,
            eos,
            unk_missing: !self.unk_seen,
            storage: Storage::Owned {
                vocab: vocab.into_slots(),
                unigrams: self.unigrams,
                tables: self.tables.into_iter().map(|t| t.into_slots()).collect(),
            },
        })
    }
}
