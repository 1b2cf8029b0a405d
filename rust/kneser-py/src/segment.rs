//! Bindings of the Chinese segmenter: `kneser.Segmenter` (jieba's algorithm, HMM off).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::{Mutex, RwLock};

use kneser::text::segment::WordBatch;
use kneser::{JoinOptions, Segmenter, UserDictLine, WordList};
use pyo3::exceptions::{PyTypeError, PyUnicodeDecodeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyList, PyString, PyTuple};
use rustc_hash::FxHashMap;

use crate::borrow::{utf8_of, Texts};
use crate::detach::{detach_short, guarded, run_detached};
use crate::errors::to_pyerr;
use crate::kenlm_api::Truthy;
use crate::text::{extract_text, stopwords_arg, PyTokenizer};

/// Texts longer than this (in bytes) are cut with the GIL released.
const DETACH_BYTES: usize = 1 << 16;
/// `cut_batch` polls for Ctrl-C after every this many texts.
const CANCEL_CHECK_TEXTS: usize = 1 << 14;
/// Most words whose Python `str` is kept for reuse (the cache is emptied when full).
const STRING_CACHE_WORDS: usize = 1 << 16;
/// Most dictionary words whose Python `str` is kept by id (the cache is emptied when full).
const STRING_CACHE_IDS: usize = 1 << 17;
/// Words longer than this (in bytes) are not cached.
const STRING_CACHE_WORD_BYTES: usize = 32;

/// Python `str` objects of recent words, shared between calls: most words of a corpus repeat,
/// and reusing their `str` is several times faster than decoding each anew. Only touched with
/// the GIL held (so the mutex is never contended across a GIL release).
///
/// A dictionary word is found by its id in the dictionary (an index, no hashing; the same id
/// always names the same string, see `Segmenter::for_each_word_id`), any other word by hashing.
#[derive(Default)]
struct StringCache {
    words: FxHashMap<Box<str>, Py<PyString>>,
    /// The `str` of dictionary word `id` at index `id`.
    by_id: Vec<Option<Py<PyString>>>,
    /// How many of `by_id` are set.
    ids_held: usize,
}

impl StringCache {
    fn list<'py>(&mut self, py: Python<'py>, words: &WordList) -> PyResult<Bound<'py, PyList>> {
        PyList::new(
            py,
            words.iter_with_ids().map(|(w, id)| self.get_id(py, w, id)),
        )
    }

    /// The `str` of `word`, whose dictionary id is `id` (0: not a dictionary word).
    #[inline]
    fn get_id<'py>(&mut self, py: Python<'py>, word: &str, id: u32) -> Bound<'py, PyString> {
        if id == 0 {
            return self.get(py, word);
        }
        let i = id as usize;
        if let Some(Some(s)) = self.by_id.get(i) {
            return s.bind(py).clone();
        }
        if self.ids_held >= STRING_CACHE_IDS {
            self.by_id.clear();
            self.ids_held = 0;
        }
        if self.by_id.len() <= i {
            self.by_id.resize_with(i + 1, || None);
        }
        let s = PyString::new(py, word);
        self.by_id[i] = Some(s.clone().unbind());
        self.ids_held += 1;
        s
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
/// maximum-probability route (``jieba.cut(text, HMM=False)``), or its full mode; the methods
/// of ``jieba.Tokenizer`` with the HMM off.
///
/// ``Segmenter()`` starts with an empty dictionary; ``Segmenter(dictionary)`` (or
/// ``Segmenter.from_dict``) loads one, as ``jieba.Tokenizer(dictionary)``. Text arguments are
/// ``str``, or bytes decoded as jieba decodes them (UTF-8, else GBK ignoring errors).
///
/// Example:
///     >>> seg = kneser.Segmenter.from_dict("dict.txt")
///     >>> seg.lcut("我爱北京天安门")
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

    /// Converts batches of word lists to one Python list per text, through the shared string
    /// cache.
    fn lists<'py>(
        &self,
        py: Python<'py>,
        batches: &[WordBatch],
    ) -> PyResult<Vec<Bound<'py, PyList>>> {
        let mut cache = self.strings.lock().map_err(|_| poisoned())?;
        let texts = batches.iter().map(|b| b.text_ends.len()).sum();
        let mut out = Vec::with_capacity(texts);
        for batch in batches {
            let mut words = batch.words.iter_with_ids();
            let mut start = 0;
            for &end in &batch.text_ends {
                let these = words.by_ref().take(end - start);
                out.push(PyList::new(
                    py,
                    these.map(|(w, id)| cache.get_id(py, w, id)),
                )?);
                start = end;
            }
        }
        Ok(out)
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

    /// Applies `change` to a copy of the dictionary without the lock (and the GIL), and
    /// installs the copy when it succeeds, unless another thread changed the dictionary
    /// meanwhile, in which case it starts again from the new one. A failed change leaves the
    /// dictionary as it was.
    fn install<F>(&self, py: Python<'_>, change: F) -> PyResult<()>
    where
        F: Fn(&mut Segmenter) -> kneser::Result<()> + Send + Sync,
    {
        loop {
            let snapshot = self.inner()?;
            let mut seg = Segmenter::clone(&snapshot);
            let change = &change;
            let seg = run_detached(py, move |_| {
                change(&mut seg)?;
                Ok(seg)
            })?;
            let mut guard = self.inner.write().map_err(|_| poisoned())?;
            if Arc::ptr_eq(&guard, &snapshot) {
                *guard = Arc::new(seg);
                return Ok(());
            }
        }
    }

    fn load_userdict_path(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        self.install(py, move |seg| seg.load_userdict(&path))
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

/// A text argument as jieba's `strdecode` takes it: a `str` as it is; anything with a
/// `decode` method (bytes, bytearray) decoded as UTF-8, or, when that fails, as GBK with
/// undecodable bytes dropped. Other types are a TypeError (jieba fails on `.decode`).
fn jieba_text(obj: &Bound<'_, PyAny>, index: Option<usize>) -> PyResult<String> {
    if obj.is_instance_of::<PyString>() {
        return extract_text(obj, index);
    }
    if obj.hasattr("decode")? {
        let decoded = match obj.call_method1("decode", ("utf-8",)) {
            Ok(text) => text,
            Err(e) if e.is_instance_of::<PyUnicodeDecodeError>(obj.py()) => {
                obj.call_method1("decode", ("gbk", "ignore"))?
            }
            Err(e) => return Err(e),
        };
        return extract_text(&decoded, index);
    }
    let at = index.map(|i| format!(" at index {i}")).unwrap_or_default();
    Err(PyTypeError::new_err(format!(
        "expected str or bytes{at}, got {}",
        obj.get_type().name()?
    )))
}

/// jieba's HMM (new-word discovery) is not part of kneser: `HMM=True` is refused unless full
/// mode makes it moot (jieba ignores it there too).
fn check_hmm(py: Python<'_>, hmm: bool, cut_all: bool) -> PyResult<()> {
    if hmm && !cut_all {
        return Err(to_pyerr(
            py,
            kneser::Error::InvalidArgument(
                "kneser.Segmenter is jieba with its HMM off: pass HMM=False (the default), or \
                 use jieba itself for HMM new-word discovery"
                    .into(),
            ),
        ));
    }
    Ok(())
}

/// One line of a user dictionary pulled from a Python file object.
enum OwnedUserLine {
    Bytes(Vec<u8>),
    Text(String),
}

#[pymethods]
impl PySegmenter {
    /// ``Segmenter()`` has an empty dictionary; ``Segmenter(dictionary)`` loads one, as
    /// ``jieba.Tokenizer(dictionary)`` (the same as ``Segmenter.from_dict(dictionary)``).
    #[new]
    #[pyo3(signature = (dictionary = None))]
    fn new(py: Python<'_>, dictionary: Option<PathBuf>) -> PyResult<Self> {
        match dictionary {
            Some(path) => PySegmenter::from_dict(py, path),
            None => Ok(PySegmenter::wrap(Segmenter::new())),
        }
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
    ///     >>> kneser.Segmenter.jieba_default().lcut("北京大学")
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

    /// An iterator over the words of ``sentence``, as ``jieba.cut(sentence, HMM=False)``, or
    /// with ``cut_all=True`` as ``jieba.cut(sentence, cut_all=True)`` (overlapping words; like
    /// jieba, full mode yields empty strings around whitespace outside Chinese runs). In the
    /// default mode the words concatenate back to ``sentence``.
    ///
    /// Args:
    ///     sentence: a str, or bytes decoded as jieba does (UTF-8, else GBK); a lone
    ///         surrogate raises FormatError, a ValueError.
    ///     cut_all: full mode instead of the default (accurate) mode.
    ///     HMM: must be false (kneser has no HMM) unless ``cut_all``.
    ///     use_paddle: ignored, as jieba ignores it without paddle installed.
    ///
    /// Example:
    ///     >>> list(seg.cut("我来到北京清华大学"))
    ///     ['我', '来到', '北京', '清华大学']
    #[pyo3(signature = (sentence, cut_all = Truthy(false), HMM = Truthy(false), use_paddle = Truthy(false)), text_signature = "(self, sentence, cut_all=False, HMM=False, use_paddle=False)")]
    #[allow(non_snake_case)]
    fn cut<'py>(
        &self,
        py: Python<'py>,
        sentence: &Bound<'py, PyAny>,
        cut_all: Truthy,
        HMM: Truthy,
        use_paddle: Truthy,
    ) -> PyResult<Bound<'py, PyAny>> {
        let list = self.lcut(py, sentence, cut_all, HMM, use_paddle)?;
        list.try_iter().map(Bound::into_any)
    }

    /// The words of ``sentence`` as a list: ``jieba.lcut`` (arguments as ``cut``).
    ///
    /// Example:
    ///     >>> seg.lcut("我来到北京清华大学")
    ///     ['我', '来到', '北京', '清华大学']
    #[pyo3(signature = (sentence, cut_all = Truthy(false), HMM = Truthy(false), use_paddle = Truthy(false)), text_signature = "(self, sentence, cut_all=False, HMM=False, use_paddle=False)")]
    #[allow(non_snake_case)]
    fn lcut<'py>(
        &self,
        py: Python<'py>,
        sentence: &Bound<'py, PyAny>,
        cut_all: Truthy,
        HMM: Truthy,
        use_paddle: Truthy,
    ) -> PyResult<Bound<'py, PyList>> {
        let _ = use_paddle;
        let cut_all = cut_all.0;
        check_hmm(py, HMM.0, cut_all)?;
        let borrowed = sentence.cast::<PyString>().ok().and_then(|s| utf8_of(s));
        let owned;
        let text = match borrowed {
            Some(text) => text,
            None => {
                owned = jieba_text(sentence, None)?;
                owned.as_str()
            }
        };
        let seg = self.inner()?;
        let mut cache = self.strings.lock().map_err(|_| poisoned())?;
        if text.len() > DETACH_BYTES {
            let words = detach_short(py, || Ok(WordList::cut(&seg, text, cut_all)))?;
            return cache.list(py, &words);
        }
        // A short text is cut with the GIL held, each word's str made as it comes.
        let mut words = Vec::new();
        guarded(py, || {
            seg.for_each_word_id(text, cut_all, &mut |w, id| {
                words.push(cache.get_id(py, w, id))
            })
        })?;
        PyList::new(py, words)
    }

    /// An iterator over jieba's ``cut_for_search(sentence, HMM=False)``: each accurate-mode
    /// word, preceded by its 2- and 3-character pieces that are dictionary words.
    ///
    /// Example:
    ///     >>> list(seg.cut_for_search("中华人民共和国"))
    ///     ['中华', '华人', '人民', '共和', '共和国', '中华人民共和国']
    #[pyo3(signature = (sentence, HMM = Truthy(false)), text_signature = "(self, sentence, HMM=False)")]
    #[allow(non_snake_case)]
    fn cut_for_search<'py>(
        &self,
        py: Python<'py>,
        sentence: &Bound<'py, PyAny>,
        HMM: Truthy,
    ) -> PyResult<Bound<'py, PyAny>> {
        let list = self.lcut_for_search(py, sentence, HMM)?;
        list.try_iter().map(Bound::into_any)
    }

    /// ``cut_for_search`` as a list (jieba's ``lcut_for_search``).
    #[pyo3(signature = (sentence, HMM = Truthy(false)), text_signature = "(self, sentence, HMM=False)")]
    #[allow(non_snake_case)]
    fn lcut_for_search<'py>(
        &self,
        py: Python<'py>,
        sentence: &Bound<'py, PyAny>,
        HMM: Truthy,
    ) -> PyResult<Bound<'py, PyList>> {
        check_hmm(py, HMM.0, false)?;
        let text = jieba_text(sentence, None)?;
        let seg = self.inner()?;
        let cut = |text: &str| {
            let mut words = Vec::new();
            seg.for_each_word_search(text, &mut |w| words.push(w.to_string()));
            words
        };
        let words = if text.len() > DETACH_BYTES {
            detach_short(py, || Ok(cut(&text)))?
        } else {
            guarded(py, || cut(&text))?
        };
        let mut cache = self.strings.lock().map_err(|_| poisoned())?;
        PyList::new(py, words.iter().map(|w| cache.get(py, w)))
    }

    /// An iterator over ``(word, start, end)`` as jieba's ``tokenize(sentence, mode,
    /// HMM=False)``: offsets in characters; ``mode="search"`` (any mode but ``"default"``, as
    /// in jieba) adds the dictionary words of 2 and 3 characters inside longer words.
    ///
    /// Raises:
    ///     ValueError: ``unicode_sentence`` is not a str (jieba's own check).
    ///
    /// Example:
    ///     >>> list(seg.tokenize("永和服装饰品"))
    ///     [('永和', 0, 2), ('服装', 2, 4), ('饰品', 4, 6)]
    #[pyo3(signature = (unicode_sentence, mode = "default", HMM = Truthy(false)), text_signature = "(self, unicode_sentence, mode='default', HMM=False)")]
    #[allow(non_snake_case)]
    fn tokenize<'py>(
        &self,
        py: Python<'py>,
        unicode_sentence: &Bound<'py, PyAny>,
        mode: &str,
        HMM: Truthy,
    ) -> PyResult<Bound<'py, PyAny>> {
        if !unicode_sentence.is_instance_of::<PyString>() {
            return Err(PyValueError::new_err(
                "jieba: the input parameter should be unicode.",
            ));
        }
        check_hmm(py, HMM.0, false)?;
        let text = extract_text(unicode_sentence, None)?;
        let search = mode != "default";
        let seg = self.inner()?;
        let tokenize = |text: &str| {
            let mut tokens = Vec::new();
            seg.for_each_token(text, search, &mut |w, a, b| {
                tokens.push((w.to_string(), a, b))
            });
            tokens
        };
        let tokens = if text.len() > DETACH_BYTES {
            detach_short(py, || Ok(tokenize(&text)))?
        } else {
            guarded(py, || tokenize(&text))?
        };
        let mut cache = self.strings.lock().map_err(|_| poisoned())?;
        let items = tokens
            .iter()
            .map(|(w, a, b)| {
                PyTuple::new(
                    py,
                    [
                        cache.get(py, w).into_any(),
                        a.into_pyobject(py)?.into_any(),
                        b.into_pyobject(py)?.into_any(),
                    ],
                )
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)?.try_iter().map(Bound::into_any)
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
        let texts = Texts::collect(texts, |t, i| jieba_text(t, Some(i)))?;
        let seg = self.inner()?;
        let owned = texts.as_slice();
        let lists = run_detached(py, move |cancel| {
            let mut lists = Vec::with_capacity(owned.len());
            for chunk in owned.chunks(CANCEL_CHECK_TEXTS) {
                cancel.check()?;
                lists.extend(seg.cut_batch_flat(chunk, cut_all));
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

    /// Adds ``word`` as jieba's ``add_word`` does: its frequency is set to ``int(freq)`` (or,
    /// when None, to ``suggest_freq(word)``, just enough for it to be cut whole) and the total
    /// grows by it.
    ///
    /// Args:
    ///     word: a non-empty word (str, or bytes decoded as jieba does).
    ///     freq: None, or anything ``int()`` takes (an int, "12", 3.0) that is not negative.
    ///     tag: a part-of-speech tag; accepted and not kept (kneser has no POS tagging).
    ///
    /// Returns:
    ///     The frequency used (jieba returns None).
    ///
    /// Example:
    ///     >>> seg.add_word("石墨烯")
    ///     4
    #[pyo3(signature = (word, freq = None, tag = None))]
    fn add_word(
        &self,
        py: Python<'_>,
        word: &Bound<'_, PyAny>,
        freq: Option<&Bound<'_, PyAny>>,
        tag: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        let _ = tag;
        let word = jieba_text(word, None)?;
        let freq = match freq {
            None => None,
            Some(f) if f.is_none() => None,
            Some(f) => {
                let as_int = py.get_type::<PyInt>().call1((f,))?;
                Some(as_int.extract::<u64>().map_err(|_| {
                    to_pyerr(
                        py,
                        kneser::Error::InvalidArgument(format!(
                            "freq must be an integer from 0 to {}, or None; got {}",
                            u64::MAX,
                            as_int
                        )),
                    )
                })?)
            }
        };
        self.modify(|s| s.add_word(&word, freq))?
            .map_err(|e| to_pyerr(py, e))
    }

    /// Deletes ``word`` (sets its frequency to 0, as jieba's ``del_word`` does).
    ///
    /// Args:
    ///     word: the word (str or bytes).
    fn del_word(&self, py: Python<'_>, word: &Bound<'_, PyAny>) -> PyResult<()> {
        let word = jieba_text(word, None)?;
        self.modify(|s| s.del_word(&word))?
            .map_err(|e| to_pyerr(py, e))
    }

    /// Adds a user dictionary in jieba's ``load_userdict`` format: ``word [freq] [tag]`` a line
    /// (words may contain spaces; a missing frequency is suggested; tags are accepted and not
    /// kept). All lines are added, or none when one is malformed.
    ///
    /// Args:
    ///     f: a path (plain, gz, xz or zst), or a file object as jieba takes it (lines of
    ///         bytes, decoded as UTF-8 with byte-order marks dropped, or of str).
    ///
    /// Raises:
    ///     FormatError: a malformed line (the message names the file and line).
    fn load_userdict(&self, py: Python<'_>, f: &Bound<'_, PyAny>) -> PyResult<()> {
        if f.is_instance_of::<PyString>()
            || f.is_instance_of::<PyBytes>()
            || f.hasattr("__fspath__")?
        {
            return self.load_userdict_path(py, f.extract()?);
        }
        let name = match f.getattr("name") {
            Ok(n) => n.str()?.to_string(),
            Err(_) => f.repr()?.to_string(),
        };
        let mut lines = Vec::new();
        for item in f.try_iter()? {
            let item = item?;
            if let Ok(b) = item.cast::<PyBytes>() {
                lines.push(OwnedUserLine::Bytes(b.as_bytes().to_vec()));
            } else if item.is_instance_of::<PyString>() {
                lines.push(OwnedUserLine::Text(extract_text(&item, None)?));
            } else {
                return Err(PyTypeError::new_err(format!(
                    "load_userdict: line {} of {name} is {}, not bytes or str",
                    lines.len() + 1,
                    item.get_type().name()?
                )));
            }
        }
        self.install(py, move |seg| {
            for (i, line) in lines.iter().enumerate() {
                let line = match line {
                    OwnedUserLine::Bytes(b) => UserDictLine::Bytes(b),
                    OwnedUserLine::Text(t) => UserDictLine::Text(t),
                };
                seg.add_userdict_line(line, &name, i as u64 + 1)?;
            }
            Ok(())
        })
    }

    /// The frequency jieba's ``suggest_freq`` gives: for a word (a str), just enough for it to
    /// be cut whole; for a tuple (or any iterable) of pieces, low enough for their
    /// concatenation to be cut into those pieces.
    ///
    /// Args:
    ///     segment: a word, or the pieces it should be split into (str or bytes each).
    ///     tune: also set the word's frequency to the suggestion (``add_word``), as jieba.
    ///
    /// Example:
    ///     >>> seg.suggest_freq(("中", "将"), tune=True)
    ///     494
    #[pyo3(signature = (segment, tune = Truthy(false)), text_signature = "(self, segment, tune=False)")]
    fn suggest_freq(
        &self,
        py: Python<'_>,
        segment: &Bound<'_, PyAny>,
        tune: Truthy,
    ) -> PyResult<u64> {
        let single = segment.is_instance_of::<PyString>() || segment.is_instance_of::<PyBytes>();
        let (word, freq) = if single {
            let word = jieba_text(segment, None)?;
            let freq = self.inner()?.suggest_freq(&word);
            (word, freq)
        } else {
            let pieces: Vec<String> = segment
                .try_iter()?
                .enumerate()
                .map(|(i, p)| p.and_then(|p| jieba_text(&p, Some(i))))
                .collect::<PyResult<_>>()?;
            let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
            let freq = self.inner()?.suggest_split_freq(&refs);
            (pieces.concat(), freq)
        };
        if tune.0 {
            self.modify(|s| s.add_word(&word, Some(freq)))?
                .map_err(|e| to_pyerr(py, e))?;
        }
        Ok(freq)
    }

    /// jieba's ``FREQ.get(word)``: the frequency of ``word``, 0 for a prefix of a word (or a
    /// deleted word), None otherwise.
    ///
    /// Args:
    ///     word: the word (str or bytes).
    fn word_freq(&self, word: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
        let word = jieba_text(word, None)?;
        Ok(self.inner()?.table_freq(&word))
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
