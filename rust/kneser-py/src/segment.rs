//! Bindings of the Chinese segmenter: `kneser.Segmenter` (jieba's algorithm, HMM off).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::{Mutex, RwLock};

use kneser::text::segment::{JoinOptions, Segmenter, WordList};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use rustc_hash::FxHashMap;

use crate::detach::run_detached;
use crate::errors::to_pyerr;
use crate::text::{extract_text, stopwords_arg, PyTokenizer};

/// Texts longer than this (in bytes) are cut with the GIL released.
const DETACH_BYTES: usize = 1 << 16;
/// `cut_batch` polls for Ctrl-C after every this many texts.
const CANCEL_CHECK_TEXTS: usize = 1 << 14;
/// Most words whose Python `str` is kept for reuse (the cache is emptied when full).
const STRING_CACHE_WORDS: usize = 1 << 16;
/// Words longer than this (in bytes) are not cached.
const STRING_CACHE_WORD_BYTES: usize = 32;

/// Python `str` objects of recent words, shared between calls: most words of a corpus repeat,
/// and reusing their `str` is several times faster than decoding each anew. Only touched with
/// the GIL held (so the mutex is never contended across a GIL release).
#[derive(Default)]
struct StringCache {
    words: FxHashMap<Box<str>, Py<PyString>>,
}

impl StringCache {
    fn list<'py>(&mut self, py: Python<'py>, words: &WordList) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, words.iter().map(|w| self.get(py, w)))
    }

    fn get<'py>(&mut self, py: Python<'py>, word: &str) -> Bound<'py, PyString> {
        if word.len() > STRING_CACHE_WORD_BYTES {
            return PyString::new(py, word);
        }
        if let Some(s) = self.words.get(word) {
            return s.bind(py).clone();
        }
        if self.words.len() >= STRING_CACHE_WORDS {
            self.words.clear();
        }
        let s = PyString::new(py, word);
        self.words.insert(word.into(), s.clone().unbind());
        s
    }
}

/// Splits Chinese text into words with a jieba-format dictionary: jieba's word DAG and its
/// maximum-probability route (``jieba.cut(text, HMM=False)``), or its full mode.
///
/// ``Segmenter()`` starts with an empty dictionary; most users call ``Segmenter.from_dict``.
///
/// Example:
///     >>> seg = kneser.Segmenter.from_dict("dict.txt")
///     >>> seg.cut("我爱北京天安门")
///     ['我', '爱', '北京', '天安门']
#[pyclass(name = "Segmenter", module = "kneser", frozen)]
pub struct PySegmenter {
    /// Copy-on-write: readers clone the `Arc` and work without the lock; `add_word` and
    /// `load_userdict` replace it (copying the dictionary only if someone else holds it).
    inner: RwLock<Arc<Segmenter>>,
    strings: Mutex<StringCache>,
}

impl PySegmenter {
    fn wrap(seg: Segmenter) -> Self {
        PySegmenter {
            inner: RwLock::new(Arc::new(seg)),
            strings: Mutex::new(StringCache::default()),
        }
    }

    /// Converts word lists to Python lists through the shared string cache.
    fn lists<'py>(&self, py: Python<'py>, lists: &[WordList]) -> PyResult<Vec<Bound<'py, PyList>>> {
        let mut cache = self.strings.lock().map_err(|_| poisoned())?;
        lists.iter().map(|l| cache.list(py, l)).collect()
    }

    /// The current core segmenter, shared, for other bindings (a tokenizer mode) to use without
    /// the GIL. Later `add_word` calls do not change the returned snapshot.
    #[allow(dead_code)]
    pub fn inner(&self) -> PyResult<Arc<Segmenter>> {
        self.inner
            .read()
            .map(|g| Arc::clone(&g))
            .map_err(|_| poisoned())
    }

    fn modify<T>(&self, f: impl FnOnce(&mut Segmenter) -> T) -> PyResult<T> {
        let mut guard = self.inner.write().map_err(|_| poisoned())?;
        Ok(f(Arc::make_mut(&mut guard)))
    }
}

fn poisoned() -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err("kneser.Segmenter: lock poisoned by an earlier panic")
}

/// `input` of `cut_file`: one path or a sequence of paths.
fn paths_of(input: &Bound<'_, PyAny>) -> PyResult<Vec<PathBuf>> {
    if let Ok(one) = input.extract::<PathBuf>() {
        return Ok(vec![one]);
    }
    input.extract::<Vec<PathBuf>>().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(
            "input must be a path (str or os.PathLike) or a sequence of paths",
        )
    })
}

#[pymethods]
impl PySegmenter {
    #[new]
    fn new() -> Self {
        PySegmenter::wrap(Segmenter::new())
    }

    /// Loads a dictionary in jieba's format (``word freq [tag]`` a line; plain, gz, xz or zst).
    ///
    /// Args:
    ///     path: the dictionary file, e.g. jieba's own ``dict.txt``.
    ///
    /// Raises:
    ///     NotFoundError: the file does not exist.
    ///     FormatError: a malformed line (the message names the file and line).
    ///
    /// Example:
    ///     >>> seg = kneser.Segmenter.from_dict("dict.txt")
    #[staticmethod]
    fn from_dict(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let seg = run_detached(py, move |_| Segmenter::from_path(&path))?;
        Ok(PySegmenter::wrap(seg))
    }

    /// Loads the ``dict.txt`` of the installed jieba package (jieba itself is not imported).
    ///
    /// Raises:
    ///     NotFoundError: jieba is not installed or has no ``dict.txt``.
    ///
    /// Example:
    ///     >>> kneser.Segmenter.jieba_default().cut("北京大学")
    ///     ['北京大学']
    #[staticmethod]
    fn jieba_default(py: Python<'_>) -> PyResult<Self> {
        let spec = py
            .import("importlib.util")?
            .call_method1("find_spec", ("jieba",))?;
        let dir: Option<PathBuf> = if spec.is_none() {
            None
        } else {
            let origin = spec.getattr("origin")?;
            if origin.is_none() {
                None
            } else {
                origin
                    .extract::<PathBuf>()?
                    .parent()
                    .map(|p| p.to_path_buf())
            }
        };
        let Some(dir) = dir else {
            return Err(to_pyerr(
                py,
                kneser::Error::NotFound {
                    path: PathBuf::from("jieba/dict.txt (the jieba package is not installed)"),
                },
            ));
        };
        PySegmenter::from_dict(py, dir.join("dict.txt"))
    }

    /// The words of ``text``: ``list(jieba.cut(text, HMM=False))``, or with ``cut_all=True``
    /// ``list(jieba.cut(text, cut_all=True))`` (overlapping words; like jieba, full mode yields
    /// empty strings around whitespace outside Chinese runs). In the default mode the words
    /// concatenate back to ``text``.
    ///
    /// Args:
    ///     text: the text (a str; a lone surrogate raises FormatError, a ValueError).
    ///     cut_all: full mode instead of the default (accurate) mode.
    ///
    /// Example:
    ///     >>> seg.cut("我来到北京清华大学")
    ///     ['我', '来到', '北京', '清华大学']
    #[pyo3(signature = (text, cut_all = false))]
    fn cut<'py>(
        &self,
        py: Python<'py>,
        text: &Bound<'py, PyAny>,
        cut_all: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let text = extract_text(text, None)?;
        let text = text.as_str();
        let seg = self.inner()?;
        let words = if text.len() > DETACH_BYTES {
            py.detach(|| WordList::cut(&seg, text, cut_all))
        } else {
            WordList::cut(&seg, text, cut_all)
        };
        let mut cache = self.strings.lock().map_err(|_| poisoned())?;
        cache.list(py, &words)
    }

    /// Cuts many texts in parallel (all cores, the GIL released); results in input order.
    ///
    /// Args:
    ///     texts: an iterable of str.
    ///     cut_all: full mode instead of the default mode.
    ///
    /// Example:
    ///     >>> seg.cut_batch(["北京大学", "天安门"])
    ///     [['北京大学'], ['天安门']]
    #[pyo3(signature = (texts, cut_all = false))]
    fn cut_batch<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        cut_all: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        if texts.is_instance_of::<pyo3::types::PyString>() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "texts must be an iterable of str, not a str (use cut for one text)",
            ));
        }
        let owned: Vec<String> = texts
            .try_iter()?
            .enumerate()
            .map(|(i, t)| t.and_then(|t| extract_text(&t, Some(i))))
            .collect::<PyResult<_>>()?;
        let seg = self.inner()?;
        let lists = run_detached(py, move |cancel| {
            let mut lists = Vec::with_capacity(owned.len());
            for chunk in owned.chunks(CANCEL_CHECK_TEXTS) {
                cancel.check()?;
                lists.extend(seg.cut_batch(chunk, cut_all));
            }
            Ok(lists)
        })?;
        PyList::new(py, self.lists(py, &lists)?)
    }

    /// Segments text files line by line into ``output``, in parallel batches with the GIL
    /// released: each line's words joined by ``delimiter``, one output line per input line
    /// (a ``\r\n`` line ending becomes ``\n``). The output file appears only when complete.
    ///
    /// Args:
    ///     input: a path or a list of paths (plain, gz, xz or zst); ``"-"`` is stdin.
    ///     output: the output path; ``"-"`` is stdout.
    ///     cut_all: full mode instead of the default mode.
    ///     delimiter: written between words (a space by default).
    ///     drop_whitespace: leave out words that are empty or only whitespace (jieba yields
    ///         spaces as words, and empty strings in full mode).
    ///
    /// Returns:
    ///     ``(lines, words)``: the number of lines read and of words written.
    ///
    /// Raises:
    ///     FormatError: invalid UTF-8 (the message names the file and line).
    ///
    /// Example:
    ///     >>> seg.cut_file("corpus.txt", "corpus.seg.txt")
    ///     (117648, 4381210)
    #[pyo3(signature = (input, output, cut_all = false, delimiter = " ", drop_whitespace = false))]
    fn cut_file(
        &self,
        py: Python<'_>,
        input: &Bound<'_, PyAny>,
        output: PathBuf,
        cut_all: bool,
        delimiter: &str,
        drop_whitespace: bool,
    ) -> PyResult<(u64, u64)> {
        let inputs = paths_of(input)?;
        let opts = JoinOptions {
            cut_all,
            delimiter: delimiter.to_string(),
            drop_whitespace,
        };
        let seg = self.inner()?;
        let stats = run_detached(py, move |cancel| {
            seg.segment_files(&inputs, &output, &opts, cancel)
        })?;
        Ok((stats.lines, stats.words))
    }

    /// Adds ``word`` as jieba's ``add_word`` does: its frequency is set to ``freq`` (or, when
    /// None, to ``suggest_freq(word)``, just enough for it to be cut whole) and the total grows.
    ///
    /// Args:
    ///     word: a non-empty word.
    ///     freq: a non-negative integer, or None.
    ///
    /// Returns:
    ///     The frequency used.
    ///
    /// Example:
    ///     >>> seg.add_word("石墨烯")
    ///     4
    #[pyo3(signature = (word, freq = None))]
    fn add_word(
        &self,
        py: Python<'_>,
        word: &str,
        freq: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        let freq = match freq {
            None => None,
            Some(f) => Some(f.extract::<u64>().map_err(|_| {
                to_pyerr(
                    py,
                    kneser::Error::InvalidArgument(format!(
                        "freq must be an integer from 0 to {}, or None",
                        u64::MAX
                    )),
                )
            })?),
        };
        self.modify(|s| s.add_word(word, freq))?
            .map_err(|e| to_pyerr(py, e))
    }

    /// Deletes ``word`` (sets its frequency to 0, as jieba's ``del_word`` does).
    ///
    /// Args:
    ///     word: the word.
    fn del_word(&self, py: Python<'_>, word: &str) -> PyResult<()> {
        self.modify(|s| s.del_word(word))?
            .map_err(|e| to_pyerr(py, e))
    }

    /// Adds a user dictionary in jieba's ``load_userdict`` format: ``word [freq] [tag]`` a line
    /// (words may contain spaces; a missing frequency is suggested; tags are ignored).
    ///
    /// Args:
    ///     path: the user dictionary file.
    ///
    /// Raises:
    ///     FormatError: a malformed line (the message names the file and line).
    fn load_userdict(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        // Load into a copy without the lock (and the GIL); install it unless another thread
        // changed the dictionary meanwhile, in which case start again from the new one.
        loop {
            let snapshot = self.inner()?;
            let mut seg = Segmenter::clone(&snapshot);
            let path = path.clone();
            let seg = run_detached(py, move |_| {
                seg.load_userdict(&path)?;
                Ok(seg)
            })?;
            let mut guard = self.inner.write().map_err(|_| poisoned())?;
            if Arc::ptr_eq(&guard, &snapshot) {
                *guard = Arc::new(seg);
                return Ok(());
            }
        }
    }

    /// The frequency jieba's ``suggest_freq(word)`` gives: just enough for ``word`` to be cut
    /// whole (the dictionary is not changed).
    ///
    /// Args:
    ///     word: the word.
    fn suggest_freq(&self, word: &str) -> PyResult<u64> {
        Ok(self.inner()?.suggest_freq(word))
    }

    /// jieba's ``FREQ.get(word)``: the frequency of ``word``, 0 for a prefix of a word (or a
    /// deleted word), None otherwise.
    ///
    /// Args:
    ///     word: the word.
    fn word_freq(&self, word: &str) -> PyResult<Option<u64>> {
        Ok(self.inner()?.table_freq(word))
    }

    /// A ``Tokenizer`` whose tokens are this segmenter's words (without the whitespace ones
    /// jieba keeps), with the Tokenizer's lowercasing and stopwords. It uses the dictionary as
    /// it is now: later ``add_word`` calls do not change it.
    ///
    /// Args:
    ///     lowercase: lowercase each token.
    ///     stopwords: None, "en" or "zh" (built-in lists), a path, or an iterable of str.
    ///     cut_all: full mode instead of the default mode.
    ///
    /// Example:
    ///     >>> seg.tokenizer(stopwords="zh").tokenize("我的 朋友")
    ///     ['朋友']
    #[pyo3(signature = (lowercase = false, stopwords = None, cut_all = false))]
    fn tokenizer(
        &self,
        py: Python<'_>,
        lowercase: bool,
        stopwords: Option<&Bound<'_, PyAny>>,
        cut_all: bool,
    ) -> PyResult<PyTokenizer> {
        let stopwords = match stopwords {
            Some(arg) => stopwords_arg(py, arg)?,
            None => None,
        };
        let tok = Segmenter::tokenizer(&self.inner()?, cut_all)
            .with_lowercase(lowercase)
            .with_stopwords(stopwords);
        Ok(PyTokenizer::from_core(tok))
    }

    /// The sum of every frequency given so far (jieba's ``total``).
    #[getter]
    fn total(&self) -> PyResult<u64> {
        Ok(self.inner()?.total())
    }

    fn __repr__(&self) -> PyResult<String> {
        let seg = self.inner()?;
        Ok(format!(
            "Segmenter(prefixes={}, total={})",
            seg.num_prefixes(),
            seg.total()
        ))
    }
}

/// Registers the `Segmenter` class (called from `register`).
pub fn register_segmenter(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySegmenter>()?;
    Ok(())
}
