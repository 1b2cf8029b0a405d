//! KenLM's binary file (format version 5), probing layout: header checks, the section layout,
//! loading by memory map and saving by dump.
//!
//! Input (load): a file written by KenLM's `build_binary` (or by kneser). Output: a [`Model`]
//! reading its tables in place. Input (save): a [`Model`]; output: the same bytes
//! `build_binary` writes, atomically. The layout, section by section, is in
//! `docs/kenlm-binary.md`:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 56 | magic `mmap lm http://kheafield.com/code format version 5\n\0`, zero padded |
//! | 56 | 32 | sanity block: `0.0f 1.0f -0.5f`, `1u32`, `u32::MAX`, `0u32`, `1u64` (tells endianness and type sizes) |
//! | 88 | 20 | order `u8` (+3 pad), probing multiplier `f32`, model type `u32`, has-vocabulary `u8` (+3), search version `u32` |
//! | 108 | 8 N | n-gram counts, `u64` per order |
//! | align 8 | | vocabulary: version `u8` (0), pad, bound `u32`, then its table |
//! | | | unigrams, then the tables of orders 2..N-1, then order N |
//! | | | with the vocabulary flag: every word NUL-terminated, `<unk>` first, in id order |
//!
//! Errors: a foreign file, another version, another byte order, an unfinished build, a trie
//! layout (not read yet), counts or a size that disagree with the file: an [`Error::Format`]
//! naming the byte offset and what was expected.
//!
//! Memory: nothing beyond the mapping (or the copy, for [`LoadMethod::Read`]).

use std::io::Write;
use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::io::AtomicFile;
use crate::text::whitespace::Rule;

use super::load_method::{map_model_file, LoadMethod};
use super::probing::{
    buckets, f32_at, FastRem, Table, LONGEST_ENTRY, MIDDLE_ENTRY, UNIGRAM_ENTRY, VOCAB_ENTRY,
    VOCAB_HEADER,
};
use super::{Model, Storage, MAX_ORDER};

/// The magic of a finished version-5 file, as stored (with its NUL).
pub(crate) const MAGIC: &[u8] = b"mmap lm http://kheafield.com/code format version 5\n\0";
const MAGIC_BEFORE_VERSION: &[u8] = b"mmap lm http://kheafield.com/code format version";
const MAGIC_INCOMPLETE: &[u8] = b"mmap lm http://kheafield.com/code incomplete\n";
const MAGIC_PREFIX: &[u8] = b"mmap lm http://kheafield.com/code";
/// kneser's own format (version 1, written before kneser adopted KenLM's).
const OLD_KNESER_MAGIC: &[u8] = b"KNESERLM";
const SANITY: usize = 88;
const FIXED: usize = 20;
/// Where the model type is in the header (the search version is 8 bytes on).
pub(crate) const MODEL_TYPE_AT: usize = SANITY + 8;
/// Where the n-gram counts start.
pub(crate) const COUNTS_AT: usize = SANITY + FIXED;

/// KenLM's model types (`lm/model_type.hh`).
const PROBING: u32 = 0;
const MODEL_NAMES: [&str; 6] = [
    "probing",
    "probing with rest costs",
    "trie",
    "trie with quantization",
    "trie with array-compressed pointers",
    "trie with quantization and array-compressed pointers",
];

fn align8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// The header bytes (sanity block, parameters, counts), padded to a multiple of 8.
pub(crate) fn header_bytes(counts: &[u64], multiplier: f32, has_vocab: bool) -> Vec<u8> {
    let mut h = vec![0u8; header_size(counts.len())];
    h[..MAGIC.len()].copy_from_slice(MAGIC);
    let mut at = 56;
    for v in [0.0f32, 1.0, -0.5] {
        h[at..at + 4].copy_from_slice(&v.to_le_bytes());
        at += 4;
    }
    for v in [1u32, u32::MAX, 0] {
        h[at..at + 4].copy_from_slice(&v.to_le_bytes());
        at += 4;
    }
    h[at..at + 8].copy_from_slice(&1u64.to_le_bytes());
    h[SANITY] = counts.len() as u8;
    h[SANITY + 4..SANITY + 8].copy_from_slice(&multiplier.to_le_bytes());
    h[SANITY + 8..SANITY + 12].copy_from_slice(&PROBING.to_le_bytes());
    h[SANITY + 12] = u8::from(has_vocab);
    // search version 0 (KenLM's hashed search).
    for (i, c) in counts.iter().enumerate() {
        let at = SANITY + FIXED + 8 * i;
        h[at..at + 8].copy_from_slice(&c.to_le_bytes());
    }
    h
}

/// The header size for `order`.
pub(crate) fn header_size(order: usize) -> usize {
    align8(SANITY + FIXED + 8 * order)
}

/// Byte ranges of the sections of a probing image.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub counts: Vec<u64>,
    pub multiplier: f32,
    /// The vocabulary header (version, bound).
    pub vocab_header: usize,
    /// The vocabulary table.
    pub vocab: std::ops::Range<usize>,
    pub unigrams: std::ops::Range<usize>,
    /// `tables[n - 2]` for order `n` (the last is the highest order).
    pub tables: Vec<std::ops::Range<usize>>,
    /// The bucket counts of the vocabulary table and of `tables` (worked out once: scoring
    /// makes its view of the tables per call).
    pub vocab_buckets: FastRem,
    pub table_buckets: Vec<FastRem>,
    /// Where the vocabulary strings start (the end of the tables).
    pub end: usize,
}

impl Layout {
    /// The layout for `counts` (order >= 2) and `multiplier`; `None` if the sizes overflow.
    pub(crate) fn new(counts: &[u64], multiplier: f32) -> Option<Layout> {
        let order = counts.len();
        let mut at = header_size(order);
        let vocab_header = at;
        let size = |entries: u64, stride: usize| -> Option<usize> {
            usize::try_from(buckets(entries, multiplier))
                .ok()?
                .checked_mul(stride)
        };
        let vocab_len = size(counts[0], VOCAB_ENTRY)?;
        at = at.checked_add(VOCAB_HEADER)?;
        let vocab = at..at.checked_add(vocab_len)?;
        at = vocab.end;
        let uni_len = usize::try_from(counts[0].checked_add(1)?)
            .ok()?
            .checked_mul(UNIGRAM_ENTRY)?;
        let unigrams = at..at.checked_add(uni_len)?;
        at = unigrams.end;
        let mut tables = Vec::with_capacity(order - 1);
        let mut table_buckets = Vec::with_capacity(order - 1);
        for (i, &c) in counts.iter().enumerate().skip(1) {
            let stride = if i + 1 == order {
                LONGEST_ENTRY
            } else {
                MIDDLE_ENTRY
            };
            let len = size(c, stride)?;
            table_buckets.push(FastRem::new((len / stride) as u64));
            tables.push(at..at.checked_add(len)?);
            at = tables[tables.len() - 1].end;
        }
        Some(Layout {
            counts: counts.to_vec(),
            multiplier,
            vocab_header,
            vocab,
            unigrams,
            tables,
            vocab_buckets: FastRem::new((vocab_len / VOCAB_ENTRY) as u64),
            table_buckets,
            end: at,
        })
    }

    pub(crate) fn order(&self) -> usize {
        self.counts.len()
    }

    /// The entry size of the table of order `n` (>= 2).
    pub(crate) fn stride(&self, n: usize) -> usize {
        if n == self.order() {
            LONGEST_ENTRY
        } else {
            MIDDLE_ENTRY
        }
    }
}

/// Opens `path` and, if it is a binary model (KenLM's magic, finished or not, or kneser's old
/// one: decided by content, as KenLM does), returns it open at its start for [`load_file`], so
/// that a binary is opened once; `None` for any other file.
pub(crate) fn open_binary(path: &Path) -> Result<Option<std::fs::File>> {
    use std::io::{Read, Seek};
    if path.as_os_str() == "-" {
        return Ok(None);
    }
    let mut file = std::fs::File::open(path).at_path("cannot open", path)?;
    let mut head = [0u8; MAGIC_PREFIX.len()];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(crate::Error::io("cannot read", path, e)),
        }
    }
    let head = &head[..got];
    // A file cut inside the magic is still recognised (and refused as truncated).
    if (head.len() >= 4 && MAGIC_PREFIX.starts_with(head)) || head.starts_with(OLD_KNESER_MAGIC) {
        file.rewind().at_path("cannot read", path)?;
        Ok(Some(file))
    } else {
        Ok(None)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    name: String,
}

impl Reader<'_> {
    fn error(&self, offset: usize, message: impl std::fmt::Display) -> Error {
        Error::format(
            &self.name,
            0,
            format!("not a usable KenLM binary model at byte {offset}: {message}"),
        )
    }

    fn u32(&self, at: usize) -> Result<u32> {
        match self.bytes.get(at..at + 4) {
            Some(b) => Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            None => Err(self.error(at, "the file ends inside its header (truncated)")),
        }
    }

    fn u64(&self, at: usize) -> Result<u64> {
        match self.bytes.get(at..at + 8) {
            Some(b) => {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Ok(u64::from_le_bytes(a))
            }
            None => Err(self.error(at, "the file ends inside its header (truncated)")),
        }
    }
}

/// Checks the magic, sanity block and fixed parameters of a binary image.
pub(crate) fn parse_fixed(bytes: &[u8], name: &str) -> Result<Fixed> {
    let r = Reader {
        bytes,
        name: name.to_string(),
    };
    if bytes.starts_with(OLD_KNESER_MAGIC) {
        return Err(r.error(
            0,
            "this is kneser's own binary format (version 1), which kneser no longer reads: \
             rebuild it from the ARPA with `kneser build-binary model.arpa model.bin` (KenLM's \
             probing format, which both kneser and KenLM load)",
        ));
    }
    if bytes.starts_with(MAGIC_INCOMPLETE) {
        return Err(r.error(
            0,
            "this binary file did not finish building (KenLM's 'incomplete' magic)",
        ));
    }
    if !bytes.starts_with(MAGIC) {
        if bytes.starts_with(MAGIC_BEFORE_VERSION) {
            let rest = &bytes[MAGIC_BEFORE_VERSION.len()..bytes.len().min(60)];
            let version: String = String::from_utf8_lossy(rest)
                .trim_matches(|c: char| Rule::Ascii.is_space(c))
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            return Err(r.error(
                MAGIC_BEFORE_VERSION.len(),
                format!(
                    "expected format version 5, found version {version:?}; rebuild the binary from the ARPA"
                ),
            ));
        }
        return Err(r.error(
            0,
            "expected KenLM's magic `mmap lm http://kheafield.com/code format version 5`",
        ));
    }
    let reference = header_bytes(&[], 1.0, false);
    if bytes.len() < SANITY {
        return Err(r.error(
            bytes.len(),
            "the file ends inside its sanity block (truncated)",
        ));
    }
    if let Some(at) = (MAGIC.len()..SANITY).find(|&i| bytes[i] != reference[i]) {
        return Err(r.error(
            at,
            "the sanity block (0.0, 1.0, -0.5, 1, 2^32-1, 1) does not match: the file was \
             written on a machine of another byte order or word size",
        ));
    }
    let order = usize::from(
        *bytes
            .get(SANITY)
            .ok_or_else(|| r.error(SANITY, "truncated"))?,
    );
    if !(2..=MAX_ORDER).contains(&order) {
        return Err(r.error(
            SANITY,
            format!("expected an order from 2 to {MAX_ORDER}, found {order}"),
        ));
    }
    let multiplier = f32::from_bits(r.u32(SANITY + 4)?);
    let model_type = r.u32(SANITY + 8)?;
    let has_vocab = match bytes.get(SANITY + 12) {
        Some(0) => false,
        Some(1) => true,
        Some(v) => {
            return Err(r.error(
                SANITY + 12,
                format!("expected a vocabulary flag of 0 or 1, found {v}"),
            ))
        }
        None => return Err(r.error(SANITY + 12, "truncated")),
    };
    let search_version = r.u32(SANITY + 16)?;
    if !(multiplier.is_finite() && multiplier > 1.0) {
        return Err(r.error(
            SANITY + 4,
            format!("expected a probing multiplier above 1.0, found {multiplier}"),
        ));
    }
    let expected_version = match model_type {
        PROBING => 0,
        t if (super::trie::TRIE..=super::trie::TRIE + 3).contains(&t) => super::trie::TRIE_VERSION,
        t if (t as usize) < MODEL_NAMES.len() => {
            return Err(r.error(
                SANITY + 8,
                format!(
                    "this file holds KenLM's {} layout, which kneser does not read; rebuild it \
                     with `build_binary probing` or load the ARPA",
                    MODEL_NAMES[t as usize]
                ),
            ))
        }
        t => {
            return Err(r.error(
                SANITY + 8,
                format!("expected a model type 0 to 5, found {t}"),
            ))
        }
    };
    if search_version != expected_version {
        return Err(r.error(
            SANITY + 16,
            format!(
                "expected {} search version {expected_version}, found {search_version}",
                MODEL_NAMES[model_type as usize]
            ),
        ));
    }
    let mut counts = Vec::with_capacity(order);
    for n in 0..order {
        let at = SANITY + FIXED + 8 * n;
        let c = r.u64(at)?;
        // Only the unigrams (`<unk>` at least) cannot be empty: a model of a tiny corpus may
        // have no n-grams of its top orders, and KenLM loads such files.
        if (c == 0 && n == 0) || c > bytes.len() as u64 {
            return Err(r.error(
                at,
                format!(
                    "the {}-gram count {c} cannot fit in a file of {} bytes",
                    n + 1,
                    bytes.len()
                ),
            ));
        }
        counts.push(c);
    }
    Ok(Fixed {
        counts,
        multiplier,
        model_type,
        has_vocab,
    })
}

/// The fixed part of a header: counts, multiplier, model type, vocabulary flag.
pub(crate) struct Fixed {
    pub counts: Vec<u64>,
    pub multiplier: f32,
    pub model_type: u32,
    pub has_vocab: bool,
}

/// Checks the header of a probing image and returns its layout and vocabulary flag.
pub(crate) fn parse_header(bytes: &[u8], name: &str) -> Result<(Layout, bool)> {
    let fixed = parse_fixed(bytes, name)?;
    let r = Reader {
        bytes,
        name: name.to_string(),
    };
    if fixed.model_type != PROBING {
        return Err(r.error(
            SANITY + 8,
            format!(
                "expected the probing layout, found {}",
                MODEL_NAMES[fixed.model_type as usize]
            ),
        ));
    }
    let Fixed {
        counts,
        multiplier,
        has_vocab,
        ..
    } = fixed;
    let layout = Layout::new(&counts, multiplier).ok_or_else(|| {
        r.error(
            SANITY + FIXED,
            "the n-gram counts give a size beyond the address space",
        )
    })?;
    if bytes.len() < layout.end {
        return Err(r.error(
            bytes.len(),
            format!(
                "the counts and multiplier need {} bytes of tables, the file has {} (truncated?)",
                layout.end,
                bytes.len()
            ),
        ));
    }
    if has_vocab {
        if !bytes[layout.end..].starts_with(b"<unk>\0") {
            return Err(r.error(
                layout.end,
                "expected the vocabulary strings, starting with `<unk>\\0`",
            ));
        }
    } else if bytes.len() != layout.end {
        return Err(r.error(
            layout.end,
            format!(
                "expected the file to end here ({} bytes), it has {}",
                layout.end,
                bytes.len()
            ),
        ));
    }
    let bound = r.u32(layout.vocab_header + 4)?;
    let vocab_version = bytes[layout.vocab_header];
    if vocab_version != 0 {
        return Err(r.error(
            layout.vocab_header,
            format!("expected probing vocabulary version 0, found {vocab_version}"),
        ));
    }
    if u64::from(bound) != counts[0] && u64::from(bound) != counts[0] + 1 {
        return Err(r.error(
            layout.vocab_header + 4,
            format!(
                "expected a vocabulary bound of {} or {}, found {bound}",
                counts[0],
                counts[0] + 1
            ),
        ));
    }
    if has_vocab {
        // The strings' ends (no pass over them: scoring never reads them; the words are counted
        // when a caller needs them, `check_vocab_strings`): the last word is word `bound - 1`.
        let vocab = Table::new(&bytes[layout.vocab.clone()], VOCAB_ENTRY);
        check_strings_end(bytes, layout.end, u64::from(bound), name, |word| {
            vocab
                .find(super::probing::vocab_hash(word))
                .map(|at| u64::from(vocab.u32(at)))
        })?;
    }
    Ok((layout, has_vocab))
}

/// The checks every load makes of the vocabulary strings at `start` (to the end of the file),
/// without a pass over them: they end with a NUL, and their last word is word `words - 1` by
/// `id_of` (the vocabulary's own lookup), so a file cut or extended at a word boundary is
/// refused too. The word count ([`check_vocab_strings`]) waits until the strings are needed.
pub(crate) fn check_strings_end(
    bytes: &[u8],
    start: usize,
    words: u64,
    name: &str,
    id_of: impl Fn(&[u8]) -> Option<u64>,
) -> Result<()> {
    let strings = bytes.get(start..).unwrap_or_default();
    let ends_well = match strings.split_last() {
        Some((&0, body)) => {
            words <= 1 || id_of(body.rsplit(|&b| b == 0).next().unwrap_or(body)) == Some(words - 1)
        }
        _ => false,
    };
    if ends_well {
        return Ok(());
    }
    Err(Error::format(
        name,
        0,
        format!(
            "not a usable KenLM binary model at byte {}: expected {words} NUL-terminated \
             vocabulary words after byte {start}, the last of them word {} (truncated or \
             corrupted)",
            bytes.len(),
            words.saturating_sub(1)
        ),
    ))
}

/// Checks that the vocabulary strings `strings` (from byte `start` of the file `name`) hold
/// exactly `words` NUL-terminated words: run when a caller needs the words
/// ([`Model::vocab_strings`]), not on load.
pub(crate) fn check_vocab_strings(
    strings: &[u8],
    words: u64,
    start: usize,
    name: &str,
) -> Result<()> {
    let found = super::probing::count_nuls(strings) as u64;
    if found != words || strings.last() != Some(&0) {
        return Err(Error::format(
            name,
            0,
            format!(
                "not a usable KenLM binary model at byte {}: expected {words} NUL-terminated \
                 vocabulary words after byte {start}, found {found} (truncated or corrupted)",
                start + strings.len()
            ),
        ));
    }
    Ok(())
}

/// Loads a KenLM binary (probing or trie) by `method` from `file`, opened at its start from
/// `path` ([`open_binary`]).
pub(crate) fn load_file(file: &std::fs::File, path: &Path, method: LoadMethod) -> Result<Model> {
    let map = map_model_file(file, path, method)?;
    let name = path.display().to_string();
    let fixed = parse_fixed(&map, &name)?;
    if fixed.model_type != PROBING {
        let mut m = super::trie::load(
            Storage::Mapped(map),
            &name,
            fixed,
            method == LoadMethod::Read,
        )?;
        m.source = super::Source::Trie(path.to_path_buf());
        return Ok(m);
    }
    let (layout, has_vocab) = parse_header(&map, &name)?;
    let mut m = Model::from_image(Storage::Mapped(map), layout, has_vocab, &name)?;
    m.source = super::Source::Probing(path.to_path_buf());
    Ok(m)
}

/// Opens and loads a binary model file (tests: [`open_binary`] then [`load_file`]).
#[cfg(test)]
pub(crate) fn load(path: &Path, method: LoadMethod) -> Result<Model> {
    match open_binary(path)? {
        Some(file) => load_file(&file, path, method),
        None => Err(Error::format(
            path.display().to_string(),
            0,
            "not a binary model".to_string(),
        )),
    }
}

impl Model {
    /// Finds `<s>`, `</s>` and the vocabulary bound of an image and makes the model.
    pub(crate) fn from_image(
        storage: Storage,
        layout: Layout,
        has_vocab: bool,
        name: &str,
    ) -> Result<Model> {
        let bytes = storage.bytes();
        let bound = super::probing::u32_at(bytes, layout.vocab_header + 4);
        let vocab = Table::new(&bytes[layout.vocab.clone()], VOCAB_ENTRY);
        let id_of = |w: &[u8]| {
            vocab
                .find(super::probing::vocab_hash(w))
                .map(|at| vocab.u32(at))
        };
        // A model without `<s>` or `</s>` (an ARPA read with `-s`, or such a binary, which
        // KenLM loads without a check) scores the missing word as `<unk>`.
        let bos = id_of(b"<s>").unwrap_or(0);
        let eos = id_of(b"</s>").unwrap_or(0);
        if bos >= bound || eos >= bound {
            return Err(Error::format(
                name,
                0,
                format!("the ids of <s> ({bos}) and </s> ({eos}) must be below the vocabulary bound {bound}"),
            ));
        }
        let unk = layout.unigrams.start;
        let unk_missing = f32_at(bytes, unk) == super::build::MISSING_UNK_LOG10P
            && f32_at(bytes, unk + 4).to_bits() == 0;
        Ok(Model {
            order: layout.order(),
            vocab_size: bound as usize,
            bos,
            eos,
            unk_missing,
            has_vocab,
            layout,
            storage,
            source: super::Source::None,
            trie: None,
        })
    }
}

/// Refuses a model of order 1 for either layout, as `build_binary` does ("This ngram
/// implementation assumes at least a bigram model"): KenLM's binary format holds orders 2 and
/// above.
pub(crate) fn check_order(order: usize) -> Result<()> {
    if order < 2 {
        return Err(crate::error::Error::InvalidArgument(format!(
            "KenLM's binary format holds models of order 2 and above; this model has order \
             {order} (build_binary: \"This ngram implementation assumes at least a bigram \
             model\")"
        )));
    }
    Ok(())
}

/// Writes `model` as a KenLM probing binary (with its vocabulary strings when `include_vocab`
/// and the model has them); the file appears at `path` only when complete.
pub(crate) fn save(model: &Model, path: &Path, include_vocab: bool) -> Result<()> {
    if let Some(grams) = model.trie_grams() {
        // A trie file: its n-grams become the probing image first.
        let name = path.display().to_string();
        let probing = grams?.to_model(model.layout.multiplier, &name)?;
        return save(&probing, path, include_vocab);
    }
    let bytes = model.storage.bytes();
    let with_vocab = include_vocab && model.vocab_strings()?.is_some();
    let header = header_bytes(&model.layout.counts, model.layout.multiplier, with_vocab);
    let mut out = AtomicFile::create_for(path, model.input_file().as_slice())?;
    let body_end = if with_vocab {
        bytes.len()
    } else {
        model.layout.end
    };
    let write = |out: &mut AtomicFile| -> std::io::Result<()> {
        out.write_all(&header)?;
        out.write_all(&bytes[header.len()..body_end])
    };
    write(&mut out).at_path("cannot write", path)?;
    out.commit()
}
