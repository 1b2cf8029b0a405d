//! Bindings of the text stage: `Normalizer` and `Tokenizer` (and, as it lands, `Segmenter`).
//!
//! Strings are copied out of Python while the GIL is held; batches are then processed in
//! parallel (rayon) with the GIL released, in chunks between which Ctrl-C is honoured. A
//! Python string holding a lone surrogate cannot be UTF-8 and raises `kneser.FormatError`
//! (a `ValueError`) naming the position, never a panic.

use std::sync::Arc;

use kneser::text::normalize::{CcnetOptions, DigitMode, Normalizer, PunctMode, Step, UnicodeForm};
use kneser::text::stopwords::Stopwords;
use kneser::text::tokenize::{Mode, Tokenizer};
use pyo3::exceptions::{PyTypeError, PyUnicodeEncodeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::detach::{detach_short, run_detached};
use crate::errors::format_error;

/// Texts per parallel chunk of a batch call (Ctrl-C is checked between chunks).
const CHUNK: usize = 16_384;

/// Texts longer than this are processed with the GIL released even in single calls.
const DETACH_BYTES: usize = 1 << 16;

/// Copies a Python `str` into Rust, turning a lone surrogate into `kneser.FormatError`.
fn extract_text(obj: &Bound<'_, PyAny>, index: Option<usize>) -> PyResult<String> {
    let py = obj.py();
    let s = obj.cast::<PyString>().map_err(|_| {
        let type_name = obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into());
        let at = index.map(|i| format!(" at index {i}")).unwrap_or_default();
        PyTypeError::new_err(format!("expected str{at}, got {type_name}"))
    })?;
    match s.to_cow() {
        Ok(cow) => Ok(cow.into_owned()),
        Err(err) if err.is_instance_of::<PyUnicodeEncodeError>(py) => {
            let start: Option<usize> = err
                .value(py)
                .getattr("start")
                .and_then(|v| v.extract())
                .ok();
            let code = start
                .and_then(|i| s.get_item(i).ok())
                .and_then(|c| c.call_method0("__repr__").ok())
                .map(|r| r.to_string())
                .unwrap_or_else(|| "?".into());
            let item = index
                .map(|i| format!("text {i} of the batch "))
                .unwrap_or_default();
            let pos = start
                .map(|i| format!(" at position {i}"))
                .unwrap_or_default();
            Err(format_error(
                py,
                format!(
                    "{item}holds a lone surrogate {code}{pos}, which is not valid Unicode text \
                     and cannot be encoded as UTF-8; fix the decoding that produced it (for \
                     example decode with errors=\"replace\")"
                ),
                Some(err),
            ))
        }
        Err(err) => Err(err),
    }
}

/// Copies an iterable of `str` into Rust (with the GIL held).
fn extract_texts(texts: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if texts.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "expected an iterable of str, got a single str (wrap it in a list)",
        ));
    }
    let mut out = Vec::with_capacity(texts.len().unwrap_or(0));
    for (i, item) in texts.try_iter()?.enumerate() {
        out.push(extract_text(&item?, Some(i))?);
    }
    Ok(out)
}

/// Cleans text with an ordered list of steps, or one of the CCNet presets.
///
/// The keyword options apply in this order: `unicode`, `urls`, `emails`, `lowercase`,
/// `strip_accents`, `digits`, `punct`, `remove_control`, `collapse_whitespace`, `strip`.
///
/// Args:
///     unicode: None, "NFC", "NFKC", "NFD" or "NFKD".
///     urls: replace URLs with this string (None keeps them).
///     emails: replace e-mail addresses with this string (None keeps them).
///     lowercase: Unicode lowercasing, as Python's str.lower().
///     strip_accents: NFD, then drop non-spacing marks (as CCNet).
///     digits: None, "each" (every decimal digit to 0) or "run" (every run of digits to 0).
///     punct: None, "ccnet-map" (CCNet's table to ASCII), "ccnet-remove" (delete the
///         table's characters) or "remove-all" (delete all punctuation).
///     remove_control: delete U+0000..U+001F and U+007F..U+009F (as CCNet).
///     collapse_whitespace: each run of whitespace becomes one space.
///     strip: remove leading and trailing whitespace (Python's str.strip()).
///
/// Example:
///     >>> kneser.Normalizer(lowercase=True, digits="run", strip=True).normalize(" Tel 0123 ")
///     'tel 0'
///     >>> kneser.Normalizer.ccnet().normalize("Café «2024»")
///     'cafe "0000"'
#[pyclass(name = "Normalizer", module = "kneser", frozen)]
pub struct PyNormalizer {
    inner: Arc<Normalizer>,
}

impl PyNormalizer {
    /// The shared core normalizer, for other bindings to use without the GIL.
    #[allow(dead_code)]
    pub fn inner(&self) -> Arc<Normalizer> {
        Arc::clone(&self.inner)
    }
}

fn parse_form(name: &str) -> PyResult<UnicodeForm> {
    Ok(match name.to_ascii_uppercase().as_str() {
        "NFC" => UnicodeForm::Nfc,
        "NFKC" => UnicodeForm::Nfkc,
        "NFD" => UnicodeForm::Nfd,
        "NFKD" => UnicodeForm::Nfkd,
        _ => {
            return Err(PyValueError::new_err(format!(
                "unknown unicode form {name:?}; expected \"NFC\", \"NFKC\", \"NFD\" or \"NFKD\""
            )))
        }
    })
}

#[pymethods]
impl PyNormalizer {
    #[new]
    #[pyo3(signature = (*, unicode = None, urls = None, emails = None, lowercase = false,
        strip_accents = false, digits = None, punct = None, remove_control = false,
        collapse_whitespace = false, strip = false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        unicode: Option<&str>,
        urls: Option<String>,
        emails: Option<String>,
        lowercase: bool,
        strip_accents: bool,
        digits: Option<&str>,
        punct: Option<&str>,
        remove_control: bool,
        collapse_whitespace: bool,
        strip: bool,
    ) -> PyResult<Self> {
        let mut steps = Vec::new();
        if let Some(form) = unicode {
            steps.push(Step::Unicode(parse_form(form)?));
        }
        if let Some(with) = urls {
            steps.push(Step::ReplaceUrls(with));
        }
        if let Some(with) = emails {
            steps.push(Step::ReplaceEmails(with));
        }
        if lowercase {
            steps.push(Step::Lowercase);
        }
        if strip_accents {
            steps.push(Step::StripAccents);
        }
        match digits {
            None => {}
            Some("each") => steps.push(Step::Digits(DigitMode::Each)),
            Some("run") => steps.push(Step::Digits(DigitMode::Run)),
            Some(other) => {
                return Err(PyValueError::new_err(format!(
                    "unknown digits mode {other:?}; expected \"each\", \"run\" or None"
                )))
            }
        }
        match punct {
            None => {}
            Some("ccnet-map") => steps.push(Step::Punct(PunctMode::CcnetMap)),
            Some("ccnet-remove") => steps.push(Step::Punct(PunctMode::CcnetRemove)),
            Some("remove-all") => steps.push(Step::Punct(PunctMode::RemoveAll)),
            Some(other) => {
                return Err(PyValueError::new_err(format!(
                    "unknown punct mode {other:?}; expected \"ccnet-map\", \"ccnet-remove\", \
                     \"remove-all\" or None"
                )))
            }
        }
        if remove_control {
            steps.push(Step::RemoveControl);
        }
        if collapse_whitespace {
            steps.push(Step::CollapseWhitespace);
        }
        if strip {
            steps.push(Step::Strip);
        }
        Ok(PyNormalizer {
            inner: Arc::new(Normalizer::from_steps(steps)),
        })
    }

    /// CCNet's `text_normalizer.normalize(line, accent, case, numbers, punct)`.
    ///
    /// Args:
    ///     punct: 0 leaves punctuation, 1 maps CCNet's table to ASCII, 2 removes its characters.
    ///     accent: strip accents (NFD, then drop non-spacing marks).
    ///     case: lowercase.
    ///     numbers: replace every decimal digit with 0.
    ///
    /// Example:
    ///     >>> kneser.Normalizer.ccnet(punct=2).normalize("«Ça va ?»")
    ///     'ca va ?'
    #[staticmethod]
    #[pyo3(signature = (punct = 1, accent = true, case = true, numbers = true))]
    fn ccnet(punct: u8, accent: bool, case: bool, numbers: bool) -> PyResult<Self> {
        if punct > 2 {
            return Err(PyValueError::new_err(format!(
                "punct must be 0, 1 or 2, got {punct}"
            )));
        }
        Ok(PyNormalizer {
            inner: Arc::new(Normalizer::ccnet(CcnetOptions {
                accent,
                case,
                numbers,
                punct,
            })),
        })
    }

    /// CCNet's `text_normalizer.normalize_for_dedup(line)`: strip, lowercase, digits to 0,
    /// CCNet's punctuation table and control characters removed.
    ///
    /// Example:
    ///     >>> kneser.Normalizer.ccnet_dedup().normalize(" Ünï， 42 ")
    ///     'ünï 00'
    #[staticmethod]
    fn ccnet_dedup() -> Self {
        PyNormalizer {
            inner: Arc::new(Normalizer::ccnet_dedup()),
        }
    }

    /// The normalized `text`.
    ///
    /// Args:
    ///     text: a str (a lone surrogate in it raises kneser.FormatError).
    fn normalize(&self, py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<String> {
        let text = extract_text(text, None)?;
        if text.len() < DETACH_BYTES {
            return Ok(self.inner.normalize(&text));
        }
        let norm = Arc::clone(&self.inner);
        detach_short(py, move || Ok(norm.normalize(&text)))
    }

    /// The normalized texts, in input order; computed in parallel with the GIL released.
    ///
    /// Args:
    ///     texts: an iterable of str.
    fn normalize_batch(&self, py: Python<'_>, texts: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
        let texts = extract_texts(texts)?;
        let norm = Arc::clone(&self.inner);
        run_detached(py, move |cancel| {
            let mut out = Vec::with_capacity(texts.len());
            for chunk in texts.chunks(CHUNK) {
                cancel.check()?;
                out.extend(norm.normalize_batch(chunk));
            }
            Ok(out)
        })
    }

    /// The steps, in the order they are applied, as readable strings.
    #[getter]
    fn steps(&self) -> Vec<String> {
        self.inner
            .steps()
            .iter()
            .map(|s| format!("{s:?}"))
            .collect()
    }

    fn __repr__(&self) -> String {
        format!("Normalizer(steps={:?})", self.steps())
    }
}

/// Splits text into tokens.
///
/// Args:
///     mode: "whitespace" (lmplz's rule: space, tab, CR, LF and NUL separate tokens),
///         "unicode-words" (UAX #29 words), "cjk-chars" (each Han, kana or hangul character
///         a token; other letter and digit runs whole; punctuation separate) or
///         "punctuation" (whitespace splitting, each punctuation character a token).
///     lowercase: lowercase each token.
///     stopwords: None, "en" or "zh" (our built-in lists), a path to a file with one word
///         per line, or an iterable of str. Matched exactly after lowercasing.
///
/// Example:
///     >>> kneser.Tokenizer("whitespace").tokenize("a  b")
///     ['a', 'b']
///     >>> kneser.Tokenizer("unicode-words", lowercase=True, stopwords="en").tokenize("The cat.")
///     ['cat']
#[pyclass(name = "Tokenizer", module = "kneser", frozen)]
pub struct PyTokenizer {
    inner: Arc<Tokenizer>,
}

impl PyTokenizer {
    /// The shared core tokenizer, for other bindings (vocab, pipeline) to use without the GIL.
    #[allow(dead_code)]
    pub fn inner(&self) -> Arc<Tokenizer> {
        Arc::clone(&self.inner)
    }
}

/// Reads the `stopwords` argument of `Tokenizer`.
fn stopwords_arg(py: Python<'_>, arg: &Bound<'_, PyAny>) -> PyResult<Option<Stopwords>> {
    if arg.is_none() {
        return Ok(None);
    }
    if let Ok(name) = arg.cast::<PyString>() {
        let name = name.to_cow()?.into_owned();
        if let Some(builtin) = Stopwords::builtin(&name) {
            return Ok(Some(builtin));
        }
        return detach_short(py, move || Stopwords::from_file(&name)).map(Some);
    }
    let fspath = py.import("os")?.getattr("fspath")?;
    if arg.hasattr("__fspath__")? {
        let path: std::path::PathBuf = fspath.call1((arg,))?.extract()?;
        return detach_short(py, move || Stopwords::from_file(&path)).map(Some);
    }
    let words = extract_texts(arg).map_err(|e| {
        if e.is_instance_of::<PyTypeError>(py) {
            PyTypeError::new_err(format!(
                "stopwords must be None, \"en\", \"zh\", a path or an iterable of str ({e})"
            ))
        } else {
            e
        }
    })?;
    Ok(Some(Stopwords::from_words(words)))
}

#[pymethods]
impl PyTokenizer {
    #[new]
    #[pyo3(signature = (mode = "whitespace", lowercase = false, stopwords = None))]
    fn new(
        py: Python<'_>,
        mode: &str,
        lowercase: bool,
        stopwords: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mode = Mode::from_name(mode).ok_or_else(|| {
            PyValueError::new_err(format!(
                "unknown tokenizer mode {mode:?}; expected \"whitespace\", \"unicode-words\", \
                 \"cjk-chars\" or \"punctuation\""
            ))
        })?;
        let stopwords = match stopwords {
            Some(arg) => stopwords_arg(py, arg)?,
            None => None,
        };
        Ok(PyTokenizer {
            inner: Arc::new(
                Tokenizer::new(mode)
                    .with_lowercase(lowercase)
                    .with_stopwords(stopwords),
            ),
        })
    }

    /// The tokens of `text` as a list of str.
    ///
    /// Args:
    ///     text: a str (a lone surrogate in it raises kneser.FormatError).
    fn tokenize(&self, py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
        let text = extract_text(text, None)?;
        if text.len() < DETACH_BYTES {
            return Ok(self.inner.tokenize(&text));
        }
        let tok = Arc::clone(&self.inner);
        detach_short(py, move || Ok(tok.tokenize(&text)))
    }

    /// The tokens of each text, in input order; computed in parallel with the GIL released.
    ///
    /// Args:
    ///     texts: an iterable of str.
    fn tokenize_batch(
        &self,
        py: Python<'_>,
        texts: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<Vec<String>>> {
        use rayon::prelude::*;
        let texts = extract_texts(texts)?;
        let tok = Arc::clone(&self.inner);
        run_detached(py, move |cancel| {
            let mut out = Vec::with_capacity(texts.len());
            for chunk in texts.chunks(CHUNK) {
                cancel.check()?;
                let part: Vec<Vec<String>> = chunk
                    .par_iter()
                    .with_min_len(64)
                    .map(|t| tok.tokenize(t))
                    .collect();
                out.extend(part);
            }
            Ok(out)
        })
    }

    /// The splitting mode's name.
    #[getter]
    fn mode(&self) -> String {
        self.inner.mode().name().to_string()
    }

    /// Whether tokens are lowercased.
    #[getter]
    fn lowercase(&self) -> bool {
        self.inner.lowercases()
    }

    fn __repr__(&self) -> String {
        let sw = self
            .inner
            .stopwords()
            .map(|s| format!("<{} words>", s.len()))
            .unwrap_or_else(|| "None".into());
        format!(
            "Tokenizer(mode={:?}, lowercase={}, stopwords={sw})",
            self.inner.mode().name(),
            if self.inner.lowercases() {
                "True"
            } else {
                "False"
            }
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyNormalizer>()?;
    m.add_class::<PyTokenizer>()?;
    register_segmenter(m)?;
    Ok(())
}

// =====================================================================================
// Segmenter: dictionary-based Chinese word segmentation (jieba's algorithm, HMM off).
// Kept in its own section (and `register_segmenter`) to keep merges with the tokenizer easy.
// =====================================================================================

use std::path::PathBuf;
use std::sync::{Mutex, RwLock};

use kneser::text::segment::{JoinOptions, Segmenter, WordList};
use pyo3::types::{PyList, PyString};
use rustc_hash::FxHashMap;

use crate::detach::run_detached;
use crate::errors::to_pyerr;

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
    ///     text: the text (a str; a lone surrogate raises UnicodeEncodeError).
    ///     cut_all: full mode instead of the default (accurate) mode.
    ///
    /// Example:
    ///     >>> seg.cut("我来到北京清华大学")
    ///     ['我', '来到', '北京', '清华大学']
    #[pyo3(signature = (text, cut_all = false))]
    fn cut<'py>(&self, py: Python<'py>, text: &str, cut_all: bool) -> PyResult<Bound<'py, PyList>> {
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
            .map(|t| t.and_then(|t| t.extract::<String>()))
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
