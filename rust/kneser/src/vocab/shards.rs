//! A corpus to token-id shards for training loaders (`.npy`, or raw `.bin` as nanoGPT reads).
//!
//! Input: text files (plain or compressed), one document per line, split by a [`Tokenizer`] and
//! mapped through a [`Vocab`]. Lines with no token are skipped (counted in the index as
//! `empty_lines`). Output, in `out_dir`:
//! * `{prefix}_000000.npy`, `{prefix}_000001.npy`, ...: the ids in corpus order, each document
//!   followed by the end-of-document id (`</s>` by default), cut into shards of exactly
//!   `shard_tokens` ids (the last one shorter; a document may straddle two shards). `.npy` files
//!   have a 128-byte version 1.0 header and a 1-D little-endian array; `.bin` files are the raw
//!   little-endian ids (`np.memmap(path, dtype=np.uint16, mode="r")`).
//! * `index.json`: documents, tokens, the shard files with their token and document counts (a
//!   document counts in the shard holding its last id), dtype, vocabulary size, end-of-document id.
//!
//! The dtype is uint16 when every id fits (a vocabulary of at most 65,536 tokens), else uint32.
//! Every file is written through [`OutputFile`], the index last (an earlier run's index is removed
//! first and its shard files not overwritten are removed before the new index appears), so a crash or Ctrl-C never leaves
//! a half-written file under a final name.
//!
//! Memory: the reader's batches (at most four of [`super::count::BATCH_BYTES`] of text), the ids
//! of one batch (4 bytes per token) and one write buffer; independent of the corpus size.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::cancel::Cancel;
use crate::error::{Error, IoContext, Result};
use crate::io::{display_name, OutputFile};
use crate::text::tokenize::Tokenizer;

use super::count::{for_each_batch, LineBatch};
use super::encode::Unknown;
use super::{Vocab, EOS, UNK};

/// The element type of the shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShardDtype {
    /// uint16 when the vocabulary fits (at most 65,536 ids), else uint32.
    #[default]
    Auto,
    /// Little-endian uint16; the vocabulary must have at most 65,536 ids.
    U16,
    /// Little-endian uint32.
    U32,
}

impl ShardDtype {
    /// `"auto"`, `"uint16"` or `"uint32"`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(ShardDtype::Auto),
            "uint16" | "u16" => Ok(ShardDtype::U16),
            "uint32" | "u32" => Ok(ShardDtype::U32),
            other => Err(Error::InvalidArgument(format!(
                "dtype must be \"auto\", \"uint16\" or \"uint32\", got {other:?}"
            ))),
        }
    }

    /// The concrete dtype for a vocabulary of `vocab_size` ids.
    pub fn resolve(self, vocab_size: usize) -> Result<Self> {
        let fits16 = vocab_size <= 1 << 16;
        match self {
            ShardDtype::Auto if fits16 => Ok(ShardDtype::U16),
            ShardDtype::Auto => Ok(ShardDtype::U32),
            ShardDtype::U16 if !fits16 => Err(Error::InvalidArgument(format!(
                "dtype uint16 holds ids below 65536, but the vocabulary has {vocab_size} ids; use uint32 or auto"
            ))),
            d => Ok(d),
        }
    }

    /// The numpy name (`uint16`, `uint32`; `auto` before resolution).
    pub fn name(self) -> &'static str {
        match self {
            ShardDtype::Auto => "auto",
            ShardDtype::U16 => "uint16",
            ShardDtype::U32 => "uint32",
        }
    }

    fn width(self) -> usize {
        if self == ShardDtype::U16 {
            2
        } else {
            4
        }
    }
}

/// The file format of the shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShardFormat {
    /// numpy's `.npy` (version 1.0 header, 1-D array).
    #[default]
    Npy,
    /// Raw little-endian ids, no header (`.bin`).
    Bin,
}

impl ShardFormat {
    /// `"npy"` or `"bin"`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "npy" => Ok(ShardFormat::Npy),
            "bin" => Ok(ShardFormat::Bin),
            other => Err(Error::InvalidArgument(format!(
                "format must be \"npy\" or \"bin\", got {other:?}"
            ))),
        }
    }

    /// The file extension, which is also the name.
    pub fn name(self) -> &'static str {
        match self {
            ShardFormat::Npy => "npy",
            ShardFormat::Bin => "bin",
        }
    }
}

/// Ids per shard unless told otherwise (100 M: 200 MB of uint16, 400 MB of uint32).
pub const DEFAULT_SHARD_TOKENS: u64 = 100_000_000;

/// Options of [`encode_corpus`], checked before any work.
#[derive(Debug, Clone)]
pub struct EncodeConfig {
    /// Element type of the shards.
    pub dtype: ShardDtype,
    /// File format of the shards.
    pub format: ShardFormat,
    /// Ids per shard (the last shard holds the rest). At least 1.
    pub shard_tokens: u64,
    /// The token appended after each document, or `None` for no end-of-document id.
    pub eod: Option<String>,
    /// Unknown tokens: `<unk>`, or an error naming file and line.
    pub unknown: Unknown,
    /// Print progress on stderr.
    pub progress: bool,
    /// Shard file names are `{prefix}_{index:06}.{npy|bin}`.
    pub prefix: String,
}

impl Default for EncodeConfig {
    fn default() -> Self {
        EncodeConfig {
            dtype: ShardDtype::Auto,
            format: ShardFormat::Npy,
            shard_tokens: DEFAULT_SHARD_TOKENS,
            eod: Some(EOS.to_string()),
            unknown: Unknown::Unk,
            progress: false,
            prefix: "shard".to_string(),
        }
    }
}

/// One shard file of a [`CorpusIndex`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    /// The file name, relative to the output directory.
    pub file: String,
    /// Ids in the file.
    pub tokens: u64,
    /// Documents whose last id is in the file.
    pub documents: u64,
}

/// What [`encode_corpus`] wrote; saved as `index.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusIndex {
    /// Documents (non-empty lines) encoded.
    pub documents: u64,
    /// Ids written, end-of-document ids included.
    pub tokens: u64,
    /// Ids written for unknown tokens (and for `<unk>` in the text).
    pub unk_tokens: u64,
    /// Lines without any token, skipped.
    pub empty_lines: u64,
    /// The shards in order.
    pub shards: Vec<ShardInfo>,
    /// `uint16` or `uint32`.
    pub dtype: ShardDtype,
    /// `npy` or `bin`.
    pub format: ShardFormat,
    /// Ids per full shard.
    pub shard_tokens: u64,
    /// Number of ids of the vocabulary.
    pub vocab_size: usize,
    /// The end-of-document token and id, if any.
    pub eod: Option<(String, u32)>,
    /// The input files as given.
    pub sources: Vec<String>,
}

impl CorpusIndex {
    /// The index as a JSON document (what `index.json` holds).
    pub fn to_json(&self) -> String {
        let shards: Vec<_> = self
            .shards
            .iter()
            .map(|s| serde_json::json!({"file": s.file, "tokens": s.tokens, "documents": s.documents}))
            .collect();
        let value = serde_json::json!({
            "format": "kneser-shards",
            "version": 1,
            "file_format": self.format.name(),
            "dtype": self.dtype.name(),
            "vocab_size": self.vocab_size,
            "eod_token": self.eod.as_ref().map(|e| e.0.clone()),
            "eod_id": self.eod.as_ref().map(|e| e.1),
            "documents": self.documents,
            "tokens": self.tokens,
            "unk_tokens": self.unk_tokens,
            "empty_lines": self.empty_lines,
            "shard_tokens": self.shard_tokens,
            "shards": shards,
            "sources": self.sources,
        });
        let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// Encodes every line of `paths` into shards in `out_dir` (created if missing) and writes
/// `out_dir/index.json`; see the module doc for the layout.
///
/// Errors: a bad option (`InvalidArgument`: `shard_tokens` 0, an end-of-document token not in
/// the vocabulary, uint16 for a vocabulary too large), I/O errors, invalid UTF-8 or (with
/// [`Unknown::Raise`]) an unknown token as a `Format` error naming file and line, `Interrupted`.
///
/// Example:
/// ```no_run
/// use kneser::{text::tokenize::Tokenizer, vocab::*, Cancel};
/// # let vocab: Vocab = unimplemented!();
/// let index = encode_corpus(&["train.txt".into()], &vocab, &Tokenizer::whitespace(),
///                           "shards".as_ref(), &EncodeConfig::default(), &Cancel::new()).unwrap();
/// println!("{} tokens in {} shards", index.tokens, index.shards.len());
/// ```
pub fn encode_corpus(
    paths: &[PathBuf],
    vocab: &Vocab,
    tokenizer: &Tokenizer,
    out_dir: &Path,
    config: &EncodeConfig,
    cancel: &Cancel,
) -> Result<CorpusIndex> {
    if paths.is_empty() {
        return Err(Error::InvalidArgument("no input files to encode".into()));
    }
    let sources = paths.iter().map(|p| display_name(p)).collect();
    encode_with(sources, vocab, tokenizer, out_dir, config, |consume| {
        for_each_batch(paths, cancel, consume)
    })
}

/// The name texts from a caller go by, in the index's `sources` and in messages.
pub const TEXTS_SOURCE: &str = "<texts>";

/// Encodes texts from a caller, given in batches (each string one document, as one line of a
/// file is), into shards as [`encode_corpus`] does; the index names them [`TEXTS_SOURCE`] and
/// an unknown token (with [`Unknown::Raise`]) is reported with the text's 1-based number.
///
/// Errors: as [`encode_corpus`], and any error a batch carries.
///
/// Example:
/// ```no_run
/// use kneser::{text::tokenize::Tokenizer, vocab::*, Cancel};
/// # let vocab: Vocab = unimplemented!();
/// let batches = vec![Ok(vec!["a b".to_string(), "c".to_string()])];
/// let index = encode_texts(batches, &vocab, &Tokenizer::whitespace(), "shards".as_ref(),
///                          &EncodeConfig::default(), &Cancel::new()).unwrap();
/// ```
pub fn encode_texts(
    batches: impl IntoIterator<Item = Result<Vec<String>>>,
    vocab: &Vocab,
    tokenizer: &Tokenizer,
    out_dir: &Path,
    config: &EncodeConfig,
    cancel: &Cancel,
) -> Result<CorpusIndex> {
    let sources = vec![TEXTS_SOURCE.to_string()];
    encode_with(sources, vocab, tokenizer, out_dir, config, |consume| {
        let mut first_line = 1u64;
        for texts in batches {
            let texts = texts?;
            cancel.check()?;
            let mut batch = LineBatch {
                text: String::with_capacity(texts.iter().map(|t| t.len() + 1).sum()),
                ends: Vec::with_capacity(texts.len()),
                file_index: 0,
                source: TEXTS_SOURCE.to_string(),
                first_line,
            };
            for t in &texts {
                batch.text.push_str(t);
                batch.ends.push(batch.text.len());
                batch.text.push('\n');
            }
            first_line += texts.len() as u64;
            if !batch.is_empty() {
                consume(&batch)?;
            }
        }
        Ok(())
    })
}

/// The encoder behind [`encode_corpus`] and [`encode_texts`]: `feed` calls its argument with
/// every batch of lines in corpus order.
fn encode_with(
    sources: Vec<String>,
    vocab: &Vocab,
    tokenizer: &Tokenizer,
    out_dir: &Path,
    config: &EncodeConfig,
    feed: impl FnOnce(&mut dyn FnMut(&LineBatch) -> Result<()>) -> Result<()>,
) -> Result<CorpusIndex> {
    let eod = match &config.eod {
        None => None,
        Some(token) => Some((
            token.clone(),
            vocab.token_to_id(token).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "end-of-document token {token:?} is not in the vocabulary; name one that is, or turn eod off"
                ))
            })?,
        )),
    };
    let unk = vocab.unknown_id(config.unknown)?;
    let mut sink = ShardSink::new(out_dir, config, vocab.len(), eod, sources)?;
    let eod_id = sink.index.eod.as_ref().map(|e| e.1);
    let dtype = sink.index.dtype;
    let mut parts = Vec::new();
    feed(&mut |batch| {
        let used = encode_lines(vocab, tokenizer, batch, unk, eod_id, dtype, &mut parts)?;
        for part in &parts[..used] {
            sink.write_encoded(part, batch.file_index, &batch.source)?;
        }
        Ok(())
    })?;
    sink.finish()
}

/// Ids encoded elsewhere (e.g. by a huggingface tokenizer), one batch of documents back to back,
/// end-of-document ids included, for [`ShardSink::write`].
#[derive(Debug, Clone, Default)]
pub struct IdBatch {
    /// The ids of the batch's documents, in order.
    pub ids: Vec<u32>,
    /// Offset in `ids` just past each document (ascending, the last one `ids.len()`).
    pub doc_ends: Vec<usize>,
    /// Documents of the batch without any id, skipped.
    pub empty_lines: u64,
}

impl IdBatch {
    /// Appends one document: `bos` (when given), `ids`, `eos` (when given), straight into
    /// [`IdBatch::ids`]; a document whose `ids` are empty is counted in
    /// [`IdBatch::empty_lines`] instead (no bos/eos written for it).
    ///
    /// Example:
    /// ```
    /// let mut b = kneser::vocab::IdBatch::default();
    /// b.push_document([5, 6], Some(1), Some(2));
    /// b.push_document([], Some(1), Some(2));
    /// assert_eq!((b.ids, b.doc_ends, b.empty_lines), (vec![1, 5, 6, 2], vec![4], 1));
    /// ```
    pub fn push_document(
        &mut self,
        ids: impl IntoIterator<Item = u32>,
        bos: Option<u32>,
        eos: Option<u32>,
    ) {
        let start = self.ids.len();
        self.ids.extend(bos);
        let before = self.ids.len();
        self.ids.extend(ids);
        if self.ids.len() == before {
            self.ids.truncate(start);
            self.empty_lines += 1;
            return;
        }
        self.ids.extend(eos);
        self.doc_ends.push(self.ids.len());
    }

    /// Empties the batch, keeping its buffers for the next one.
    pub fn clear(&mut self) {
        self.ids.clear();
        self.doc_ends.clear();
        self.empty_lines = 0;
    }
}

/// The one shard writer: takes batches of ids in corpus order and writes the shard files and
/// `index.json` of the module doc, every file atomically. [`encode_corpus`] and
/// [`encode_texts`] feed it ids of a [`Vocab`]; the bindings feed it ids of other tokenizers.
/// Dropped before [`ShardSink::finish`], it leaves no new file under a final name except the
/// shards already complete (and no index).
pub struct ShardSink {
    writer: ShardWriter,
    index: CorpusIndex,
    index_path: PathBuf,
    progress: Option<Progress>,
    /// The tokenizer's unknown id, counted into `unk_tokens` by [`ShardSink::write`].
    unk_id: Option<u32>,
}

impl ShardSink {
    /// Opens `out_dir` (created if missing) for shards of ids below `vocab_size`; `eod` is the
    /// end-of-document token and id written in the index (the caller appends the id), `sources`
    /// the input names. An index of an earlier run is removed first.
    ///
    /// Errors: `shard_tokens` 0, uint16 for a vocabulary above 65,536 ids, an `eod` id not below
    /// `vocab_size` (`InvalidArgument`); I/O errors.
    pub fn new(
        out_dir: &Path,
        config: &EncodeConfig,
        vocab_size: usize,
        eod: Option<(String, u32)>,
        sources: Vec<String>,
    ) -> Result<Self> {
        if config.shard_tokens == 0 {
            return Err(Error::InvalidArgument(
                "shard_tokens must be at least 1".into(),
            ));
        }
        let dtype = config.dtype.resolve(vocab_size)?;
        if let Some((token, id)) = &eod {
            if *id as usize >= vocab_size {
                return Err(Error::InvalidArgument(format!(
                    "end-of-document id {id} ({token:?}) is not below the vocabulary size {vocab_size}"
                )));
            }
        }
        std::fs::create_dir_all(out_dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound {
                path: out_dir.to_path_buf(),
            },
            _ => Error::io("cannot create directory", out_dir, e),
        })?;
        let index_path = out_dir.join("index.json");
        // An index of an earlier run would describe shards this run replaces: it goes first, and
        // the new one is written last, once the directory holds exactly the new shards.
        match std::fs::remove_file(&index_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io("cannot remove the old index", &index_path, e))
            }
            _ => {}
        }
        let index = CorpusIndex {
            documents: 0,
            tokens: 0,
            unk_tokens: 0,
            empty_lines: 0,
            shards: Vec::new(),
            dtype,
            format: config.format,
            shard_tokens: config.shard_tokens,
            vocab_size,
            eod,
            sources,
        };
        let progress = config.progress.then(|| Progress::new(index.sources.len()));
        Ok(ShardSink {
            writer: ShardWriter::new(out_dir, config, dtype),
            index,
            index_path,
            progress,
            unk_id: None,
        })
    }

    /// The id of the encoder's unknown token (a huggingface tokenizer's `unk_token`): its
    /// occurrences in the batches given to [`ShardSink::write`] are counted in the index's
    /// `unk_tokens`. None (the default): nothing is counted.
    ///
    /// Errors: an id not below the vocabulary size (`InvalidArgument`).
    pub fn set_unk_id(&mut self, id: Option<u32>) -> Result<()> {
        if let Some(id) = id {
            if id as usize >= self.index.vocab_size {
                return Err(Error::InvalidArgument(format!(
                    "unknown-token id {id} is not below the vocabulary size {}",
                    self.index.vocab_size
                )));
            }
        }
        self.unk_id = id;
        Ok(())
    }

    /// Appends one batch of `source` (input number `file_index`, for progress).
    ///
    /// Errors: an id not below the vocabulary size, `doc_ends` not ascending within `ids`
    /// (`InvalidArgument`); I/O errors.
    pub fn write(&mut self, batch: &IdBatch, file_index: usize, source: &str) -> Result<()> {
        let size = self.index.vocab_size;
        if let Some(bad) = batch.ids.iter().find(|&&id| id as usize >= size) {
            return Err(Error::InvalidArgument(format!(
                "id {bad} is not below the vocabulary size {size}"
            )));
        }
        let unk_tokens = match self.unk_id {
            Some(u) => batch.ids.iter().filter(|&&id| id == u).count() as u64,
            None => 0,
        };
        // Documents are never empty (an empty one is counted in `empty_lines`): the ends rise
        // strictly, and the last is the batch's end.
        let mut last = 0usize;
        for &end in &batch.doc_ends {
            if end <= last || end > batch.ids.len() {
                return Err(Error::InvalidArgument(format!(
                    "document ends must rise strictly within the {} ids of the batch, got {end} after {last}",
                    batch.ids.len()
                )));
            }
            last = end;
        }
        if last != batch.ids.len() {
            return Err(Error::InvalidArgument(format!(
                "the last document must end at the batch's end ({}), got {last}",
                batch.ids.len()
            )));
        }
        let mut bytes = std::mem::take(&mut self.writer.bytes);
        to_le_bytes(&batch.ids, self.index.dtype, &mut bytes);
        let written = self.write_counted(batch, &bytes, unk_tokens, file_index, source);
        self.writer.bytes = bytes;
        written
    }

    /// Appends one [`Part`] encoded by [`encode_lines`].
    fn write_encoded(&mut self, part: &Part, file_index: usize, source: &str) -> Result<()> {
        self.write_counted(&part.ids, &part.bytes, part.unk_tokens, file_index, source)
    }

    /// Appends `batch`, whose ids are `bytes` in the shards' dtype.
    fn write_counted(
        &mut self,
        batch: &IdBatch,
        bytes: &[u8],
        unk_tokens: u64,
        file_index: usize,
        source: &str,
    ) -> Result<()> {
        self.index.empty_lines += batch.empty_lines;
        self.index.documents += batch.doc_ends.len() as u64;
        self.index.unk_tokens += unk_tokens;
        self.writer.write(bytes, &batch.doc_ends)?;
        if let Some(p) = self.progress.as_mut() {
            p.update(
                file_index,
                source,
                self.index.documents,
                self.writer.written,
            );
        }
        Ok(())
    }

    /// Closes the last shard, removes stale shards of an earlier run and writes `index.json`.
    pub fn finish(self) -> Result<CorpusIndex> {
        let ShardSink {
            writer,
            mut index,
            index_path,
            mut progress,
            ..
        } = self;
        let config = writer.config.clone();
        let dir = writer.dir.clone();
        index.tokens = writer.written;
        index.shards = writer.finish()?;
        remove_stale_shards(&dir, &config, &index.shards)?;
        let mut file = OutputFile::create(&index_path)?;
        file.write_all(index.to_json().as_bytes())
            .at_path("cannot write", &index_path)?;
        file.commit()?;
        if let Some(p) = progress.as_mut() {
            p.done(index.documents, index.tokens);
        }
        Ok(index)
    }
}

/// Removes the shard files of an earlier run (`{prefix}_NNNNNN.npy` or `.bin`) that are not among
/// `kept`, so the directory holds only what the new index lists.
fn remove_stale_shards(dir: &Path, config: &EncodeConfig, kept: &[ShardInfo]) -> Result<()> {
    let entries = std::fs::read_dir(dir).at_path("cannot list", dir)?;
    let prefix = format!("{}_", config.prefix);
    for entry in entries {
        let entry = entry.at_path("cannot list", dir)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let shard_like = matches!(rest.split_once('.'), Some((digits, ext))
            if digits.len() >= 6
                && digits.bytes().all(|b| b.is_ascii_digit())
                && (ext == "npy" || ext == "bin"));
        if shard_like && !kept.iter().any(|k| k.file == name) {
            let path = entry.path();
            std::fs::remove_file(&path).at_path("cannot remove the stale shard", &path)?;
        }
    }
    Ok(())
}

/// One contiguous share of a batch of lines, encoded on one thread: its ids as [`IdBatch`] and
/// as the shard's little-endian bytes, and the `<unk>` ids among them.
#[derive(Debug, Default)]
struct Part {
    ids: IdBatch,
    bytes: Vec<u8>,
    unk_tokens: u64,
}

/// Encodes the lines of `batch` into `parts` (one per contiguous share of lines, in order,
/// buffers kept from the previous batch), each part's ids also as the shard bytes of `dtype`
/// and its `<unk>` ids counted, all in parallel; the parts are written in order after.
fn encode_lines(
    vocab: &Vocab,
    tokenizer: &Tokenizer,
    batch: &LineBatch,
    unk: Option<u32>,
    eod: Option<u32>,
    dtype: ShardDtype,
    parts: &mut Vec<Part>,
) -> Result<usize> {
    let n = batch.len();
    let chunk = n.div_ceil(rayon::current_num_threads() * 8).max(64);
    let used = n.div_ceil(chunk);
    if parts.len() < used {
        parts.resize_with(used, Part::default);
    }
    let vocab_unk = vocab.unk_id();
    // Every part runs to its end or its error, so that the error reported is the first in
    // the corpus, whatever the threads' timing.
    let outcomes: Vec<Result<()>> = parts[..used]
        .par_iter_mut()
        .enumerate()
        .map(|(c, part)| {
            let start = c * chunk;
            let ids = &mut part.ids;
            ids.clear();
            let (doc_ends, empty_lines) = (&mut ids.doc_ends, &mut ids.empty_lines);
            let lines = (start..(start + chunk).min(n)).map(|i| batch.line(i));
            let ended = |_, count: usize, out: &mut Vec<u32>| {
                if count == 0 {
                    *empty_lines += 1;
                    return;
                }
                out.extend(eod);
                doc_ends.push(out.len());
            };
            if let Some((i, token)) = vocab.encode_texts_into(tokenizer, lines, unk, &mut ids.ids, ended) {
                return Err(Error::format(
                    batch.source.clone(),
                    batch.first_line + (start + i) as u64,
                    format!("token {token:?} is not in the vocabulary (unk=\"raise\"); pass unk=\"unk\" to map it to {UNK}"),
                ));
            }
            part.unk_tokens = match vocab_unk {
                Some(u) => ids.ids.iter().filter(|&&id| id == u).count() as u64,
                None => 0,
            };
            to_le_bytes(&ids.ids, dtype, &mut part.bytes);
            Ok(())
        })
        .collect();
    outcomes.into_iter().collect::<Result<()>>()?;
    Ok(used)
}

/// `ids` as little-endian `dtype` values, in `out` (overwritten); every id fits the dtype.
fn to_le_bytes(ids: &[u32], dtype: ShardDtype, out: &mut Vec<u8>) {
    let width = dtype.width();
    out.resize(ids.len() * width, 0);
    if dtype == ShardDtype::U16 {
        for (b, &id) in out.chunks_exact_mut(2).zip(ids) {
            b.copy_from_slice(&(id as u16).to_le_bytes());
        }
    } else {
        for (b, &id) in out.chunks_exact_mut(4).zip(ids) {
            b.copy_from_slice(&id.to_le_bytes());
        }
    }
}

/// Length of the `.npy` header we write (magic, version, length and the padded dict).
const NPY_HEADER_LEN: usize = 128;

/// A version 1.0 `.npy` header for a 1-D little-endian array of `len` elements.
pub fn npy_header(dtype: ShardDtype, len: u64) -> [u8; NPY_HEADER_LEN] {
    let descr = if dtype == ShardDtype::U16 {
        "<u2"
    } else {
        "<u4"
    };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({len},), }}");
    let mut header = [b' '; NPY_HEADER_LEN];
    header[..6].copy_from_slice(b"\x93NUMPY");
    header[6] = 1;
    header[7] = 0;
    header[8..10].copy_from_slice(&((NPY_HEADER_LEN - 10) as u16).to_le_bytes());
    // At most 75 bytes of dict for any u64 length: it always fits the 118 available.
    header[10..10 + dict.len()].copy_from_slice(dict.as_bytes());
    header[NPY_HEADER_LEN - 1] = b'\n';
    header
}

/// Writes ids into consecutive shard files of `shard_tokens` ids each.
struct ShardWriter {
    dir: PathBuf,
    config: EncodeConfig,
    dtype: ShardDtype,
    current: Option<(OutputFile, PathBuf, usize)>,
    /// Ids written in all shards so far.
    written: u64,
    done: Vec<ShardInfo>,
    bytes: Vec<u8>,
}

impl ShardWriter {
    fn new(dir: &Path, config: &EncodeConfig, dtype: ShardDtype) -> Self {
        ShardWriter {
            dir: dir.to_path_buf(),
            config: config.clone(),
            dtype,
            current: None,
            written: 0,
            done: Vec::new(),
            bytes: Vec::new(),
        }
    }

    fn shard_len(&self, index: usize) -> u64 {
        let start = index as u64 * self.config.shard_tokens;
        self.written
            .saturating_sub(start)
            .min(self.config.shard_tokens)
    }

    /// Appends ids given as `bytes` (little-endian, of the writer's dtype); `doc_ends` (offsets
    /// in ids) say where documents end.
    fn write(&mut self, mut bytes: &[u8], doc_ends: &[usize]) -> Result<()> {
        let width = self.dtype.width();
        let first = self.written;
        let per = self.config.shard_tokens;
        for &end in doc_ends {
            let shard = ((first + end as u64 - 1) / per) as usize;
            if self.done.len() <= shard {
                self.done.resize(
                    shard + 1,
                    ShardInfo {
                        file: String::new(),
                        tokens: 0,
                        documents: 0,
                    },
                );
            }
            self.done[shard].documents += 1;
        }
        while !bytes.is_empty() {
            if self.current.is_none() {
                self.open()?;
            }
            let room = (per - self.written % per) as usize;
            let take = room.min(bytes.len() / width);
            self.put(&bytes[..take * width], take)?;
            bytes = &bytes[take * width..];
            if self.written.is_multiple_of(per) {
                self.close()?;
            }
        }
        Ok(())
    }

    fn open(&mut self) -> Result<()> {
        let index = (self.written / self.config.shard_tokens) as usize;
        let name = format!(
            "{}_{index:06}.{}",
            self.config.prefix,
            self.config.format.name()
        );
        let path = self.dir.join(&name);
        let mut file = OutputFile::create(&path)?;
        if self.config.format == ShardFormat::Npy {
            file.write_all(&npy_header(self.dtype, 0))
                .at_path("cannot write", &path)?;
        }
        if self.done.len() <= index {
            self.done.resize(
                index + 1,
                ShardInfo {
                    file: String::new(),
                    tokens: 0,
                    documents: 0,
                },
            );
        }
        self.done[index].file = name;
        self.current = Some((file, path, index));
        Ok(())
    }

    /// Writes `n` ids, given as their `bytes`, into the open shard.
    fn put(&mut self, bytes: &[u8], n: usize) -> Result<()> {
        let (file, path, _) = self
            .current
            .as_mut()
            .ok_or_else(|| Error::Internal("no open shard".into()))?;
        file.write_all(bytes).at_path("cannot write", &*path)?;
        self.written += n as u64;
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        if let Some((mut file, path, index)) = self.current.take() {
            let len = self.shard_len(index);
            if self.config.format == ShardFormat::Npy {
                file.seek(SeekFrom::Start(0))
                    .at_path("cannot write", &path)?;
                file.write_all(&npy_header(self.dtype, len))
                    .at_path("cannot write", &path)?;
            }
            file.commit()?;
            self.done[index].tokens = len;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<ShardInfo>> {
        self.close()?;
        Ok(self.done)
    }
}

/// A one-line progress report on stderr, redrawn at most twice a second.
struct Progress {
    files: usize,
    start: Instant,
    last: Instant,
}

impl Progress {
    fn new(files: usize) -> Self {
        let now = Instant::now();
        Progress {
            files,
            start: now,
            last: now - Duration::from_secs(1),
        }
    }

    fn line(&self, docs: u64, tokens: u64) -> String {
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        format!(
            "{docs} documents, {tokens} tokens, {:.2}M tokens/s",
            tokens as f64 / secs / 1e6
        )
    }

    fn update(&mut self, file_index: usize, source: &str, docs: u64, tokens: u64) {
        if self.last.elapsed() < Duration::from_millis(500) {
            return;
        }
        self.last = Instant::now();
        let (i, n) = (file_index + 1, self.files);
        eprint!(
            "\r\x1b[2Kkneser encode: file {i}/{n} {source}: {}",
            self.line(docs, tokens)
        );
    }

    fn done(&mut self, docs: u64, tokens: u64) {
        eprintln!(
            "\r\x1b[2Kkneser encode: done, {} in {:.1}s",
            self.line(docs, tokens),
            self.start.elapsed().as_secs_f64()
        );
    }
}
