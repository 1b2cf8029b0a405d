//! Bindings of the scoring model: `Model` (the kenlm module's API, plus batch calls) and
//! `State`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use kneser::{
    build_binary_trie, run_query, BuildConfig, FullScore, LoadMethod, MemoryEstimateFlags, Model,
    Output, QueryOptions, State, TrieOptions,
};
use numpy::PyArray1;
use pyo3::basic::CompareOp;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use crate::borrow::Texts;
use crate::detach::{detach_short, guarded, run_detached};
use crate::kenlm_api::{kenlm_bytes, model_path, str_text, PyConfig, PyFullScoreReturn, Truthy};
use crate::sources::type_name;

/// A context for word-by-word scoring (kenlm's `State`): the recent words and their backoffs.
///
/// Example:
///     >>> s, out = kneser.State(), kneser.State()
///     >>> lm.BeginSentenceWrite(s)
///     >>> lm.BaseScore(s, "the", out)
#[pyclass(name = "State", module = "kneser")]
#[derive(Clone, Default)]
pub struct PyState {
    inner: State,
}

#[pymethods]
impl PyState {
    #[new]
    fn new() -> Self {
        PyState::default()
    }

    /// The number of context words held.
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// kenlm's order of states: by length, then by the word ids' bytes (`State::Compare`).
    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let py = other.py();
        match other.cast::<PyState>() {
            Ok(o) => op
                .matches(self.inner.kenlm_compare(&o.borrow().inner))
                .into_pyobject(py)
                .map(|b| b.to_owned().into_any().unbind())
                .unwrap_or_else(|_| py.NotImplemented()),
            Err(_) => py.NotImplemented(),
        }
    }

    /// kenlm's hash of a state (MurmurHash64A of its words, as a signed integer).
    fn __hash__(&self) -> isize {
        let h = self.inner.kenlm_hash() as i64 as isize;
        // -1 is Python's error value for hashes; CPython maps it to -2 the same way.
        if h == -1 {
            -2
        } else {
            h
        }
    }

    fn __copy__(&self) -> Self {
        self.clone()
    }

    fn __deepcopy__(&self, _memo: &Bound<'_, PyAny>) -> Self {
        self.clone()
    }

    fn __repr__(&self) -> String {
        format!("State(words={:?})", self.inner.words())
    }
}

/// An n-gram language model for scoring, with KenLM's numbers: the kenlm module's `Model`.
///
/// Loads an ARPA file (KenLM's, SRILM's or kneser's; plain, .gz, .xz or .zst) or a kneser binary
/// model (recognised by its magic bytes; memory-mapped, or read into memory, as
/// `config.load_method` says).
///
/// A memory-mapped binary model must not be changed or truncated in place on disk while it is
/// loaded: the kernel then kills the process with SIGBUS when a page of it is read (KenLM
/// behaves the same). Replacing it by a rename (as kneser's own writers do) is safe. Load with
/// `config.load_method = LoadMethod.READ` to copy the file into memory instead.
///
/// Checks on load: of a KenLM trie, every load checks what KenLM checks (header, counts, sizes,
/// unigram pointers, each middle order's first and last pointer, quantization tables); only
/// `LoadMethod.READ`, which copies the file anyway, also checks every middle-order pointer and
/// word id (a mapped load would read the whole file for it). A corrupted entry a mapped load
/// does not check scores wrongly, as in KenLM, but never crashes.
///
/// Args:
///     path: the model file (str or bytes as in kenlm; os.PathLike too).
///     config: a `kneser.Config` (default `Config()`: load_method `POPULATE_OR_READ`).
///
/// Example:
///     >>> lm = kneser.Model("lm.arpa.xz")
///     >>> lm.score("this is a sentence", bos=True, eos=True)
///     -12.3
#[pyclass(name = "Model", module = "kneser", frozen, subclass)]
pub struct PyModel {
    inner: Arc<Model>,
    /// `os.path.abspath` of the path's bytes, as kenlm's `Model.path` (settable, as kenlm's).
    path: Mutex<Py<PyBytes>>,
}

/// The str items of an iterable, their text borrowed from the objects ([`Texts::collect`]); a
/// lone str is refused (it would score its characters), as is an item that is not a str.
fn texts_from(texts: &Bound<'_, PyAny>) -> PyResult<Texts> {
    if texts.is_instance_of::<PyString>() {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "expected an iterable of str, got a single str; wrap it in a list",
        ));
    }
    Texts::collect(texts, |item, _| match item.cast::<PyString>() {
        // A str without UTF-8 (a lone surrogate): the encoder's error, as kenlm raises it.
        Ok(s) => str_text(s).map(std::borrow::Cow::into_owned),
        Err(_) => Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "expected an iterable of str, found an item of type {}",
            type_name(item)
        ))),
    })
}

impl PyModel {
    /// The core model, for the jobs that score with it (`kneser.Pipeline`).
    pub(crate) fn core(&self) -> Arc<Model> {
        Arc::clone(&self.inner)
    }

    fn path_bytes(&self, py: Python<'_>) -> PyResult<Py<PyBytes>> {
        let guard = self.path.lock().map_err(|_| {
            pyo3::exceptions::PyRuntimeError::new_err("kneser.Model: lock poisoned")
        })?;
        Ok(guard.clone_ref(py))
    }
}

#[pymethods]
impl PyModel {
    #[new]
    #[pyo3(signature = (path, config = None))]
    fn new(
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        config: Option<PyRef<'_, PyConfig>>,
    ) -> PyResult<Self> {
        let (path, abs) = model_path(path)?;
        let method = config.map_or(LoadMethod::default(), |c| c.load_method());
        // A binary model (a map and header checks, a millisecond) loads on this thread; a
        // worker thread, which keeps Ctrl-C working, is for reading an ARPA file.
        let model = match detach_short(py, || Model::load_binary(&path, method))? {
            Some(model) => model,
            // Not a binary by content: an ARPA file (read once, no second format check).
            None => run_detached(py, move |cancel| Model::from_arpa(&path, cancel))?,
        };
        Ok(PyModel {
            inner: Arc::new(model),
            path: Mutex::new(abs),
        })
    }

    /// The absolute path the model was loaded from, as bytes (kenlm's `Model.path`).
    #[getter]
    fn get_path(&self, py: Python<'_>) -> PyResult<Py<PyBytes>> {
        self.path_bytes(py)
    }

    #[setter]
    fn set_path(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes = value.cast::<PyBytes>().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "Expected bytes, got {}",
                type_name(value)
            ))
        })?;
        let mut guard = self.path.lock().map_err(|_| {
            pyo3::exceptions::PyRuntimeError::new_err("kneser.Model: lock poisoned")
        })?;
        *guard = bytes.clone().unbind();
        Ok(())
    }

    /// The n-gram order.
    #[getter]
    fn order(&self) -> usize {
        self.inner.order()
    }

    /// The number of words with an id, `<unk>` included.
    #[getter]
    fn vocab_size(&self) -> usize {
        self.inner.vocab_size()
    }

    /// Whether the model was loaded from a binary model file (mapped or read).
    #[getter]
    fn is_binary(&self) -> bool {
        self.inner.is_binary()
    }

    /// Whether the ARPA lacked `<unk>` (it was given log10 p = -100, as KenLM does).
    #[getter]
    fn unk_missing(&self) -> bool {
        self.inner.unk_missing()
    }

    /// Whether `word` (str or bytes) is in the vocabulary (`<unk>` is not, as in kenlm).
    fn __contains__(&self, word: &Bound<'_, PyAny>) -> PyResult<bool> {
        let word_bytes = kenlm_bytes(word)?;
        guarded(word.py(), || self.inner.kenlm_contains(&word_bytes))
    }

    /// The id of `word` (0 when unknown), as KenLM's `query` prints it.
    fn index(&self, word: &str) -> u32 {
        self.inner.index(word)
    }

    /// log10 probability of `sentence` (str or bytes; words split on ASCII whitespace, as
    /// kenlm).
    ///
    /// Args:
    ///     sentence: one sentence, without `<s>` (never include it) and usually without `</s>`.
    ///     bos: start in the `<s>` context.
    ///     eos: score `</s>` at the end.
    ///
    /// Example:
    ///     >>> lm.score("a b c", bos=True, eos=True)
    #[pyo3(signature = (sentence, bos = Truthy(true), eos = Truthy(true)), text_signature = "(self, sentence, bos=True, eos=True)")]
    fn score(&self, sentence: &Bound<'_, PyAny>, bos: Truthy, eos: Truthy) -> PyResult<f64> {
        let text = kenlm_bytes(sentence)?;
        let score = guarded(sentence.py(), || {
            self.inner.kenlm_score(&text, bos.0, eos.0)
        })?;
        Ok(f64::from(score))
    }

    /// An iterator over each word's `(log10 p, n-gram length, is OOV)`, `</s>` last with
    /// `eos` (kenlm's generator).
    ///
    /// Args:
    ///     sentence: one sentence (str or bytes).
    ///     bos: start in the `<s>` context.
    ///     eos: score `</s>` at the end.
    ///
    /// Example:
    ///     >>> list(lm.full_scores("a b"))
    ///     [(-1.2, 2, False), (-0.7, 3, False), (-0.3, 2, False)]
    #[pyo3(signature = (sentence, bos = Truthy(true), eos = Truthy(true)), text_signature = "(self, sentence, bos=True, eos=True)")]
    fn full_scores<'py>(
        &self,
        py: Python<'py>,
        sentence: &Bound<'py, PyAny>,
        bos: Truthy,
        eos: Truthy,
    ) -> PyResult<Bound<'py, PyAny>> {
        let text = kenlm_bytes(sentence)?;
        let scores = guarded(py, || self.inner.kenlm_full_scores(&text, bos.0, eos.0))?;
        let list = PyList::new(
            py,
            scores
                .into_iter()
                .map(|s| (f64::from(s.prob), s.ngram_length, s.oov)),
        )?;
        list.try_iter().map(Bound::into_any)
    }

    /// `10 ** (-score(sentence) / (words + 1))`, kenlm's definition.
    ///
    /// Args:
    ///     sentence: one sentence (str or bytes).
    ///
    /// Example:
    ///     >>> lm.perplexity("a b c")
    fn perplexity(&self, sentence: &Bound<'_, PyAny>) -> PyResult<f64> {
        let text = kenlm_bytes(sentence)?;
        guarded(sentence.py(), || self.inner.kenlm_perplexity(&text))
    }

    /// Scores many sentences in parallel with the GIL released; a float64 array in input order.
    ///
    /// Args:
    ///     texts: an iterable of str.
    ///     bos: start each in the `<s>` context.
    ///     eos: score `</s>` at the end of each.
    ///
    /// Example:
    ///     >>> lm.score_batch(["a b", "c"])
    ///     array([-5.1, -3.2])
    #[pyo3(signature = (texts, bos = true, eos = true))]
    fn score_batch<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        bos: bool,
        eos: bool,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let texts = texts_from(texts)?;
        let texts = texts.as_slice();
        let model = &*self.inner;
        let scores = run_detached(py, move |cancel| {
            let s = model.kenlm_score_batch(texts, bos, eos, cancel)?;
            Ok(s.into_iter().map(f64::from).collect::<Vec<f64>>())
        })?;
        Ok(PyArray1::from_vec(py, scores))
    }

    /// The perplexity of many sentences in parallel with the GIL released.
    ///
    /// Args:
    ///     texts: an iterable of str.
    ///
    /// Example:
    ///     >>> lm.perplexity_batch(["a b", "c"])
    ///     array([120.5, 800.1])
    fn perplexity_batch<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let texts = texts_from(texts)?;
        let texts = texts.as_slice();
        let model = &*self.inner;
        let ppl = run_detached(py, move |cancel| {
            model.kenlm_perplexity_batch(texts, cancel)
        })?;
        Ok(PyArray1::from_vec(py, ppl))
    }

    /// Writes the model as a KenLM binary, the bytes ``build_binary`` writes for the same
    /// ARPA (atomically: the file appears when complete). The kenlm module and KenLM's
    /// ``query`` load it.
    ///
    /// Args:
    ///     path: the output file.
    ///     include_vocab: write the vocabulary strings (``build_binary`` without ``-v``).
    ///     layout: ``"probing"`` or ``"trie"``.
    ///     quantize: trie only: probability bits (``-q``, 1 to 25); None: no quantization.
    ///     backoff_bits: trie only: backoff bits (``-b``; default: ``quantize``'s).
    ///     array_bits: trie only: compress pointers, chopping at most this many bits (``-a``).
    ///
    /// The trie layout re-reads the model's source file (an ARPA, or a trie binary): a model
    /// built in memory cannot be written as a trie.
    ///
    /// Example:
    ///     >>> lm.save_binary("lm.bin", layout="trie", quantize=8, backoff_bits=7, array_bits=255)
    #[pyo3(signature = (path, include_vocab = true, layout = "probing", quantize = None, backoff_bits = None, array_bits = None))]
    #[allow(clippy::too_many_arguments)]
    fn save_binary(
        &self,
        py: Python<'_>,
        path: PathBuf,
        include_vocab: bool,
        layout: &str,
        quantize: Option<u8>,
        backoff_bits: Option<u8>,
        array_bits: Option<u8>,
    ) -> PyResult<()> {
        let model = Arc::clone(&self.inner);
        match trie_options(layout, quantize, backoff_bits, array_bits)? {
            None => run_detached(py, move |_| model.save_binary_with(&path, include_vocab)),
            Some(options) => {
                run_detached(py, move |_| model.save_trie(&path, options, include_vocab))
            }
        }
    }

    /// Sets `state` to the start of a sentence (the `<s>` context).
    #[pyo3(name = "BeginSentenceWrite")]
    fn kenlm_begin_sentence_write(&self, mut state: PyRefMut<'_, PyState>) {
        state.inner = self.inner.begin_sentence_state();
    }

    /// Sets `state` to the empty context.
    #[pyo3(name = "NullContextWrite")]
    fn kenlm_null_context_write(&self, mut state: PyRefMut<'_, PyState>) {
        state.inner = self.inner.null_context_state();
    }

    /// log10 p of `word` after `in_state`; the state after the word goes to `out_state`.
    ///
    /// Args:
    ///     in_state: the context.
    ///     word: the word (a str, as kenlm requires).
    ///     out_state: receives the next state (may be `in_state` itself).
    ///
    /// Example:
    ///     >>> lm.BaseScore(s, "the", out)
    #[pyo3(name = "BaseScore")]
    fn kenlm_base_score(
        &self,
        in_state: &Bound<'_, PyState>,
        word: &str,
        out_state: &Bound<'_, PyState>,
    ) -> PyResult<f64> {
        Ok(f64::from(self.full_score(in_state, word, out_state)?.prob))
    }

    /// The `FullScoreReturn` (log_prob, ngram_length, oov) of `word` after `in_state` (kenlm's
    /// `BaseFullScore`); the next state goes to `out_state`.
    ///
    /// Example:
    ///     >>> lm.BaseFullScore(s, "the", out).log_prob
    #[pyo3(name = "BaseFullScore")]
    fn kenlm_base_full_score(
        &self,
        in_state: &Bound<'_, PyState>,
        word: &str,
        out_state: &Bound<'_, PyState>,
    ) -> PyResult<PyFullScoreReturn> {
        Ok(PyFullScoreReturn::from_core(
            self.full_score(in_state, word, out_state)?,
        ))
    }

    /// Alias of `BeginSentenceWrite`.
    fn begin_sentence_write(&self, state: PyRefMut<'_, PyState>) {
        self.kenlm_begin_sentence_write(state)
    }

    /// Alias of `NullContextWrite`.
    fn null_context_write(&self, state: PyRefMut<'_, PyState>) {
        self.kenlm_null_context_write(state)
    }

    /// Alias of `BaseScore`.
    fn base_score(
        &self,
        in_state: &Bound<'_, PyState>,
        word: &str,
        out_state: &Bound<'_, PyState>,
    ) -> PyResult<f64> {
        self.kenlm_base_score(in_state, word, out_state)
    }

    /// Alias of `BaseFullScore`.
    fn base_full_score(
        &self,
        in_state: &Bound<'_, PyState>,
        word: &str,
        out_state: &Bound<'_, PyState>,
    ) -> PyResult<PyFullScoreReturn> {
        self.kenlm_base_full_score(in_state, word, out_state)
    }

    /// Runs KenLM's `query` report over `inputs` (paths, `-` for stdin) into `output` (a path,
    /// `-` for stdout). Used by `kneser query`.
    #[pyo3(signature = (inputs, output = "-".to_string(), sentence_context = true, words = true, lines = true, summary = true, flush = false))]
    #[allow(clippy::too_many_arguments)]
    fn _query(
        &self,
        py: Python<'_>,
        inputs: Vec<PathBuf>,
        output: String,
        sentence_context: bool,
        words: bool,
        lines: bool,
        summary: bool,
        flush: bool,
    ) -> PyResult<()> {
        let model = Arc::clone(&self.inner);
        let options = QueryOptions {
            sentence_context,
            print_words: words,
            print_lines: lines,
            print_summary: summary,
            flush,
        };
        run_detached(py, move |cancel| {
            run_query(
                &model,
                &inputs,
                Output::Path(output.into()),
                options,
                cancel,
            )
            .map(drop)
        })
    }

    /// kenlm's repr: `<Model from b'lm.arpa'>` (the base name of `path`).
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let path = self.path_bytes(py)?;
        let bytes = path.bind(py).as_bytes();
        let base = match bytes.iter().rposition(|&b| b == b'/') {
            Some(i) => &bytes[i + 1..],
            None => bytes,
        };
        Ok(format!("<Model from {}>", PyBytes::new(py, base).repr()?))
    }

    /// Pickles by path, as kenlm: `(Model, (path,))` (the config is not kept).
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let cls = py.get_type::<PyModel>();
        let args = PyTuple::new(py, [self.path_bytes(py)?])?;
        PyTuple::new(py, [cls.into_any(), args.into_any()])
    }
}

impl PyModel {
    /// Scores `word` after `in_state` into `out_state`, as kenlm's `BaseFullScore`.
    fn full_score(
        &self,
        in_state: &Bound<'_, PyState>,
        word: &str,
        out_state: &Bound<'_, PyState>,
    ) -> PyResult<FullScore> {
        let state = in_state.try_borrow()?.inner;
        let mut out = State::default();
        let s = guarded(in_state.py(), || {
            let id = self.inner.kenlm_index(word.as_bytes());
            self.inner.full_score(&state, id, &mut out)
        })?;
        out_state.try_borrow_mut()?.inner = out;
        Ok(s)
    }
}

/// The trie options of `layout` and the bit flags (`None` for probing).
pub(crate) fn trie_options(
    layout: &str,
    quantize: Option<u8>,
    backoff_bits: Option<u8>,
    array_bits: Option<u8>,
) -> PyResult<Option<TrieOptions>> {
    match layout {
        "probing" => {
            if quantize.is_some() || backoff_bits.is_some() || array_bits.is_some() {
                return Err(PyValueError::new_err(
                    "quantization and array-compressed pointers belong to the trie layout \
                     (build_binary: \"Quantization is only implemented in the trie data structure\")",
                ));
            }
            Ok(None)
        }
        "trie" => {
            if quantize.is_none() && backoff_bits.is_some() {
                return Err(PyValueError::new_err(
                    "backoff quantization (-b) needs probability quantization (-q)",
                ));
            }
            let options = TrieOptions {
                quantize: quantize.map(|q| (q, backoff_bits.unwrap_or(q))),
                array_bits,
            };
            options
                .check()
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
            Ok(Some(options))
        }
        other => Err(PyValueError::new_err(format!(
            "unknown layout {other:?}: expected \"probing\" or \"trie\""
        ))),
    }
}

/// Converts an ARPA file into a KenLM binary with ``build_binary``'s options, byte for byte
/// what ``build_binary [-p mult] [-v] [-i] [-u log10p] [-q bits] [-b bits] [-a bits]
/// probing|trie`` writes.
///
/// Args:
///     arpa: the ARPA file (plain or compressed).
///     output: the binary file to write (atomically).
///     probing_multiplier: buckets per entry (``-p``, above 1.0; the trie records it too; None:
///         build_binary's 1.5).
///     include_vocab: write the vocabulary strings (``-v`` turns this off).
///     map_positive: map positive log10 probabilities to 0 (``-i``) instead of refusing them.
///     unknown_log10p: log10 p of ``<unk>`` when the ARPA has none (``-u``; None: -100).
///     layout: ``"probing"`` or ``"trie"``.
///     quantize, backoff_bits, array_bits: the trie's ``-q``, ``-b``, ``-a``.
///     allow_missing_markers: accept an ARPA without ``<s>`` or ``</s>`` (``-s``); the missing
///         word is scored as ``<unk>``.
#[pyfunction]
#[pyo3(
    signature = (arpa, output, probing_multiplier = None, include_vocab = true, map_positive = false, unknown_log10p = None, layout = "probing", quantize = None, backoff_bits = None, array_bits = None, allow_missing_markers = false)
)]
#[allow(clippy::too_many_arguments)]
fn build_binary(
    py: Python<'_>,
    arpa: PathBuf,
    output: PathBuf,
    probing_multiplier: Option<f32>,
    include_vocab: bool,
    map_positive: bool,
    unknown_log10p: Option<f32>,
    layout: &str,
    quantize: Option<u8>,
    backoff_bits: Option<u8>,
    array_bits: Option<u8>,
    allow_missing_markers: bool,
) -> PyResult<()> {
    let defaults = BuildConfig::default();
    let config = BuildConfig {
        multiplier: probing_multiplier.unwrap_or(defaults.multiplier),
        map_positive_to_zero: map_positive,
        unknown_missing_log10p: unknown_log10p.unwrap_or(defaults.unknown_missing_log10p),
        allow_missing_markers,
    };
    match trie_options(layout, quantize, backoff_bits, array_bits)? {
        None => run_detached(py, move |cancel| {
            kneser::build_binary(&arpa, &output, &config, include_vocab, cancel)
        }),
        Some(options) => run_detached(py, move |cancel| {
            build_binary_trie(&arpa, &output, &config, options, include_vocab, cancel)
        }),
    }
}

/// build_binary's memory estimate of an ARPA file (``build_binary [-p] [-q] [-b] [-a]
/// model.arpa`` without an output file): the bytes the vocabulary and search structures of each
/// layout would take, as the table build_binary prints to stderr. Reads only the ``\data\``
/// header.
///
/// Args:
///     arpa: the ARPA file (plain or compressed).
///     probing_multiplier: ``-p`` (None: build_binary's 1.5).
///     prob_bits, backoff_bits: ``-q`` and ``-b`` of the quantized trie rows (None: 8, and
///         ``-b`` takes ``-q``'s).
///     array_bits: ``-a`` of the array-compressed trie rows (None: 22).
///
/// Example:
///     >>> print(kneser.memory_estimate("lm.arpa"), end="")
///     Memory estimate for binary LM:
///     type       B
///     probing  312 assuming -p 1.5
#[pyfunction]
#[pyo3(signature = (arpa, probing_multiplier = None, prob_bits = None, backoff_bits = None, array_bits = None))]
fn memory_estimate(
    py: Python<'_>,
    arpa: PathBuf,
    probing_multiplier: Option<f32>,
    prob_bits: Option<u8>,
    backoff_bits: Option<u8>,
    array_bits: Option<u8>,
) -> PyResult<String> {
    let flags = MemoryEstimateFlags::given(probing_multiplier, prob_bits, backoff_bits, array_bits);
    run_detached(py, move |_| kneser::arpa_memory_estimate(&arpa, &flags))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(build_binary, m)?)?;
    m.add_function(wrap_pyfunction!(memory_estimate, m)?)?;
    m.add_class::<PyModel>()?;
    m.add_class::<PyState>()?;
    Ok(())
}
