//! Building a model from an ARPA file: the n-grams are inserted, in file order, into the byte
//! image of KenLM's probing binary, exactly as KenLM's `build_binary` and `kenlm.Model` insert
//! them (`lm/search_hashed.cc`), so the image is the file `build_binary probing` writes.
//!
//! Input: the n-grams of an ARPA file (see [`crate::arpa::reader`]) and a [`BuildConfig`].
//! Output: an owned [`Model`]. Ids: `<unk>` (or `<UNK>`, as the CMU and Sphinx toolkits spell it)
//! is 0 wherever it is listed; every other unigram takes the next id in file order.
//!
//! Rules (KenLM's):
//! - Probabilities are stored with their sign bit meaning "extends to no longer n-gram on the
//!   left" and read back with the sign set; a zero backoff is stored as -0.0 ("no extension")
//!   until a longer n-gram names the n-gram as its context.
//! - An n-gram whose suffix is missing (SRILM's pruning keeps `a b c` after dropping `b c`) gets
//!   blank entries for the missing suffixes, their probability that of backing off from the
//!   longest suffix present, so that the longer n-gram stays reachable.
//! - An n-gram whose context is missing is refused (KenLM: "The context of every n-gram should
//!   appear as an (n-1)-gram"), naming the line.
//! - A positive log10 probability is refused, or mapped to 0 with
//!   [`BuildConfig::map_positive_to_zero`] (`build_binary -i`); NaN and infinite backoffs are
//!   refused; a backoff on a highest-order n-gram must be 0.
//! - Header counts are bounded by what the file can hold before anything is allocated, and the
//!   image is allocated fallibly: a header announcing billions of n-grams is an error, not an
//!   abort.
//!
//! Memory: the image (KenLM's probing size: 12 bytes per vocabulary bucket, 8 per unigram, 16
//! per middle-order bucket, 12 per highest-order bucket, 1.5 buckets per entry by default) and
//! the vocabulary strings.

use std::io::BufRead;
use std::path::Path;

use crate::arpa::reader::{read_arpa_from, ArpaVisitor, LineRef};
use crate::cancel::Cancel;
use crate::error::{Error, IoContext, Result};
use crate::io::{display_name, open_input, Compression};

use super::binary::{header_bytes, Layout};
use super::probing::{
    combine, f32_at, is_unknown_word, set_extension, u32_at, vocab_hash, with_sign, without_sign,
    TableFull, TableMut, DEFAULT_MULTIPLIER, UNIGRAM_ENTRY, VOCAB_ENTRY,
};
use super::score::Lookup;
use super::{Model, Storage, MAX_ORDER};

/// An ARPA file's size and modification time, taken when a model is loaded from it: the trie
/// writer reads the file again and refuses one that changed or vanished since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl Stamp {
    /// The stamp of `path` now.
    pub(crate) fn of(path: &Path) -> Result<Stamp> {
        let m = std::fs::metadata(path).at_path("cannot read", path)?;
        Ok(Stamp {
            len: m.len(),
            modified: m.modified().ok(),
        })
    }

    /// Whether `path` still has this stamp; a [`Error::Format`] naming it otherwise.
    pub(crate) fn check(&self, path: &Path) -> Result<()> {
        let why = match std::fs::metadata(path) {
            Err(e) => format!("it cannot be read any more ({e})"),
            Ok(m) if m.len() != self.len => {
                format!("its size changed from {} to {} bytes", self.len, m.len())
            }
            Ok(m) if m.modified().ok() != self.modified => "it was modified".to_string(),
            Ok(_) => return Ok(()),
        };
        Err(Error::format(
            display_name(path),
            0,
            format!(
                "the ARPA file this model was loaded from changed since the load: {why}; \
                 writing the trie layout reads the ARPA again (as build_binary does), and would \
                 write a different model: load the model again"
            ),
        ))
    }
}

/// log10 p given to `<unk>` when the ARPA has none (KenLM's `unknown_missing_logprob`).
pub(crate) const MISSING_UNK_LOG10P: f32 = -100.0;

/// How an ARPA file becomes a model (`build_binary`'s options that change the bytes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BuildConfig {
    /// Buckets per entry of every probing table (`build_binary -p`, > 1.0).
    pub multiplier: f32,
    /// Map positive log10 probabilities to 0 instead of refusing the file (`build_binary -i`).
    pub map_positive_to_zero: bool,
    /// log10 p of `<unk>` when the ARPA has none (`build_binary -u`).
    pub unknown_missing_log10p: f32,
    /// Accept an ARPA without `<s>` or `</s>` (`build_binary -s`): the missing word is scored as
    /// `<unk>` (id 0), as KenLM does.
    pub allow_missing_markers: bool,
}

impl Default for BuildConfig {
    fn default() -> Self {
        BuildConfig {
            multiplier: DEFAULT_MULTIPLIER,
            map_positive_to_zero: false,
            unknown_missing_log10p: MISSING_UNK_LOG10P,
            allow_missing_markers: false,
        }
    }
}

/// The most bytes a plain ARPA line of an `n`-gram can take at least (`p w1 .. wn\n`).
fn min_line_bytes(n: usize) -> u64 {
    2 * n as u64 + 2
}

/// The largest decompression ratio assumed when bounding the counts of a compressed file.
const MAX_COMPRESSION_RATIO: u64 = 1 << 12;

pub(crate) fn from_arpa(path: &Path, config: &BuildConfig, cancel: &Cancel) -> Result<Model> {
    let limit = if path.as_os_str() == "-" {
        None
    } else {
        let len = std::fs::metadata(path).at_path("cannot read", path)?.len();
        let head = super::head_of(path, 8)?;
        Some(match Compression::sniff(&head) {
            Compression::Plain => len,
            _ => len.saturating_mul(MAX_COMPRESSION_RATIO),
        })
    };
    let input = open_input(path)?;
    let mut b = Builder::new(*config, limit);
    read_arpa_from(input, &display_name(path), &mut b, cancel)?;
    b.finish(&display_name(path))
}

pub(crate) fn from_arpa_reader(
    input: impl BufRead,
    name: &str,
    config: &BuildConfig,
    cancel: &Cancel,
) -> Result<Model> {
    from_visits(name, config, |v| read_arpa_from(input, name, v, cancel))
}

/// The probing model of the ARPA content `feed` passes to its visitor (the text reader, or
/// [`crate::arpa::records::Replay`] for an estimate's records); `name` appears in errors.
pub(crate) fn from_visits(
    name: &str,
    config: &BuildConfig,
    feed: impl FnOnce(&mut dyn ArpaVisitor) -> Result<()>,
) -> Result<Model> {
    let mut b = Builder::new(*config, None);
    feed(&mut b)?;
    b.finish(name)
}

struct Builder {
    config: BuildConfig,
    /// The most bytes the ARPA text can have (bounds the header counts), if known.
    limit: Option<u64>,
    layout: Option<Layout>,
    image: Vec<u8>,
    /// Entries inserted: `[0]` the vocabulary, `[n - 1]` order `n >= 2`.
    entries: Vec<usize>,
    /// The vocabulary strings: `<unk>\0` then every other word NUL-terminated, in id order.
    strings: Vec<u8>,
    /// Where each id's word starts in `strings`.
    starts: Vec<usize>,
    bound: u32,
    saw_unk: bool,
    /// The ids of the current n-gram, newest first.
    ids: Vec<u32>,
    keys: Vec<u64>,
    /// Value offsets (absolute) of the entries `FindLower` visits; `None` for the unigram.
    between: Vec<Option<usize>>,
    /// Size the tables for every blank a pruned ARPA could need (for the trie writer, whose
    /// layout has no such limit, unlike KenLM's probing tables).
    room_for_blanks: bool,
}

impl Builder {
    fn new(config: BuildConfig, limit: Option<u64>) -> Self {
        Builder {
            config,
            limit,
            layout: None,
            image: Vec::new(),
            entries: Vec::new(),
            strings: b"<unk>\0".to_vec(),
            starts: vec![0],
            bound: 1,
            saw_unk: false,
            ids: Vec::new(),
            keys: Vec::new(),
            between: Vec::new(),
            room_for_blanks: false,
        }
    }

    fn layout(&self) -> Result<&Layout> {
        self.layout
            .as_ref()
            .ok_or_else(|| Error::Internal("ARPA n-gram before its header".into()))
    }

    /// The table of order `n` (>= 2; 1 is the vocabulary).
    fn table(&mut self, n: usize) -> Result<(TableMut<'_>, usize)> {
        let layout = self
            .layout
            .as_ref()
            .ok_or_else(|| Error::Internal("ARPA n-gram before its header".into()))?;
        let (range, stride) = if n == 1 {
            (layout.vocab.clone(), VOCAB_ENTRY)
        } else {
            let range = layout
                .tables
                .get(n - 2)
                .ok_or_else(|| Error::Internal("n-gram above the order of the header".into()))?
                .clone();
            (range, layout.stride(n))
        };
        let start = range.start;
        Ok((
            TableMut::new(&mut self.image[range], stride, &mut self.entries[n - 1]),
            start,
        ))
    }

    fn find(&mut self, n: usize, key: u64) -> Result<Option<usize>> {
        let (t, start) = self.table(n)?;
        Ok(t.find(key).map(|at| start + at))
    }

    fn unigram_at(&self, id: u32) -> usize {
        self.layout
            .as_ref()
            .map_or(0, |l| l.unigrams.start + id as usize * UNIGRAM_ENTRY)
    }

    fn f32(&self, at: usize) -> f32 {
        f32_at(&self.image, at)
    }

    fn set_f32(&mut self, at: usize, v: f32) {
        self.image[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn word_of(&self, id: u32) -> &[u8] {
        let start = self.starts.get(id as usize).copied().unwrap_or(0);
        let rest = &self.strings[start..];
        &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())]
    }

    fn full(n: usize, full: TableFull, at: &LineRef<'_>) -> Error {
        at.error(format!(
            "the {n}-gram table is full ({} buckets): the file holds more {n}-grams, with the \
             suffixes KenLM adds for pruned models, than its \\data\\ header announces",
            full.buckets
        ))
    }

    fn unigram(&mut self, word: &[u8], p: f32, backoff: f32, at: &LineRef<'_>) -> Result<()> {
        let hash = vocab_hash(word);
        let id = if is_unknown_word(hash) {
            if self.saw_unk {
                return Err(at.error(format!(
                    "duplicate unigram {} (the unknown word, also spelled <unk> or <UNK>)",
                    String::from_utf8_lossy(word)
                )));
            }
            self.saw_unk = true;
            0
        } else {
            if hash == 0 {
                return Err(at.error(format!(
                    "the word {:?} hashes to 0, the mark of an empty bucket in KenLM's format",
                    String::from_utf8_lossy(word)
                )));
            }
            if let Some(found) = self.find(1, hash)? {
                let other = u32_at(&self.image, found);
                let other = self.word_of(other);
                return Err(if other == word {
                    at.error(format!(
                        "duplicate unigram {:?}",
                        String::from_utf8_lossy(word)
                    ))
                } else {
                    at.error(format!(
                        "the words {:?} and {:?} have the same 64-bit MurmurHash64A key \
                         {hash:#018x}: KenLM's vocabulary cannot hold both",
                        String::from_utf8_lossy(other),
                        String::from_utf8_lossy(word)
                    ))
                });
            }
            let id = self.bound;
            if u64::from(id) > self.layout()?.counts[0] {
                return Err(at.error("more unigrams than the \\data\\ header announces"));
            }
            let (mut t, _) = self.table(1)?;
            t.insert(hash, &id.to_le_bytes())
                .map_err(|f| Self::full(1, f, at))?;
            self.starts.push(self.strings.len());
            self.strings.extend_from_slice(word);
            self.strings.push(0);
            self.bound += 1;
            id
        };
        let u = self.unigram_at(id);
        self.set_f32(u, p);
        self.set_f32(u + 4, backoff);
        Ok(())
    }

    fn ngram_entry(
        &mut self,
        words: &[&[u8]],
        p: f32,
        backoff: f32,
        at: &LineRef<'_>,
    ) -> Result<()> {
        let n = words.len();
        let order = self.layout()?.order();
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        for w in words.iter().rev() {
            let hash = vocab_hash(w);
            let id = match self.find(1, hash)? {
                Some(v) => u32_at(&self.image, v),
                None if is_unknown_word(hash) => 0,
                None => {
                    self.ids = ids;
                    return Err(at.error(format!(
                        "the word {:?} of this {n}-gram is not among the unigrams (which must \
                         list the whole vocabulary)",
                        String::from_utf8_lossy(w)
                    )));
                }
            };
            ids.push(id);
        }
        let mut keys = std::mem::take(&mut self.keys);
        keys.clear();
        keys.push(combine(u64::from(ids[0]), ids[1]));
        for h in 1..n - 1 {
            keys.push(combine(keys[h - 1], ids[h + 1]));
        }
        let result = self.insert_ngram(&ids, &keys, p, backoff, order, words, at);
        self.ids = ids;
        self.keys = keys;
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn insert_ngram(
        &mut self,
        ids: &[u32],
        keys: &[u64],
        p: f32,
        backoff: f32,
        order: usize,
        words: &[&[u8]],
        at: &LineRef<'_>,
    ) -> Result<()> {
        let n = ids.len();
        let key = keys[n - 2];
        let mut value = [0u8; 8];
        value[..4].copy_from_slice(&with_sign(p).to_le_bytes());
        value[4..].copy_from_slice(&backoff.to_le_bytes());
        {
            let (mut t, _) = self.table(n)?;
            if t.find(key).is_some() {
                let text: Vec<String> = words
                    .iter()
                    .map(|w| String::from_utf8_lossy(w).into_owned())
                    .collect();
                return Err(at.error(format!(
                    "duplicate {n}-gram {:?} (or two {n}-grams sharing a 64-bit key)",
                    text.join(" ")
                )));
            }
            let len = if n == order { 4 } else { 8 };
            t.insert(key, &value[..len])
                .map_err(|f| Self::full(n, f, at))?;
        }
        // FindLower: the longest suffix present, inserting blanks for the missing ones.
        let mut between = std::mem::take(&mut self.between);
        between.clear();
        let mut blank = [0u8; 8];
        blank[4..].copy_from_slice(&(-0.0f32).to_le_bytes());
        let mut found_basis = false;
        for lower in (0..n.saturating_sub(2)).rev() {
            let table_order = lower + 2;
            let (mut t, start) = self.table(table_order)?;
            let (v, found) = t
                .find_or_insert(keys[lower], &blank)
                .map_err(|f| Self::full(table_order, f, at))?;
            between.push(Some(start + v));
            if found {
                found_basis = true;
                break;
            }
        }
        if !found_basis {
            between.push(None);
        }
        let r = self.adjust_lower(&between, ids, n);
        self.between = between;
        r?;
        // Activate: the context must be present; it now extends.
        if n == 2 {
            let u = self.unigram_at(ids[1]) + 4;
            let b = set_extension(self.f32(u));
            self.set_f32(u, b);
        } else {
            let mut hash = u64::from(ids[1]);
            for &w in &ids[2..n] {
                hash = combine(hash, w);
            }
            match self.find(n - 1, hash)? {
                Some(v) => {
                    let b = set_extension(self.f32(v + 4));
                    self.set_f32(v + 4, b);
                }
                None => {
                    let context: Vec<String> = words[..n - 1]
                        .iter()
                        .map(|w| String::from_utf8_lossy(w).into_owned())
                        .collect();
                    return Err(at.error(format!(
                        "the context {:?} of this {n}-gram is not among the {}-grams (KenLM \
                         refuses such files: the context of every n-gram must appear as an \
                         n-gram of the order below)",
                        context.join(" "),
                        n - 1
                    )));
                }
            }
        }
        Ok(())
    }

    /// The value offset of a `between` entry (`None`: the unigram of the newest word).
    fn between_at(&self, e: Option<usize>, ids: &[u32]) -> usize {
        e.unwrap_or_else(|| self.unigram_at(ids[0]))
    }

    /// KenLM's `AdjustLower`: probabilities for the blanks, then every visited entry marked as
    /// extending to the left (sign bit cleared).
    fn adjust_lower(&mut self, between: &[Option<usize>], ids: &[u32], n: usize) -> Result<()> {
        if between.len() > 1 {
            let last = self.between_at(between[between.len() - 1], ids);
            let mut prob = -self.f32(last).abs();
            let mut basis = n - between.len();
            let mut change = between.len() as isize - 2;
            if basis == 1 {
                let u = self.unigram_at(ids[1]) + 4;
                let b = set_extension(self.f32(u));
                self.set_f32(u, b);
                prob += b;
                let c = self.between_at(between[change as usize], ids);
                self.set_f32(c, prob);
                basis = 2;
                change -= 1;
            }
            let mut backoff_hash = u64::from(ids[1]);
            for &w in &ids[2..=basis] {
                backoff_hash = combine(backoff_hash, w);
            }
            while basis < n - 1 {
                if let Some(v) = self.find(basis, backoff_hash)? {
                    let b = set_extension(self.f32(v + 4));
                    self.set_f32(v + 4, b);
                    prob += b;
                }
                let c = self.between_at(between[change as usize], ids);
                self.set_f32(c, prob);
                backoff_hash = combine(backoff_hash, ids[basis + 1]);
                basis += 1;
                change -= 1;
            }
        }
        for &e in between {
            let at = self.between_at(e, ids);
            let p = without_sign(self.f32(at));
            self.set_f32(at, p);
        }
        Ok(())
    }

    fn finish(mut self, name: &str) -> Result<Model> {
        let Some(layout) = self.layout.take() else {
            return Err(Error::Internal("ARPA read without unigrams".into()));
        };
        if !self.saw_unk {
            let u = layout.unigrams.start;
            let p = self.config.unknown_missing_log10p;
            self.set_f32(u, p);
            self.set_f32(u + 4, 0.0);
        }
        let header = header_bytes(&layout.counts, layout.multiplier, true);
        self.image[..header.len()].copy_from_slice(&header);
        let vh = layout.vocab_header;
        self.image[vh] = 0;
        self.image[vh + 4..vh + 8].copy_from_slice(&self.bound.to_le_bytes());
        self.image.truncate(layout.end);
        self.image
            .try_reserve_exact(self.strings.len())
            .map_err(|_| Error::format(name, 0, "not enough memory for the vocabulary"))?;
        self.image.extend_from_slice(&self.strings);
        Model::from_image(Storage::Owned(self.image), layout, true, name)
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
        if let Some(limit) = self.limit {
            for (i, &c) in counts.iter().enumerate() {
                let n = i + 1;
                if c.saturating_mul(min_line_bytes(n)) > limit {
                    return Err(at.error(format!(
                        "the header announces {c} {n}-grams, more than a file of this size can \
                         hold (each takes at least {} bytes)",
                        min_line_bytes(n)
                    )));
                }
            }
        }
        if counts[0] >= u64::from(u32::MAX) {
            return Err(at.error("more than 2^32 - 2 unigrams"));
        }
        if !(self.config.multiplier.is_finite() && self.config.multiplier > 1.0) {
            return Err(Error::InvalidArgument(format!(
                "the probing multiplier must be above 1.0, not {}",
                self.config.multiplier
            )));
        }
        let mut multiplier = self.config.multiplier;
        if self.room_for_blanks {
            // Order n holds at most its n-grams and one blank per n-gram above it.
            for n in 2..counts.len() {
                let most: u64 = counts[n - 1..].iter().sum();
                let c = counts[n - 1].max(1);
                multiplier = multiplier.max((most + 1) as f32 / c as f32 + 0.5);
            }
        }
        let layout = Layout::new(counts, multiplier)
            .ok_or_else(|| at.error("the n-gram counts give a model beyond the address space"))?;
        // Zeroed by the allocator: a header announcing more n-grams than the stream holds costs
        // address space, not memory, until the short stream is reported.
        self.image = crate::alloc::zeroed_bytes(layout.end).ok_or_else(|| {
            at.error(format!(
                "not enough memory for a model of {} bytes (the counts of this header)",
                layout.end
            ))
        })?;
        self.entries = vec![0; counts.len()];
        self.layout = Some(layout);
        Ok(())
    }

    fn ngram(&mut self, words: &[&[u8]], p: f32, backoff: f32, at: LineRef<'_>) -> Result<()> {
        let order = self.layout()?.order();
        let p = if p > 0.0 {
            if self.config.map_positive_to_zero {
                0.0
            } else {
                return Err(at.error(format!(
                    "positive log10 probability {p}: probabilities cannot exceed 1 (IRSTLM \
                     writes such files; `kneser build-binary -i` maps them to 0 as \
                     build_binary -i does)"
                )));
            }
        } else {
            p
        };
        if !backoff.is_finite() {
            return Err(at.error(format!("bad backoff {backoff} (KenLM refuses it too)")));
        }
        if words.len() == order && words.len() > 1 && backoff != 0.0 {
            return Err(at.error(format!(
                "non-zero backoff {backoff} for a {}-gram, the highest order, which has no backoff",
                words.len()
            )));
        }
        // A zero backoff is stored as -0.0 ("no extension") until a longer n-gram names this
        // one as its context.
        let backoff = if backoff == 0.0 { -0.0 } else { backoff };
        if words.len() == 1 {
            self.unigram(words[0], p, backoff, &at)
        } else {
            self.ngram_entry(words, p, backoff, &at)
        }
    }

    fn end_order(&mut self, order: usize, at: LineRef<'_>) -> Result<()> {
        if order == 1 && !self.config.allow_missing_markers {
            for (w, hint) in [
                (&b"<s>"[..], "add `<s>` with its backoff"),
                (&b"</s>"[..], "add `</s>`"),
            ] {
                if self.find(1, vocab_hash(w))?.is_none() {
                    return Err(at.error(format!(
                        "the model has no {} unigram (KenLM refuses such models too, unless \
                         `build_binary -s` lets it stand for <unk>); {hint}",
                        String::from_utf8_lossy(w)
                    )));
                }
            }
        }
        Ok(())
    }
}

/// An ARPA visitor that builds the probing model and records every n-gram (ids, raw
/// probability) for the trie layout.
struct Collect {
    b: Builder,
    /// `(probing id, log10 p)` of each unigram, as read.
    unigrams: Vec<(u32, f32)>,
    /// Per order `n >= 2`: the probing ids of each n-gram, newest first, flat.
    ids: Vec<Vec<u32>>,
    probs: Vec<Vec<f32>>,
}

impl ArpaVisitor for Collect {
    fn header(&mut self, counts: &[u64], at: LineRef<'_>) -> Result<()> {
        self.b.header(counts, at)?;
        self.ids = vec![Vec::new(); counts.len() + 1];
        self.probs = vec![Vec::new(); counts.len() + 1];
        Ok(())
    }

    fn ngram(&mut self, words: &[&[u8]], p: f32, backoff: f32, at: LineRef<'_>) -> Result<()> {
        self.b.ngram(words, p, backoff, at)?;
        // The builder refused a positive p unless mapping it to 0 (KenLM stores 0.0).
        let p = if p > 0.0 { 0.0 } else { p };
        let n = words.len();
        if n == 1 {
            let id = if is_unknown_word(vocab_hash(words[0])) {
                0
            } else {
                self.b.bound - 1
            };
            self.unigrams.push((id, p));
        } else {
            self.ids[n].extend_from_slice(&self.b.ids);
            self.probs[n].push(p);
        }
        Ok(())
    }

    fn end_order(&mut self, order: usize, at: LineRef<'_>) -> Result<()> {
        self.b.end_order(order, at)
    }
}

/// Reads an ARPA file into the trie form of its n-grams (ids by key rank, n-grams newest word
/// first and sorted), with `build_binary`'s options and checks.
///
/// An n-gram whose suffix is missing (SRILM's pruning) gets KenLM's blank entries for the missing
/// suffixes (see `collect_grams`).
///
/// Errors: those of [`from_arpa`], and an n-gram whose context is only a blank (KenLM's trie
/// refuses it).
pub(crate) fn grams_from_arpa(
    path: &Path,
    config: &BuildConfig,
    cancel: &Cancel,
) -> Result<super::trie::Grams> {
    grams_from_reader(open_input(path)?, &display_name(path), config, cancel)
}

/// [`grams_from_arpa`] over ARPA text from a reader; `name` appears in error messages.
pub(crate) fn grams_from_reader(
    input: impl BufRead,
    name: &str,
    config: &BuildConfig,
    cancel: &Cancel,
) -> Result<super::trie::Grams> {
    grams_from_visits(name, config, |v| read_arpa_from(input, name, v, cancel))
}

/// [`grams_from_arpa`] over the ARPA content `feed` passes to its visitor (see
/// [`from_visits`]).
pub(crate) fn grams_from_visits(
    name: &str,
    config: &BuildConfig,
    feed: impl FnOnce(&mut dyn ArpaVisitor) -> Result<()>,
) -> Result<super::trie::Grams> {
    let name = name.to_string();
    let mut builder = Builder::new(*config, None);
    builder.room_for_blanks = true;
    let mut c = Collect {
        b: builder,
        unigrams: Vec::new(),
        ids: Vec::new(),
        probs: Vec::new(),
    };
    feed(&mut c)?;
    let Collect {
        b,
        unigrams,
        ids,
        probs,
    } = c;
    let model = b.finish(&name)?;
    collect_grams(&model, &unigrams, &ids, &probs, &name)
}

fn collect_grams(
    model: &Model,
    raw_unigrams: &[(u32, f32)],
    ids: &[Vec<u32>],
    probs: &[Vec<f32>],
    name: &str,
) -> Result<super::trie::Grams> {
    use super::trie::{Grams, Level};
    let order = model.order;
    let bound = model.vocab_size;
    let words = model.vocab_words()?.unwrap_or_default();
    // Trie ids: `<unk>` 0, then the words by increasing key.
    let mut by_hash: Vec<(u64, u32)> = (1..bound as u32)
        .map(|id| (vocab_hash(words[id as usize]), id))
        .collect();
    by_hash.sort_unstable();
    let mut new_id = vec![0u32; bound];
    let mut strings = b"<unk>\0".to_vec();
    for (rank, &(_, id)) in by_hash.iter().enumerate() {
        new_id[id as usize] = rank as u32 + 1;
        strings.extend_from_slice(words[id as usize]);
        strings.push(0);
    }
    let hashes: Vec<u64> = by_hash.iter().map(|&(h, _)| h).collect();
    let view = model.view();
    let mut unigrams: Vec<(f32, f32)> = (0..bound as u32)
        .map(|id| {
            let (p, b) = view.unigram(id);
            (p, b)
        })
        .collect();
    let mut raw = unigrams.clone();
    for &(id, p) in raw_unigrams {
        raw[id as usize].0 = p;
    }
    for (id, &(p, _)) in raw.iter().enumerate() {
        unigrams[new_id[id] as usize] = (p, view.unigram(id as u32).1);
    }
    // An n-gram's words in reading order, for messages.
    let text_of = |p: &[u32]| -> String {
        p.iter()
            .rev()
            .map(|&id| {
                let old = by_hash
                    .get((id as usize).wrapping_sub(1))
                    .map_or(0, |e| e.1);
                String::from_utf8_lossy(if id == 0 {
                    b"<unk>"
                } else {
                    words[old as usize]
                })
                .into_owned()
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    // The ARPA's n-grams of each order, as trie paths (newest word first), sorted.
    let mut real: Vec<Flat> = vec![Flat::default(), Flat::default()];
    for n in 2..=order {
        let flat = &ids[n];
        let count = probs[n].len();
        let paths: Vec<u32> = flat.iter().map(|&id| new_id[id as usize]).collect();
        let path = |i: usize| &paths[i * n..(i + 1) * n];
        let mut sorted: Vec<usize> = (0..count).collect();
        sorted.sort_unstable_by(|&a, &b| path(a).cmp(path(b)));
        let table = view.tables[n];
        let mut level = Flat {
            n,
            paths: Vec::with_capacity(count * n),
            probs: Vec::with_capacity(count),
            backoffs: Vec::new(),
        };
        for &i in &sorted {
            level.paths.extend_from_slice(path(i));
            level.probs.push(probs[n][i]);
            if n < order {
                let key = super::probing::ngram_key(&flat[i * n..(i + 1) * n]);
                let b = table.find(key).map_or(-0.0, |at| table.f32(at + 4));
                level.backoffs.push(b);
            }
        }
        real.push(level);
    }
    // KenLM's trie needs the context of every n-gram among the real n-grams of the order below
    // (a blank does not do).
    for n in 3..=order {
        for i in 0..real[n].len() {
            let p = real[n].path(i);
            if real[n - 1].find(&p[1..]).is_none() {
                return Err(Error::format(
                    name,
                    0,
                    format!(
                        "the context of the {n}-gram {:?} is not among the {}-grams (KenLM \
                         refuses such files: the context of every n-gram must appear as an \
                         n-gram of the order below)",
                        text_of(p),
                        n - 1
                    ),
                ));
            }
        }
    }
    // Blanks (KenLM's `BlankManager`): every missing parent (suffix) of an n-gram, real or blank,
    // from the highest order down.
    let mut blanks: Vec<Vec<u32>> = vec![Vec::new(); order + 1];
    for n in (3..=order).rev() {
        let mut missing: Vec<u32> = Vec::new();
        let add = |p: &[u32], missing: &mut Vec<u32>| {
            let parent = &p[..n - 1];
            if real[n - 1].find(parent).is_none() && missing.rchunks(n - 1).next() != Some(parent) {
                missing.extend_from_slice(parent);
            }
        };
        // Real and blank paths of order n, merged in order, so the parents come sorted.
        let (r, bl) = (&real[n], &blanks[n]);
        let (mut i, mut j) = (0, 0);
        while i < r.len() || j < bl.len() / n {
            let take_real =
                j >= bl.len() / n || (i < r.len() && r.path(i) < &bl[j * n..(j + 1) * n]);
            if take_real {
                add(r.path(i), &mut missing);
                i += 1;
            } else {
                add(&bl[j * n..(j + 1) * n], &mut missing);
                j += 1;
            }
        }
        blanks[n - 1] = missing;
    }
    // The blanks' values (KenLM's `SRISucks`): the probability of backing off from the longest
    // real suffix, adding the backoffs of the contexts in increasing length; a context with no
    // extension mark gets one (+0.0) instead; a context that is itself a blank makes that blank
    // extend.
    let mut blank_probs: Vec<Vec<f32>> = vec![Vec::new(); order + 1];
    let mut extended: Vec<Vec<Vec<u32>>> = vec![Vec::new(); order + 1];
    for m in 2..order {
        for k in 0..blanks[m].len() / m {
            let p = blanks[m][k * m..(k + 1) * m].to_vec();
            let (based_on, mut prob) = (2..m)
                .rev()
                .find_map(|len| real[len].find(&p[..len]).map(|i| (len, real[len].probs[i])))
                .unwrap_or((1, unigrams[p[0] as usize].0));
            for len in based_on..m {
                let context = &p[1..1 + len];
                if len == 1 {
                    let b = &mut unigrams[context[0] as usize].1;
                    if !super::probing::extends(*b) {
                        *b = 0.0;
                    }
                    prob += *b;
                } else if let Some(i) = real[len].find(context) {
                    let b = &mut real[len].backoffs[i];
                    if super::probing::extends(*b) {
                        prob += *b;
                    } else {
                        *b = 0.0;
                    }
                } else {
                    extended[len].push(context.to_vec());
                }
            }
            blank_probs[m].push(prob);
        }
    }
    let mut counts = vec![bound as u64];
    let mut levels: Vec<Level> = Vec::with_capacity(order - 1);
    // The sorted paths of the order below, flat.
    let mut below: Vec<u32> = (0..bound as u32).collect();
    let mut unigram_next = Vec::new();
    for n in 2..=order {
        let r = &real[n];
        let bl = &blanks[n];
        extended[n].sort_unstable();
        let mut level = Level::default();
        let mut sorted_paths = Vec::with_capacity(r.paths.len() + bl.len());
        let (mut i, mut j) = (0, 0);
        while i < r.len() || j < bl.len() / n {
            let take_real =
                j >= bl.len() / n || (i < r.len() && r.path(i) < &bl[j * n..(j + 1) * n]);
            if take_real {
                let p = r.path(i);
                level.words.push(p[n - 1]);
                level.probs.push(r.probs[i]);
                if n < order {
                    level.backoffs.push(r.backoffs[i]);
                }
                sorted_paths.extend_from_slice(p);
                i += 1;
            } else {
                let p = &bl[j * n..(j + 1) * n];
                level.words.push(p[n - 1]);
                level.probs.push(blank_probs[n][j]);
                let extends =
                    n + 1 != order && extended[n].binary_search_by(|e| e[..].cmp(p)).is_ok();
                level.backoffs.push(if extends { 0.0 } else { -0.0 });
                sorted_paths.extend_from_slice(p);
                j += 1;
            }
        }
        let count = level.words.len();
        // The children of each entry of the order below.
        let prev = below.len() / (n - 1);
        let mut next = Vec::with_capacity(prev + 1);
        let mut j = 0usize;
        for p in 0..prev {
            next.push(j as u64);
            let parent = &below[p * (n - 1)..(p + 1) * (n - 1)];
            while j < count && &sorted_paths[j * n..j * n + n - 1] == parent {
                j += 1;
            }
        }
        next.push(j as u64);
        if j != count {
            // Only a bigram can miss its parent, a unigram; ids are below the bound.
            return Err(Error::format(
                name,
                0,
                format!(
                    "the {n}-gram {:?} lacks its suffix {}-gram",
                    text_of(&sorted_paths[j * n..(j + 1) * n]),
                    n - 1
                ),
            ));
        }
        if n == 2 {
            unigram_next = next;
        } else {
            levels[n - 3].next = next;
        }
        counts.push(count as u64);
        levels.push(level);
        below = sorted_paths;
    }
    Ok(Grams {
        counts,
        hashes,
        strings: Some(strings),
        unigrams,
        unigram_next,
        levels,
    })
}

/// The n-grams of one order as trie paths (newest word first), flat and sorted.
#[derive(Debug, Clone, Default)]
struct Flat {
    n: usize,
    paths: Vec<u32>,
    probs: Vec<f32>,
    backoffs: Vec<f32>,
}

impl Flat {
    fn len(&self) -> usize {
        self.probs.len()
    }

    fn path(&self, i: usize) -> &[u32] {
        &self.paths[i * self.n..(i + 1) * self.n]
    }

    /// The index of `path` (of this order), by binary search.
    fn find(&self, path: &[u32]) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.path(mid).cmp(path) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }
}
