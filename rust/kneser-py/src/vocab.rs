//! Bindings of the vocabulary stage: `Vocab` and `encode_corpus`.
//!
//! Files are counted and corpora encoded detached (`run_detached`, Ctrl-C honoured); Python
//! iterables are pulled in batches of owned strings while attached, then counted detached, as
//! huggingface tokenizers' `PyBufferedIterator` does. Ids come back as numpy arrays that take
//! ownership of the Rust vectors (no copy).

use std::path::PathBuf;
use std::sync::Arc;

use kneser::vocab::encode::is_small;
use kneser::{
    build_from_files, default_specials, encode_corpus as core_encode_corpus, encode_texts,
    EncodeConfig, IdBatch, ShardDtype, ShardFormat, ShardSink, TokenCounter, Tokenizer, Unknown,
    Vocab, VocabConfig, PAD_WORD, TEXTS_SOURCE,
};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use std::sync::Mutex;

use crate::borrow::Texts;
use crate::detach::{detach_short, guarded, run_detached, run_detached_feeding};
use crate::errors::{to_pyerr, IntoPyResult};
use crate::sources::{not_a_text, required_corpus, Corpus};
use crate::text::{extract_text, PyTokenizer};
use crate::token_ids::token_ids;

/// Texts pulled from a Python iterable per batch (or fewer, once this many bytes are held).
const PULL_ITEMS: usize = 8192;
const PULL_BYTES: usize = 4 << 20;
/// Texts at or above this many bytes are encoded with the GIL released.
const DETACH_BYTES: usize = 1 << 16;

/// A vocabulary: token <-> id maps with counts, and the tokenizer that splits text for it.
///
/// Ids are assigned specials first (default `<unk>`, `<s>`, `</s>`, then `<pad>` if asked),
/// then by count descending, ties by the token's UTF-8 bytes ascending.
///
/// Example:
///     >>> v = kneser.Vocab.build(texts=["b a b", "c b a"])
///     >>> v.tokens()
///     ['<unk>', '<s>', '</s>', 'b', 'a', 'c']
///     >>> v.encode("a b zz")
///     array([4, 3, 0], dtype=uint32)
#[pyclass(name = "Vocab", module = "kneser", frozen)]
pub struct PyVocab {
    vocab: Arc<Vocab>,
    tokenizer: Arc<Tokenizer>,
}

fn tokenizer_of(tokenizer: Option<PyRef<'_, PyTokenizer>>) -> Arc<Tokenizer> {
    tokenizer
        .map(|t| t.inner())
        .unwrap_or_else(|| Arc::new(Tokenizer::whitespace()))
}

impl PyVocab {
    /// The core vocabulary, for other bindings.
    #[allow(dead_code)]
    pub fn inner(&self) -> Arc<Vocab> {
        Arc::clone(&self.vocab)
    }
}

#[pymethods]
impl PyVocab {
    /// Builds a vocabulary by counting the tokens of `source` in parallel.
    ///
    /// The corpus is named once: a positional path, `files=` or `texts=`, never guessed from
    /// its type.
    ///
    /// Args:
    ///     source: one path (str or os.PathLike; plain, .gz, .xz or .zst) or a table
    ///         (pyarrow.Table, datasets.Dataset: its "text" column). Lists, tuples, iterators
    ///         and bytes are refused (TypeError): pass them as files= or texts=.
    ///     tokenizer: a `kneser.Tokenizer` (default: whitespace, lmplz's rule).
    ///     min_count: tokens seen fewer times are left out.
    ///     max_size: the largest vocabulary size, specials included (None: no limit).
    ///     specials: the special tokens, ids 0, 1, ... (default `<unk>`, `<s>`, `</s>`).
    ///     pad: append `<pad>` to the default specials.
    ///     files: a path or an iterable of paths, counted in order.
    ///     texts: an iterable of str (one text per item, e.g. a list or a generator), pulled
    ///         in batches.
    ///
    /// Raises:
    ///     ArgumentError: an empty corpus, min_count above every count, a bad option.
    ///     FormatError: invalid UTF-8 (naming file and line).
    ///     TypeError: a source that is not one path, or a corpus given twice.
    ///
    /// Example:
    ///     >>> v = kneser.Vocab.build("corpus.txt", min_count=2, max_size=50_000)
    ///     >>> v = kneser.Vocab.build(texts=["b a b", "c b a"])
    #[staticmethod]
    #[pyo3(signature = (source = None, tokenizer = None, min_count = 1, max_size = None, specials = None, pad = false, *, files = None, texts = None))]
    #[allow(clippy::too_many_arguments)]
    fn build(
        py: Python<'_>,
        source: Option<&Bound<'_, PyAny>>,
        tokenizer: Option<PyRef<'_, PyTokenizer>>,
        min_count: u64,
        max_size: Option<usize>,
        specials: Option<Vec<String>>,
        pad: bool,
        files: Option<&Bound<'_, PyAny>>,
        texts: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let corpus = required_corpus("Vocab.build", source, files, texts)?;
        let tokenizer = tokenizer_of(tokenizer);
        let specials = match specials {
            Some(mut s) => {
                if pad && !s.iter().any(|t| t == PAD_WORD) {
                    s.push(PAD_WORD.to_string());
                }
                s
            }
            None => default_specials(pad),
        };
        let config = VocabConfig {
            min_count,
            max_size,
            specials,
        };
        config.validate().py_err(py)?;
        let vocab = match corpus {
            Corpus::Files(paths) => {
                let tok = Arc::clone(&tokenizer);
                run_detached(py, move |cancel| {
                    build_from_files(&paths, &tok, &config, cancel)
                })?
            }
            Corpus::Texts(texts) => {
                let mut counter = TokenCounter::new();
                let mut iter = texts.try_iter()?;
                let mut index = 0usize;
                loop {
                    let mut batch: Vec<String> = Vec::with_capacity(PULL_ITEMS);
                    let mut bytes = 0;
                    while batch.len() < PULL_ITEMS && bytes < PULL_BYTES {
                        let Some(item) = iter.next() else { break };
                        let item = item?;
                        if !item.is_instance_of::<PyString>() {
                            return Err(not_a_text(&item, index));
                        }
                        let text = crate::text::extract_text(&item, Some(index))?;
                        index += 1;
                        bytes += text.len();
                        batch.push(text);
                    }
                    if batch.is_empty() {
                        break;
                    }
                    let tok = &tokenizer;
                    counter = py.detach(move || {
                        counter.add_texts(tok, &batch);
                        counter
                    });
                    py.check_signals()?;
                }
                detach_short(py, move || counter.into_vocab(&config, TEXTS_SOURCE))?
            }
        };
        Ok(PyVocab {
            vocab: Arc::new(vocab),
            tokenizer,
        })
    }

    /// Loads a vocabulary saved by `save` (JSON for names ending in .json, else text).
    ///
    /// Args:
    ///     path: the file.
    ///     tokenizer: the `kneser.Tokenizer` to encode with (default: whitespace).
    ///     specials: for text files, the tokens that are special when they lead the file
    ///         (default `<unk>`, `<s>`, `</s>`, `<pad>`); JSON files store their own.
    ///
    /// Raises:
    ///     FormatError: a malformed line, a duplicate token or an empty file (naming the line).
    ///
    /// Example:
    ///     >>> v = kneser.Vocab.load("vocab.txt")
    #[staticmethod]
    #[pyo3(signature = (path, tokenizer = None, specials = None))]
    fn load(
        py: Python<'_>,
        path: PathBuf,
        tokenizer: Option<PyRef<'_, PyTokenizer>>,
        specials: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let tokenizer = tokenizer_of(tokenizer);
        let vocab = run_detached(py, move |_| Vocab::load(&path, specials.as_deref()))?;
        Ok(PyVocab {
            vocab: Arc::new(vocab),
            tokenizer,
        })
    }

    /// Saves the vocabulary: JSON for names ending in .json, else `token TAB count` lines.
    ///
    /// Args:
    ///     path: the file, written atomically.
    ///
    /// Example:
    ///     >>> v.save("vocab.json")
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let vocab = Arc::clone(&self.vocab);
        run_detached(py, move |_| vocab.save(&path))
    }

    /// Writes the ordinary tokens one per line (specials omitted), the word list that
    /// `kneser build --limit_vocab_file` and KenLM's lmplz read.
    ///
    /// Args:
    ///     path: the file, written atomically.
    ///
    /// Example:
    ///     >>> v.save_limit_vocab("limit.txt")
    fn save_limit_vocab(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let vocab = Arc::clone(&self.vocab);
        run_detached(py, move |_| vocab.save_limit_vocab(&path))
    }

    fn __len__(&self) -> usize {
        self.vocab.len()
    }

    fn __contains__(&self, token: &Bound<'_, PyAny>) -> bool {
        token
            .extract::<PyBackedStr>()
            .is_ok_and(|s| self.vocab.token_to_id(&s).is_some())
    }

    fn __repr__(&self) -> String {
        format!(
            "Vocab(size={}, specials={:?})",
            self.vocab.len(),
            self.vocab.specials()
        )
    }

    /// The id of `token`, or None if it is not in the vocabulary.
    ///
    /// Example:
    ///     >>> v.token_to_id("<unk>")
    ///     0
    fn token_to_id(&self, token: &str) -> Option<u32> {
        self.vocab.token_to_id(token)
    }

    /// The token of `id`, or None if `id` is out of range.
    ///
    /// Example:
    ///     >>> v.id_to_token(0)
    ///     '<unk>'
    fn id_to_token(&self, id: i64) -> Option<String> {
        u32::try_from(id)
            .ok()
            .and_then(|id| self.vocab.id_to_token(id))
            .map(str::to_string)
    }

    /// How often `token` occurred in the counted text, or None if it is not in the vocabulary.
    ///
    /// Example:
    ///     >>> v.count("the")
    ///     1042
    fn count(&self, token: &str) -> Option<u64> {
        self.vocab
            .token_to_id(token)
            .and_then(|id| self.vocab.count(id))
    }

    /// The tokens in id order.
    fn tokens(&self) -> Vec<String> {
        self.vocab
            .tokens()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// The counts in id order, as a numpy uint64 array.
    fn counts<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        PyArray1::from_slice(py, self.vocab.counts())
    }

    /// The mapping token -> id as a dict.
    fn get_vocab<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (id, token) in self.vocab.tokens().into_iter().enumerate() {
            d.set_item(token, id)?;
        }
        Ok(d)
    }

    /// The special tokens, in id order.
    #[getter]
    fn specials(&self) -> Vec<String> {
        self.vocab
            .specials()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// The id of `<unk>`, or None if it is not among the specials.
    #[getter]
    fn unk_id(&self) -> Option<u32> {
        self.vocab.unk_id()
    }

    /// The ids of the tokens of `text`.
    ///
    /// Args:
    ///     text: the text, split by the vocabulary's tokenizer.
    ///     unk: "unk" maps unknown tokens to the `<unk>` id; "raise" raises ArgumentError.
    ///
    /// Returns:
    ///     a numpy uint32 array.
    ///
    /// Example:
    ///     >>> v.encode("a b zz")
    ///     array([4, 3, 0], dtype=uint32)
    #[pyo3(signature = (text, unk = "unk"))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        text: &str,
        unk: &str,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let unknown = Unknown::parse(unk).py_err(py)?;
        let ids = if text.len() >= DETACH_BYTES {
            detach_short(py, || self.vocab.encode(&self.tokenizer, text, unknown))?
        } else {
            guarded(py, || self.vocab.encode(&self.tokenizer, text, unknown))?.py_err(py)?
        };
        Ok(PyArray1::from_vec(py, ids))
    }

    /// The ids of many texts, encoded in parallel with the GIL released.
    ///
    /// Args:
    ///     texts: a sequence of str.
    ///     unk: "unk" or "raise" (the error names the text's index).
    ///     as_list: return a list of uint32 arrays, one per text, instead.
    ///
    /// Returns:
    ///     `(ids, offsets)`: all ids as one uint32 array and int64 offsets of length
    ///     `len(texts) + 1`, text `i` having `ids[offsets[i]:offsets[i + 1]]`.
    ///
    /// Example:
    ///     >>> ids, offsets = v.encode_batch(["a b", "", "zz"])
    ///     >>> ids, offsets
    ///     (array([4, 3, 0], dtype=uint32), array([0, 2, 2, 3]))
    #[pyo3(signature = (texts, unk = "unk", as_list = false))]
    fn encode_batch<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        unk: &str,
        as_list: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let unknown = Unknown::parse(unk).py_err(py)?;
        if texts.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "texts must be a sequence of str, not a str (use encode for one text)",
            ));
        }
        let texts = Texts::collect(texts, |item, i| {
            if item.is_instance_of::<PyString>() {
                extract_text(item, Some(i))
            } else {
                Err(not_a_text(item, i))
            }
        })?;
        let (vocab, tok) = (&self.vocab, &self.tokenizer);
        let batch = if is_small(texts.as_slice()) {
            vocab
                .encode_batch(tok, texts.as_slice(), unknown)
                .py_err(py)?
        } else {
            detach_short(py, || vocab.encode_batch(tok, texts.as_slice(), unknown))?
        };
        if as_list {
            let arrays = batch
                .offsets
                .windows(2)
                .map(|w| PyArray1::from_slice(py, &batch.ids[w[0] as usize..w[1] as usize]));
            return Ok(PyList::new(py, arrays)?.into_any());
        }
        let ids = PyArray1::from_vec(py, batch.ids);
        let offsets = PyArray1::from_vec(py, batch.offsets);
        Ok(PyTuple::new(py, [ids.into_any(), offsets.into_any()])?.into_any())
    }

    /// This vocabulary as a huggingface `tokenizers.Tokenizer` (WordLevel model, the same ids
    /// and unknown token, a pre-tokenizer splitting on lmplz's whitespace); needs the
    /// `tokenizers` extra.
    ///
    /// Raises:
    ///     ImportError: tokenizers is not installed.
    ///     ValueError: the vocabulary has no unknown token.
    ///
    /// Example:
    ///     >>> t = v.to_tokenizers()
    ///     >>> t.encode("a b zz").ids
    ///     [4, 3, 0]
    fn to_tokenizers<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.py()
            .import("kneser._hf")?
            .call_method1("vocab_to_tokenizers", (slf,))
    }

    /// Writes [`to_tokenizers`](Self::to_tokenizers) as a `tokenizer.json` (atomically), which
    /// `tokenizers.Tokenizer.from_file` and transformers' `PreTrainedTokenizerFast` load.
    ///
    /// Example:
    ///     >>> v.save_tokenizer_json("tokenizer.json")
    fn save_tokenizer_json(slf: &Bound<'_, Self>, path: PathBuf) -> PyResult<()> {
        slf.py()
            .import("kneser._hf")?
            .call_method1("save_tokenizer_json", (slf, path))?;
        Ok(())
    }

    /// The tokens of `ids` joined by single spaces.
    ///
    /// Args:
    ///     ids: a 1-D numpy array of an integer dtype, or a sequence of ints (Python or numpy
    ///         integers); never wrapped or truncated.
    ///
    /// Raises:
    ///     TypeError: ids that are not integers (floats, bools, strings), or not 1-D.
    ///     OverflowError: an id below 0 or above 4294967295 (uint32, the id type).
    ///     ArgumentError: an id not in the vocabulary.
    ///
    /// Example:
    ///     >>> v.decode([4, 3, 0])
    ///     'a b <unk>'
    fn decode(&self, py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<String> {
        let ids = token_ids(ids)?;
        self.vocab.decode(&ids).py_err(py)
    }
}

/// The `eod` argument: a token name, or a flag for `</s>`.
#[derive(FromPyObject)]
enum Eod {
    Token(String),
    Flag(bool),
}

/// Encodes a corpus into token-id shards for training loaders, with an `index.json`.
///
/// One line is one document; lines without tokens are skipped; each document is followed by
/// the end-of-document id. Shards hold exactly `shard_tokens` ids (the last fewer).
///
/// The corpus is named once: a positional path, `files=` or `texts=`, never guessed from its
/// type.
///
/// Args:
///     source: one path (plain, .gz, .xz or .zst) or a table (pyarrow.Table,
///         datasets.Dataset: its "text" column); lists, tuples, iterators and bytes are
///         refused (TypeError): pass them as files= or texts=.
///     vocab: the `kneser.Vocab` (and its tokenizer) to encode with.
///     out_dir: the output directory, created if missing.
///     dtype, format, shard_tokens, prefix: None for `ENCODE_DEFAULTS`' (the core's).
///     dtype: "auto" (uint16 when the vocabulary fits, else uint32), "uint16" or "uint32".
///     format: "npy" (numpy files) or "bin" (raw little-endian ids, as nanoGPT reads).
///     shard_tokens: ids per shard.
///     eod: True for `</s>`, a token name, or False for no end-of-document id.
///     unk: "unk" or "raise" (a FormatError naming file and line).
///     progress: print progress on stderr.
///     prefix: shard files are named `{prefix}_000000.{format}`, ...
///     files: a path or an iterable of paths, encoded in order.
///     texts: an iterable of str, one document per item (the index names them `<texts>`).
///
/// Returns:
///     the index (a dict, as written to `out_dir/index.json`).
///
/// Example:
///     >>> index = kneser.encode_corpus("train.txt", vocab, "shards", format="bin")
///     >>> index["tokens"], [s["file"] for s in index["shards"]]
#[pyfunction]
#[pyo3(signature = (source = None, vocab = None, out_dir = None, dtype = None, format = None, shard_tokens = None, eod = Eod::Flag(true), unk = "unk", progress = false, prefix = None, *, files = None, texts = None))]
#[allow(clippy::too_many_arguments)]
fn encode_corpus<'py>(
    py: Python<'py>,
    source: Option<&Bound<'py, PyAny>>,
    vocab: Option<PyRef<'py, PyVocab>>,
    out_dir: Option<PathBuf>,
    dtype: Option<&str>,
    format: Option<&str>,
    shard_tokens: Option<u64>,
    eod: Eod,
    unk: &str,
    progress: bool,
    prefix: Option<String>,
    files: Option<&Bound<'py, PyAny>>,
    texts: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let missing = |name: &str| {
        PyTypeError::new_err(format!(
            "encode_corpus() missing required argument: '{name}'"
        ))
    };
    let vocab = vocab.ok_or_else(|| missing("vocab"))?;
    let out_dir = out_dir.ok_or_else(|| missing("out_dir"))?;
    let corpus = required_corpus("encode_corpus", source, files, texts)?;
    // Options not given are the core's defaults.
    let defaults = EncodeConfig::default();
    let eod = match eod {
        Eod::Token(token) => Some(token),
        Eod::Flag(on) => defaults.eod.filter(|_| on),
    };
    let config = EncodeConfig {
        dtype: dtype
            .map_or(Ok(defaults.dtype), ShardDtype::parse)
            .py_err(py)?,
        format: format
            .map_or(Ok(defaults.format), ShardFormat::parse)
            .py_err(py)?,
        shard_tokens: shard_tokens.unwrap_or(defaults.shard_tokens),
        eod,
        unknown: Unknown::parse(unk).py_err(py)?,
        progress,
        prefix: prefix.unwrap_or(defaults.prefix),
    };
    let (v, tok) = (Arc::clone(&vocab.vocab), Arc::clone(&vocab.tokenizer));
    let index = match corpus {
        Corpus::Files(paths) => run_detached(py, move |cancel| {
            core_encode_corpus(&paths, &v, &tok, &out_dir, &config, cancel)
        })?,
        Corpus::Texts(texts) => run_detached_feeding(py, &texts, move |cancel, batches| {
            encode_texts(batches, &v, &tok, &out_dir, &config, cancel)
        })?,
    };
    py.import("json")?.call_method1("loads", (index.to_json(),))
}

/// The core's shard writer, fed with ids encoded elsewhere (by `kneser.encode_corpus` with a
/// huggingface tokenizer): the same files, dtype rule, atomic writes and `index.json` as the
/// `Vocab` path.
///
/// Args:
///     out_dir: the output directory, created if missing.
///     vocab_size: ids are below it; picks uint16 (at most 65,536) or uint32 with dtype "auto".
///     eod_token, eod_id: the end-of-document token and id recorded in the index (the caller
///         appends the id), or None.
///     dtype, format, shard_tokens, progress, prefix: as `encode_corpus`, given by its caller
///         (`kneser.encode_corpus`, whose defaults they are).
///     sources: the input names for the index and progress.
///     unk_id: the tokenizer's unknown id, counted into the index's `unk_tokens`, or None.
///
/// Example:
///     >>> sink = kneser._kneser.ShardSink("shards", 30000, dtype="auto", format="npy",
///     ...     shard_tokens=10**8, progress=False, prefix="shard", sources=["a.txt"])
///     >>> sink.write(np.array([5, 6, 7], dtype=np.uint32), np.array([2, 3]))
///     >>> sink.write_encodings(tok.encode_batch(["a b", "c"]), eos=2)
///     >>> index = sink.finish()
#[pyclass(name = "ShardSink", module = "kneser._kneser", frozen)]
pub struct PyShardSink {
    sink: Mutex<Option<ShardSink>>,
    sources: Vec<String>,
}

#[pymethods]
impl PyShardSink {
    #[new]
    #[pyo3(signature = (out_dir, vocab_size, *, dtype, format, shard_tokens, progress, prefix, eod_token = None, eod_id = None, sources = vec![], unk_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        out_dir: PathBuf,
        vocab_size: usize,
        dtype: &str,
        format: &str,
        shard_tokens: u64,
        progress: bool,
        prefix: String,
        eod_token: Option<String>,
        eod_id: Option<u32>,
        sources: Vec<String>,
        unk_id: Option<u32>,
    ) -> PyResult<Self> {
        let config = EncodeConfig {
            dtype: ShardDtype::parse(dtype).py_err(py)?,
            format: ShardFormat::parse(format).py_err(py)?,
            shard_tokens,
            eod: eod_token.clone(),
            unknown: Unknown::Unk,
            progress,
            prefix,
        };
        let eod = match (eod_token, eod_id) {
            (Some(t), Some(i)) => Some((t, i)),
            (None, None) => None,
            _ => {
                return Err(PyTypeError::new_err(
                    "ShardSink: give both eod_token and eod_id, or neither",
                ))
            }
        };
        let mut sink =
            ShardSink::new(&out_dir, &config, vocab_size, eod, sources.clone()).py_err(py)?;
        sink.set_unk_id(unk_id).py_err(py)?;
        Ok(PyShardSink {
            sink: Mutex::new(Some(sink)),
            sources,
        })
    }

    /// Appends one batch: `ids` (uint32) of documents back to back, `doc_ends` (int64) the
    /// offset just past each document, `empty_lines` the documents of the batch without ids,
    /// `source_index` the input they came from (for progress).
    #[pyo3(signature = (ids, doc_ends, empty_lines = 0, source_index = 0))]
    fn write(
        &self,
        py: Python<'_>,
        ids: PyReadonlyArray1<'_, u32>,
        doc_ends: PyReadonlyArray1<'_, i64>,
        empty_lines: u64,
        source_index: usize,
    ) -> PyResult<()> {
        let doc_ends = doc_ends
            .as_array()
            .iter()
            .map(|&e| usize::try_from(e))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                to_pyerr(
                    py,
                    kneser::Error::InvalidArgument("a negative document end".into()),
                )
            })?;
        let batch = IdBatch {
            ids: ids.as_array().to_vec(),
            doc_ends,
            empty_lines,
        };
        self.write_batch(py, batch, source_index)
    }

    /// Appends one batch of huggingface `Encoding`s (what `Tokenizer.encode_batch` returns):
    /// each one's `ids` go straight into the batch, `bos` before and `eos` after them (ids, or
    /// None); an encoding without ids is counted as an empty line. One copy of the ids, no
    /// intermediate lists or arrays.
    #[pyo3(signature = (encodings, bos = None, eos = None, source_index = 0))]
    fn write_encodings(
        &self,
        py: Python<'_>,
        encodings: &Bound<'_, PyAny>,
        bos: Option<u32>,
        eos: Option<u32>,
        source_index: usize,
    ) -> PyResult<()> {
        let ids_attr = pyo3::intern!(py, "ids");
        let mut batch = IdBatch::default();
        if let Ok(n) = encodings.len() {
            batch.doc_ends.reserve(n);
        }
        let mut doc: Vec<u32> = Vec::new();
        for (n, enc) in encodings.try_iter()?.enumerate() {
            let ids = enc?.getattr(ids_attr)?;
            let list = ids.cast::<PyList>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "encoding {n}: ids is {}, not a list of ints",
                    ids.get_type()
                        .name()
                        .map(|s| s.to_string())
                        .unwrap_or_default()
                ))
            })?;
            doc.clear();
            doc.reserve(list.len());
            for id in list.iter() {
                doc.push(id.extract::<u32>()?);
            }
            batch.push_document(doc.drain(..), bos, eos);
        }
        self.write_batch(py, batch, source_index)
    }

    /// Closes the last shard and writes `index.json`; returns the index as a dict.
    fn finish<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let sink = &self.sink;
        let index = py
            .detach(move || {
                let taken = sink.lock().unwrap_or_else(|p| p.into_inner()).take();
                match taken {
                    Some(s) => s.finish(),
                    None => Err(kneser::Error::InvalidArgument(
                        "ShardSink is finished".into(),
                    )),
                }
            })
            .py_err(py)?;
        py.import("json")?.call_method1("loads", (index.to_json(),))
    }
}

impl PyShardSink {
    fn write_batch(&self, py: Python<'_>, batch: IdBatch, source_index: usize) -> PyResult<()> {
        let source = self.sources.get(source_index).cloned().unwrap_or_default();
        let sink = &self.sink;
        py.detach(move || {
            let mut guard = sink.lock().unwrap_or_else(|p| p.into_inner());
            match guard.as_mut() {
                Some(s) => s.write(&batch, source_index, &source),
                None => Err(kneser::Error::InvalidArgument(
                    "ShardSink is finished".into(),
                )),
            }
        })
        .py_err(py)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // encode_corpus's defaults (the core's), for the Python API and the CLI to take as theirs.
    let d = EncodeConfig::default();
    let defaults = PyDict::new(m.py());
    defaults.set_item("dtype", d.dtype.name())?;
    defaults.set_item("format", d.format.name())?;
    defaults.set_item("shard_tokens", d.shard_tokens)?;
    defaults.set_item("eod", d.eod)?;
    defaults.set_item("prefix", d.prefix)?;
    m.add("ENCODE_DEFAULTS", defaults)?;
    m.add_class::<PyVocab>()?;
    m.add_class::<PyShardSink>()?;
    m.add_function(wrap_pyfunction!(crate::sources::resolve_corpus, m)?)?;
    m.add_function(wrap_pyfunction!(encode_corpus, m)?)?;
    Ok(())
}
